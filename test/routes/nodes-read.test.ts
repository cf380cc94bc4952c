// The node read path over real HTTP, against each backend: every seed field of NodeView and
// ClusterStats, 404, ETag/304, filters, auth.
import t from 'tap'
import { eachBackend, type Backend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace } from '../helpers/fixtures.js'
import { makeToken, startService, waitFor, type Service } from '../helpers/service.js'
import { startStack } from '../helpers/stack.js'
import { humanDuration } from '../../src/nodes/age.js'
import type { ClusterStats, NodeDetail, NodeView } from '../../src/schemas/node.js'

const MEM = '16393652Ki'

async function seed(b: Backend): Promise<void> {
  const c = b.clients
  await createNode(c, { name: 'n1', cpu: '4', memory: MEM, labels: { pool: 'sessions', 'node-role.kubernetes.io/worker': '' }, createdAgoSeconds: (5 * 24 + 3) * 3600 + 60 })
  await createNode(c, { name: 'n2', cpu: '4', memory: MEM, ready: false, labels: { pool: 'sessions' } })
  await createNode(c, {
    name: 'n3', cpu: '4', memory: MEM, unschedulable: true, labels: { pool: 'gpu' },
    taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }, { key: 'maintenance', effect: 'NoExecute' }],
  })
  await ensureNamespace(c, 'streamspace')
  await ensureNamespace(c, 'apps')
  const session = (name: string, node: string) => createPod(c, {
    name, namespace: 'streamspace', node,
    labels: { app: 'streamspace-session', session: name, user: 'bob', template: 'firefox' },
    requests: { cpu: '500m', memory: '1Gi' },
  })
  await session('s1', 'n1')
  await session('s2', 'n1')
  await session('s3', 'n3')
  await createPod(c, { name: 'web', namespace: 'apps', node: 'n1', requests: { cpu: '250m', memory: '256Mi' } })
  await createPod(c, { name: 'job-done', namespace: 'apps', node: 'n1', phase: 'Succeeded' })
  await createPod(c, { name: 'job-failed', namespace: 'apps', node: 'n2', phase: 'Failed' })
}

async function json<T>(res: Response | Promise<Response>): Promise<T> {
  return (await res).json() as Promise<T>
}

eachBackend(t, 'node read path', async (t, b) => {
  await seed(b)
  const svc: Service = await startService(b.kc)
  t.teardown(() => svc.close())
  // Pods become Running through the (simulated or stand-in) kubelet; wait for the cache to see them,
  // and the node lifecycle controller's taints on the NotReady n2 and the cordoned n3.
  await waitFor(async () => {
    const s = await json<ClusterStats>(svc.api('/nodes/stats'))
    const nodes = await json<NodeView[]>(svc.api('/nodes'))
    return s.total_sessions === 3 && s.total_nodes === 3 && nodes[1]?.taints.length === 2 && nodes[2]?.taints.length === 3
  }, 20_000, 'sessions running and controller taints')

  await t.test('NodeView seed fields', async (t) => {
    const before = Date.now()
    const res = await svc.api('/nodes')
    const after = Date.now()
    t.equal(res.status, 200)
    t.match(res.headers.get('content-type'), /application\/json/)
    const list = await res.json() as NodeView[]
    t.same(list.map((n) => n.name), ['n1', 'n2', 'n3'])
    const [n1, n2, n3] = list
    t.same(Object.keys(n1).slice(0, 9), ['name', 'labels', 'taints', 'status', 'capacity', 'allocatable', 'usage', 'pods', 'age'], 'seed fields first')
    t.equal(n1.labels.pool, 'sessions')
    t.same(n1.taints, [])
    t.same(n1.status, { ready: true, phase: 'Ready' })
    t.same(n2.status, { ready: false, phase: 'NotReady' })
    t.same(n1.capacity, { cpu: '4', memory: MEM })
    t.same(n1.allocatable, { cpu: '4', memory: MEM })
    t.equal(n1.pods, 3, 'n1: s1, s2, web; the Succeeded pod does not count')
    t.equal(n2.pods, 0, 'n2: only a Failed pod')
    t.equal(n1.sessions, 2)
    t.equal(n3.sessions, 1)
    t.same(n1.roles, ['worker'])
    // The node lifecycle controller's taints come after the node's own, as a real cluster has them.
    // The controller adds its NoSchedule and NoExecute taints in two passes, in either order.
    const byEffect = (a: { effect: string }, b: { effect: string }) => a.effect.localeCompare(b.effect)
    t.same([...n2.taints].sort(byEffect), [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }])
    t.same(n3.taints, [
      { key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }, { key: 'maintenance', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' },
    ])
    t.equal(n3.unschedulable, true)
    t.equal(n1.unschedulable, false)
    if (b.name === 'sim') t.equal(n1.age, '5d3h', 'kubectl AGE of a node created 5d3h1m ago')
    // The AGE text as at some moment of the request (a second boundary may fall within it).
    const created = Date.parse(n2.created_at)
    t.ok([humanDuration(before - created), humanDuration(after - created)].includes(n2.age), `AGE ${n2.age} at the time of the request`)
    if (b.metrics) {
      t.type(n1.usage?.cpu_percent, 'number')
      t.ok(n1.usage!.cpu_percent >= 0 && n1.usage!.memory_percent > 0, 'usage from metrics.k8s.io')
      t.equal(n2.usage, null, 'NotReady node has no metrics')
    } else {
      t.same(list.map((n) => n.usage), [null, null, null], 'no metrics-server: usage null, nothing fails')
    }
  })

  await t.test('ClusterStats', async (t) => {
    const s = await json<ClusterStats>(svc.api('/nodes/stats'))
    t.equal(s.total_nodes, 3)
    t.equal(s.ready_nodes, 2)
    t.equal(s.not_ready_nodes, 1)
    t.same(s.total_capacity, { cpu: '12', memory: '49180956Ki' }, 'sums are exact')
    t.same(s.total_allocatable, { cpu: '12', memory: '49180956Ki' })
    t.equal(s.schedulable_nodes, 1, 'n1 only: n2 NotReady, n3 cordoned')
    t.equal(s.total_pods, 4)
    t.equal(s.total_sessions, 3)
    t.equal(s.stale, false)
    if (b.metrics) t.type(s.usage?.cpu_percent, 'number')
    else t.equal(s.usage, null)
  })

  await t.test('NodeDetail and 404', async (t) => {
    const d = await json<NodeDetail>(svc.api('/nodes/n1'))
    t.equal(d.name, 'n1')
    t.same(d.allocated, { cpu: '1250m', memory: '2304Mi' }, 'requests of non-terminated pods')
    t.same(d.pod_list.map((p) => `${p.namespace}/${p.name}`), ['apps/job-done', 'apps/web', 'streamspace/s1', 'streamspace/s2'])
    t.ok(d.conditions.find((c) => c.type === 'Ready'))
    t.equal(d.node_info.kubeletVersion, 'v1.33.13')
    const missing = await svc.api('/nodes/nope')
    t.equal(missing.status, 404)
    t.same(await missing.json(), { statusCode: 404, error: 'Not Found', message: 'Node "nope" not found' })
    t.equal((await svc.api('/nodes/nope/metrics')).status, 404)
  })

  await t.test('filters', async (t) => {
    const names = async (q: string) => (await json<NodeView[]>(svc.api(`/nodes?${q}`))).map((n) => n.name)
    t.same(await names('labelSelector=pool%3Dsessions'), ['n1', 'n2'])
    t.same(await names('labelSelector=pool%20in%20(gpu)'), ['n3'])
    t.same(await names('ready=true'), ['n1', 'n3'])
    t.same(await names('ready=false'), ['n2'])
    t.same(await names('labelSelector=pool%3Dsessions&ready=true'), ['n1'])
    const bad = await svc.api('/nodes?labelSelector=pool%3D(')
    t.equal(bad.status, 400)
    t.match((await bad.json()).message, /labelSelector/)
    const badReady = await svc.api('/nodes?ready=maybe')
    t.equal(badReady.status, 400)
    t.match((await badReady.json()).message, /ready/)
  })

  await t.test('ETag and 304', async (t) => {
    // Young nodes' AGE text ("4s") changes every second, and with it the bytes and the ETag: a pair of
    // requests that straddles a second boundary legitimately gets 200 with other bytes. Try again then.
    let etag: string | null = null
    let again!: Response
    for (let attempt = 0; attempt < 5; attempt++) {
      const first = await svc.api('/nodes')
      const firstBody = await first.text()
      etag = first.headers.get('etag')
      again = await svc.api('/nodes', { headers: { 'if-none-match': etag! } })
      if (again.status === 304) break
      t.not(await again.clone().text(), firstBody, 'a 200 to If-None-Match carries other bytes')
    }
    t.ok(etag)
    t.equal(again.status, 304)
    t.equal(await again.text(), '')
    t.not(again.headers.get('content-length'), '4', 'no serialized "null" announced for a 304')
    // A change makes a new version with a new ETag.
    await b.clients.core.patchNode({ name: 'n2', body: { metadata: { labels: { changed: 'yes' } } } }, mergePatch)
    await waitFor(async () => (await svc.api('/nodes', { headers: { 'if-none-match': etag! } })).status === 200, 10_000, 'new etag')
    const changed = await svc.api('/nodes')
    t.not(changed.headers.get('etag'), etag)
  })

  await t.test('usage history', async (t) => {
    const res = await svc.api('/nodes/n1/metrics?window=1h')
    t.equal(res.status, 200)
    const h = await res.json()
    t.equal(h.node, 'n1')
    t.equal(h.available, b.metrics)
    if (b.metrics) {
      await waitFor(async () => (await json<{ samples: unknown[] }>(svc.api('/nodes/n1/metrics'))).samples.length > 0, 10_000, 'a sample')
      const again = await json<{ samples: { cpu_percent: number; cpu: string }[] }>(svc.api('/nodes/n1/metrics?window=30m'))
      t.type(again.samples[0].cpu_percent, 'number')
    } else t.same(h.samples, [])
    t.equal((await svc.api('/nodes/n1/metrics?window=soon')).status, 400)
  })
})

import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node'
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)

t.test('auth: admin JWTs only', async (t) => {
  // Auth is decided before any cluster read: the sim backend is enough.
  const { service: svc } = await startStack(t)
  const status = async (token: string | null) => (await svc.api('/nodes/stats', { token })).status
  t.equal(await status(makeToken()), 200, 'admin')
  t.equal(await status(null), 401, 'no token')
  t.equal(await status('not-a-jwt'), 401, 'garbage')
  t.equal(await status(makeToken({ secret: 'another-secret-that-is-32-characters-long!' })), 401, 'wrong secret')
  t.equal(await status(makeToken({ expiresInSeconds: -60 })), 401, 'expired')
  t.equal(await status(makeToken({ omitExp: true })), 401, 'no exp')
  t.equal(await status(makeToken({ notBeforeSeconds: 120 })), 401, 'nbf in the future')
  t.equal(await status(makeToken({ iss: 'someone-else' })), 401, 'wrong issuer')
  t.equal(await status(makeToken({ omitIss: true })), 401, 'no issuer (StreamSpace always sets iss)')
  t.equal(await status(makeToken({ algorithm: 'HS512' })), 401, 'algorithm pinned to HS256')
  t.equal(await status(makeToken({ expiresInSeconds: -2 })), 200, 'within clock tolerance')
  t.equal(await status(makeToken({ role: 'operator' })), 403, 'operator')
  t.equal(await status(makeToken({ role: 'user' })), 403, 'user')
  const body = await (await svc.api('/nodes', { token: makeToken({ role: 'user' }) })).json()
  t.same(body, { statusCode: 403, error: 'Forbidden', message: 'Forbidden: role "user" is not admin' })
  const unauth = await (await svc.api('/nodes', { token: null })).json()
  t.equal(unauth.statusCode, 401)
  t.notOk(JSON.stringify(unauth).includes('stack'))
  for (const path of ['/healthz', '/readyz', '/metrics', '/docs']) {
    const res = await fetch(`${svc.url}${path}`, { redirect: 'manual' })
    t.ok(res.status < 400, `${path} needs no token (${res.status})`)
  }
  const metrics = await (await fetch(`${svc.url}/metrics`)).text()
  t.match(metrics, /streamspace_node_manager_http_request_duration_seconds_bucket/)
  t.match(metrics, /streamspace_node_manager_cache_synced 1/)
})
