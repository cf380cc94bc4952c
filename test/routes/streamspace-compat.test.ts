// StreamSpace's own admin Nodes page (ui/src/pages/admin/Nodes.tsx) against this service, on the
// demo cluster: every field that page reads, in the shapes of DESIGN.md "StreamSpace facts", and
// every call it makes (as it makes them: label keys unencoded in the path, errors read as .message).
import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import { makeToken, startService, waitFor } from '../helpers/service.js'
import { goFormatCPU, goFormatMemory } from '../../src/nodes/streamspace-shape.js'

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

// The demo cluster's totals: exact (P/nodes/stats), and as Go's formatCPU/formatMemory print them.
const EXACT_TOTALS = ['40', '158491812Ki', '39350m', '153325116Ki']
const CAPACITY_MEMORY = '151.1Gi'
const ALLOCATABLE_CPU = '39.4'
const ALLOCATABLE_MEMORY = '146.2Gi'

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/
const CPU_USAGE = /^[0-9]+m$/
const MEMORY_USAGE = /^[0-9]+Mi$/

// Expected strings printed by StreamSpace's own formatCPU/formatMemory (api/internal/handlers/nodes.go),
// compiled and run with Go 1.x on these values: ties go to the even digit (0.25 -> "0.2"), as Go's %.1f does.
t.test('cluster totals formatted exactly as StreamSpace\'s Go handler', async (t) => {
  const cpu: [string, string][] = [['80k', '80000.0'], ['40', '40.0'], ['39350m', '39.4'], ['250m', '0.2'], ['750m', '0.8'], ['2250m', '2.2'],
    ['1m', '0.0'], ['0', '0.0'], ['1050m', '1.1'], ['1150m', '1.1'], ['1250m', '1.2'], ['12345678m', '12345.7'], ['1n', '0.0']]
  for (const [q, want] of cpu) t.equal(goFormatCPU(q), want, `cpu ${q}`)
  const memory: [string, string][] = [['334652580000Ki', '311.7Ti'], ['66930516Ki', '63.8Gi'], ['1536', '1.5Ki'], ['1023', '1023'], ['0', '0'],
    ['1Ki', '1.0Ki'], ['2560Ki', '2.5Mi'], ['1.5Gi', '1.5Gi'], ['1', '1'], ['16Gi', '16.0Gi'], ['153325116Ki', '146.2Gi'], ['1Ti', '1.0Ti'],
    ['1125899906842623', '1024.0Ti'], ['1280Ti', '1280.0Ti'], ['2560Mi', '2.5Gi'], ['3584Mi', '3.5Gi']]
  for (const [q, want] of memory) t.equal(goFormatMemory(q), want, `memory ${q}`)
})

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
    // The demo cluster's exact sums (P/nodes/stats) as StreamSpace's Go handler printed them.
    const exact = await (await svc.api('/nodes/stats')).json() as { total_capacity: Q; total_allocatable: Q }
    t.same([exact.total_capacity.cpu, exact.total_capacity.memory, exact.total_allocatable.cpu, exact.total_allocatable.memory], EXACT_TOTALS)
    t.same(s.totalCapacity, { cpu: '40.0', memory: CAPACITY_MEMORY, pods: 550 })
    t.same(s.totalAllocatable, { cpu: ALLOCATABLE_CPU, memory: ALLOCATABLE_MEMORY, pods: 550 })
    t.ok(s.totalUsage)
    t.type(s.totalUsage!.cpuPercent, 'number'); t.type(s.totalUsage!.memoryPercent, 'number')
    t.ok(s.totalUsage!.cpuPercent > 0 && s.totalUsage!.cpuPercent < 100)
    t.match(s.totalUsage!.cpu, CPU_USAGE); t.match(s.totalUsage!.memory, MEMORY_USAGE)
  })

  await t.test('GET /admin/nodes: gzip or br when accepted, ETag and 304 on If-None-Match', async (t) => {
    const { gunzipSync, brotliDecompressSync } = await import('node:zlib')
    const { request } = await import('undici')
    const get = (headers: Record<string, string>) => request(`${svc.url}/api/v1/admin/nodes`, { headers: { authorization: `Bearer ${token}`, ...headers } })
    const plain = await get({})
    t.equal(plain.statusCode, 200)
    t.equal(plain.headers['content-encoding'], undefined, 'identity without Accept-Encoding')
    const plainBody = Buffer.from(await plain.body.arrayBuffer())
    const etag = String(plain.headers.etag)
    t.match(etag, /^"[A-Za-z0-9_-]+"$/)
    t.match(String(plain.headers.vary), /Accept-Encoding/)
    for (const [coding, decode] of [['gzip', gunzipSync], ['br', brotliDecompressSync]] as const) {
      const res = await get({ 'accept-encoding': coding })
      t.equal(res.headers['content-encoding'], coding)
      const body = Buffer.from(await res.body.arrayBuffer())
      t.ok(body.length < plainBody.length / 3, `${coding}: ${body.length} of ${plainBody.length} bytes`)
      t.same(decode(body), plainBody, `${coding} decodes to the same list`)
      const tag = String(res.headers.etag)
      t.not(tag, etag, 'each representation has its own ETag')
      const again = await get({ 'accept-encoding': coding, 'if-none-match': tag })
      t.equal(again.statusCode, 304)
      t.equal((await again.body.arrayBuffer()).byteLength, 0, 'no body')
      t.equal(again.headers.etag, tag)
    }
    const revalidated = await get({ 'if-none-match': etag })
    t.equal(revalidated.statusCode, 304)
    await revalidated.body.dump()
    // A change the list shows gives new bytes and a new ETag.
    await call('/admin/nodes/worker-small-1/labels', { method: 'PUT', json: { key: 'etag-test', value: 'x' } })
    await waitFor(async () => {
      const res = await get({ 'if-none-match': etag })
      await res.body.dump()
      return res.statusCode === 200 && res.headers.etag !== etag
    }, 10_000, 'a new ETag after a label change')
    await call('/admin/nodes/worker-small-1/labels/etag-test', { method: 'DELETE' })
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
