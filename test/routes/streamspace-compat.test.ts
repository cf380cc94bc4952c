// StreamSpace's own admin Nodes page (ui/src/pages/admin/Nodes.tsx) against this service, on the
// demo cluster: every field that page reads, in the shapes of DESIGN.md "StreamSpace facts", and
// every call it makes (as it makes them: label keys unencoded in the path, errors read as .message).
import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import { makeToken, startService, waitFor } from '../helpers/service.js'

interface Q { cpu: string; memory: string }
interface NodeInfo {
  name: string; labels: Record<string, string>; taints: { key: string; value: string; effect: string }[]
  status: string; capacity: Q & { pods: string; 'nvidia.com/gpu'?: string }; allocatable: Q & { pods: string }
  usage?: Q & { cpuPercent: number; memoryPercent: number }
  info: { osImage: string; kernelVersion: string; kubeletVersion: string; containerRuntime: string }
  conditions: { type: string; status: string; message: string }[]
  pods: number; age: string; provider?: string; region?: string; zone?: string; unschedulable: boolean
}
interface Stats {
  totalNodes: number; readyNodes: number; notReadyNodes: number
  totalCapacity: Q & { pods: number }; totalAllocatable: Q & { pods: number }
  totalUsage?: Q & { cpuPercent: number; memoryPercent: number }
}

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/
const CPU_USAGE = /^[0-9]+m$/
const MEMORY_USAGE = /^[0-9]+Mi$/

t.test('StreamSpace admin Nodes page API on the demo cluster', async (t) => {
  const sim = await startSim()
  t.teardown(() => sim.close())
  const kc = new KubeConfig()
  kc.loadFromString(sim.kubeconfig())
  const svc = await startService(kc)
  t.teardown(() => svc.close())
  const token = makeToken()
  const call = (path: string, init: RequestInit & { json?: unknown; token?: string | null } = {}) => {
    const headers = new Headers(init.headers)
    const tk = init.token === undefined ? token : init.token
    if (tk !== null) headers.set('authorization', `Bearer ${tk}`)
    if (init.json !== undefined) headers.set('content-type', 'application/json')
    return fetch(`${svc.url}/api/v1${path}`, { ...init, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body })
  }
  // Metrics are polled every second in tests: wait until every Ready node has usage.
  await waitFor(async () => {
    const list = await (await call('/admin/nodes')).json() as NodeInfo[]
    return list.length === 5 && list.filter((n) => n.usage).length === 4
  }, 20_000, 'usage for the Ready nodes')

  await t.test('GET /admin/nodes: a bare array of NodeInfo', async (t) => {
    const res = await call('/admin/nodes')
    t.equal(res.status, 200)
    t.match(res.headers.get('content-type'), /application\/json/)
    const list = await res.json() as NodeInfo[]
    t.ok(Array.isArray(list), 'bare JSON array')
    t.same(list.map((n) => n.name), ['control-plane-1', 'worker-large-1', 'worker-medium-1', 'worker-medium-2', 'worker-small-1'])
    for (const n of list) {
      t.type(n.name, 'string')
      t.type(n.labels, 'object')
      t.ok(Array.isArray(n.taints))
      for (const taint of n.taints) {
        t.type(taint.key, 'string'); t.type(taint.value, 'string'); t.match(taint.effect, /^(NoSchedule|PreferNoSchedule|NoExecute)$/)
      }
      t.ok(['Ready', 'NotReady', 'Unknown'].includes(n.status), `${n.name} status is a string: ${n.status}`)
      for (const r of [n.capacity, n.allocatable]) {
        t.match(r.cpu, QUANTITY); t.match(r.memory, QUANTITY); t.match(r.pods, /^[0-9]+$/)
      }
      t.type(n.info.osImage, 'string'); t.ok(n.info.osImage.length > 0, 'osImage')
      t.ok(n.info.kernelVersion.length > 0, 'kernelVersion')
      t.match(n.info.kubeletVersion, /^v1\./)
      t.match(n.info.containerRuntime, /:\/\//)
      t.ok(n.conditions.length > 0)
      for (const c of n.conditions) { t.type(c.type, 'string'); t.type(c.status, 'string'); t.type(c.message, 'string') }
      t.type(n.pods, 'number'); t.ok(Number.isInteger(n.pods))
      t.match(n.age, /^[0-9]+[smhdy]/)
      t.equal(n.zone, n.labels['topology.kubernetes.io/zone'])
      t.equal(n.provider, 'sim')
      if (n.status === 'Ready') {
        t.ok(n.usage, `${n.name} has usage`)
        t.type(n.usage!.cpuPercent, 'number'); t.type(n.usage!.memoryPercent, 'number')
        t.doesNotThrow(() => n.usage!.cpuPercent.toFixed(1))
        t.match(n.usage!.cpu, CPU_USAGE); t.match(n.usage!.memory, MEMORY_USAGE)
      } else {
        t.equal(n.usage, undefined, 'no usage without a metrics sample: the page checks node.usage &&')
      }
    }
    // The same quantities as the P routes, node by node.
    const views = await (await svc.api('/nodes')).json() as { name: string; capacity: Q; allocatable: Q; pods: number }[]
    for (const v of views) {
      const n = list.find((x) => x.name === v.name)!
      t.same([n.capacity.cpu, n.capacity.memory, n.allocatable.cpu, n.allocatable.memory, n.pods],
        [v.capacity.cpu, v.capacity.memory, v.allocatable.cpu, v.allocatable.memory, v.pods], v.name)
    }
    t.equal(list.find((n) => n.name === 'worker-large-1')!.capacity.cpu, '16')
    t.equal(list.find((n) => n.name === 'worker-medium-2')!.status, 'NotReady')
  })

  await t.test('GET /admin/nodes/stats: ClusterStats, numbers where the page does arithmetic', async (t) => {
    const res = await call('/admin/nodes/stats')
    t.equal(res.status, 200)
    const s = await res.json() as Stats
    t.same([s.totalNodes, s.readyNodes, s.notReadyNodes], [5, 4, 1])
    t.same(s.totalCapacity, { cpu: '40', memory: s.totalCapacity.memory, pods: 550 })
    t.match(s.totalCapacity.memory, QUANTITY)
    t.type(s.totalAllocatable.pods, 'number')
    t.match(s.totalAllocatable.cpu, QUANTITY)
    t.ok(s.totalUsage)
    t.type(s.totalUsage!.cpuPercent, 'number'); t.type(s.totalUsage!.memoryPercent, 'number')
    t.ok(s.totalUsage!.cpuPercent > 0 && s.totalUsage!.cpuPercent < 100)
    t.match(s.totalUsage!.cpu, CPU_USAGE); t.match(s.totalUsage!.memory, MEMORY_USAGE)
  })

  await t.test('GET /admin/nodes/:name and 404 as {message}', async (t) => {
    const n = await (await call('/admin/nodes/worker-small-1')).json() as NodeInfo
    t.equal(n.name, 'worker-small-1')
    t.equal(n.status, 'Ready')
    const res = await call('/admin/nodes/nope')
    t.equal(res.status, 404)
    t.same(await res.json(), { message: 'Node "nope" not found' })
  })

  await t.test('auth: 401 stays 401 (the page signs out on it), 403 for non-admins, both {message}', async (t) => {
    let res = await call('/admin/nodes', { token: null })
    t.equal(res.status, 401)
    t.same(Object.keys(await res.json() as object), ['message'])
    res = await call('/admin/nodes/stats', { token: 'not.a.jwt' })
    t.equal(res.status, 401)
    res = await call('/admin/nodes', { token: makeToken({ role: 'operator' }) })
    t.equal(res.status, 403)
    t.match(await res.json(), { message: /not admin/ })
  })

  await t.test('labels as the page sends them, keys with "/" unencoded', async (t) => {
    let res = await call('/admin/nodes/worker-small-1/labels', { method: 'PUT', json: { key: 'example.com/team', value: 'desktops' } })
    t.equal(res.status, 200)
    t.equal((await res.json() as NodeInfo).labels['example.com/team'], 'desktops')
    t.equal(kubeLabel(await readNode(kc, 'worker-small-1'), 'example.com/team'), 'desktops', 'on the cluster')
    res = await call('/admin/nodes/worker-small-1/labels/example.com/team', { method: 'DELETE' })
    t.equal(res.status, 200)
    t.equal(kubeLabel(await readNode(kc, 'worker-small-1'), 'example.com/team'), undefined, 'gone from the cluster')
    res = await call('/admin/nodes/worker-small-1/labels/example.com/team', { method: 'DELETE' })
    t.equal(res.status, 404)
    res = await call('/admin/nodes/worker-small-1/labels', { method: 'PUT', json: { key: 'bad key', value: 'x' } })
    t.equal(res.status, 400)
    const body = await res.json() as { message: string }
    t.same(Object.keys(body), ['message'])
    t.match(body.message, /bad key/)
  })

  await t.test('taints: add, the page sees it unschedulable, remove by key', async (t) => {
    let res = await call('/admin/nodes/worker-small-1/taints', { method: 'POST', json: { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' } })
    t.equal(res.status, 200)
    t.same((await res.json() as NodeInfo).taints.find((x) => x.key === 'dedicated'), { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' })
    t.same((await readNode(kc, 'worker-small-1')).spec?.taints?.filter((x) => x.key === 'dedicated').map((x) => x.effect), ['NoSchedule'])
    res = await call('/admin/nodes/worker-small-1/taints', { method: 'POST', json: { key: 'dedicated', value: 'gpu', effect: 'Sometimes' } })
    t.equal(res.status, 400)
    t.match(await res.json(), { message: /effect/ })
    res = await call('/admin/nodes/worker-small-1/taints/dedicated', { method: 'DELETE' })
    t.equal(res.status, 200)
    t.notOk((await readNode(kc, 'worker-small-1')).spec?.taints?.some((x) => x.key === 'dedicated'))
  })

  await t.test('cordon and uncordon: the page reads it from the taints', async (t) => {
    let res = await call('/admin/nodes/worker-small-1/cordon', { method: 'POST' })
    t.equal(res.status, 200)
    t.equal((await readNode(kc, 'worker-small-1')).spec?.unschedulable, true)
    const cordoned = await (await call('/admin/nodes/worker-small-1')).json() as NodeInfo
    t.ok(cordoned.taints.some((x) => x.effect === 'NoSchedule'), 'the page sees the node unschedulable')
    t.equal(cordoned.unschedulable, true)
    res = await call('/admin/nodes/worker-small-1/uncordon', { method: 'POST' })
    t.equal(res.status, 200)
    t.notOk((await res.json() as NodeInfo).taints.some((x) => x.key === 'node.kubernetes.io/unschedulable'))
    t.notOk((await readNode(kc, 'worker-small-1')).spec?.unschedulable)
    res = await call('/admin/nodes/nope/cordon', { method: 'POST' })
    t.equal(res.status, 404)
    t.same(Object.keys(await res.json() as object), ['message'])
  })

  await t.test('drain {grace_period_seconds}: waits for the outcome; session pods with emptyDir go, as StreamSpace\'s own drain did', async (t) => {
    const res = await call('/admin/nodes/worker-small-1/drain', { method: 'POST', json: { grace_period_seconds: 0 } })
    t.equal(res.status, 200)
    const r = await res.json() as { message: string; sessions_disrupted: number }
    t.equal(r.message, 'Node drained successfully')
    t.equal(r.sessions_disrupted, 1)
    t.equal((await readNode(kc, 'worker-small-1')).spec?.unschedulable, true)
    const pods = await kc.makeApiClient((await import('@kubernetes/client-node')).CoreV1Api)
      .listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=worker-small-1' })
    t.same(pods.items.filter((p) => !p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet')).map((p) => p.metadata?.name), [], 'only DaemonSet pods left')
    const bad = await call('/admin/nodes/worker-small-1/drain', { method: 'POST', json: { grace_period_seconds: -1 } })
    t.equal(bad.status, 400)
    t.match(await bad.json(), { message: /grace_period_seconds/ })
  })

  await t.test('CORS for StreamSpace\'s web app on another origin (axios withCredentials)', async (t) => {
    const pre = await fetch(`${svc.url}/api/v1/admin/nodes/worker-small-1/labels/example.com/team`, {
      method: 'OPTIONS', headers: { origin: 'http://streamspace.local:3000', 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization,x-csrf-token' },
    })
    t.equal(pre.status, 204, 'preflight needs no token')
    t.equal(pre.headers.get('access-control-allow-origin'), 'http://streamspace.local:3000')
    t.equal(pre.headers.get('access-control-allow-credentials'), 'true')
    t.match(pre.headers.get('access-control-allow-methods'), /DELETE/)
    t.match(pre.headers.get('access-control-allow-headers'), /Authorization/)
    const res = await call('/admin/nodes/stats', { headers: { origin: 'http://streamspace.local:3000' } })
    t.equal(res.status, 200)
    t.equal(res.headers.get('access-control-allow-origin'), 'http://streamspace.local:3000')
    const denied = await call('/admin/nodes', { token: null, headers: { origin: 'http://streamspace.local:3000' } })
    t.equal(denied.status, 401)
    t.equal(denied.headers.get('access-control-allow-origin'), 'http://streamspace.local:3000', 'the page can read the 401 and sign out')
    t.equal((await call('/admin/nodes/stats')).headers.get('access-control-allow-origin'), null, 'no CORS headers without an Origin')
  })

  await t.test('in the OpenAPI spec under its own tag', async (t) => {
    const spec = await (await fetch(`${svc.url}/docs/json`)).json() as { paths: Record<string, Record<string, { tags?: string[] }>> }
    const paths = Object.keys(spec.paths).filter((p) => p.startsWith('/api/v1/admin/nodes'))
    t.ok(paths.length >= 8, paths.join(' '))
    for (const p of paths) for (const op of Object.values(spec.paths[p])) t.same(op.tags, ['streamspace-compat'], p)
  })
})

async function readNode(kc: KubeConfig, name: string) {
  const { CoreV1Api } = await import('@kubernetes/client-node')
  return kc.makeApiClient(CoreV1Api).readNode({ name })
}
function kubeLabel(node: { metadata?: { labels?: Record<string, string> } }, key: string) {
  return node.metadata?.labels?.[key]
}
