// The read path's cache behaviour, on the simulator (it can count requests and stop answering):
// no LIST per read, stale-but-serving while the API is down, recovery after, and no metrics-server.
import t from 'tap'
import { startBackend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace } from '../helpers/fixtures.js'
import { startService, waitFor } from '../helpers/service.js'
import type { SimCluster } from '../../src/sim/index.js'
import type { ClusterStats } from '../../src/schemas/node.js'

t.test('reads never LIST at the API server; staleness and recovery', async (t) => {
  const b = await startBackend('sim')
  const sim = b.sim as unknown as SimCluster
  await createNode(b.clients, { name: 'a', cpu: '2', memory: '8Gi' })
  await ensureNamespace(b.clients, 'streamspace')
  await createPod(b.clients, { name: 's1', namespace: 'streamspace', node: 'a', labels: { app: 'streamspace-session' } })
  const svc = await startService(b.kc)
  t.teardown(async () => { await svc.close(); await b.close() })
  await waitFor(async () => ((await (await svc.api('/nodes/stats')).json()) as ClusterStats).total_sessions === 1, 10_000, 'session seen')

  // Core nodes and pods only: metrics.k8s.io NodeMetrics are polled by design (metrics-server has no watch).
  const lists = () => sim.requests.count((r) => r.verb === 'list' && (r.path === '/api/v1/nodes' || r.path === '/api/v1/pods'))
  const before = lists()
  for (let i = 0; i < 30; i++) {
    for (const path of ['/nodes', '/nodes/stats', '/nodes/a', '/nodes/a/metrics', '/nodes?labelSelector=x%3Dy']) {
      t.equal((await svc.api(path)).status, 200, path)
    }
  }
  t.equal(lists() - before, 0, '150 reads sent no LIST of nodes or pods to the API server')

  // The API server stops answering: reads go on with the last known state, marked stale.
  await sim.suspend()
  await waitFor(async () => ((await (await svc.api('/nodes/stats')).json()) as ClusterStats).stale, 45_000, 'stale')
  const stale = await svc.api('/nodes')
  t.equal(stale.status, 200)
  t.equal(stale.headers.get('x-cache-stale'), 'true')
  t.same((await stale.json()).map((n: { name: string }) => n.name), ['a'], 'last known nodes still served')
  const stats = await (await svc.api('/nodes/stats')).json() as ClusterStats
  t.equal(stats.stale, true)
  t.type(stats.stale_since, 'string')
  t.equal(stats.total_sessions, 1)
  const metrics = await (await fetch(`${svc.url}/metrics`)).text()
  t.match(metrics, /streamspace_node_manager_cache_stale 1/)

  // It comes back: the cache catches up, including what changed meanwhile.
  await sim.resume()
  await createNode(b.clients, { name: 'b', cpu: '2', memory: '8Gi' })
  await waitFor(async () => {
    const s = await (await svc.api('/nodes/stats')).json() as ClusterStats
    return !s.stale && s.total_nodes === 2
  }, 45_000, 'recovered')
  const fresh = await svc.api('/nodes')
  t.equal(fresh.headers.get('x-cache-stale'), null)
  t.same((await fresh.json()).map((n: { name: string }) => n.name), ['a', 'b'])
})

t.test('without metrics-server usage is null and nothing fails', async (t) => {
  const b = await startBackend('sim', { metrics: false })
  await createNode(b.clients, { name: 'a', cpu: '2', memory: '8Gi' })
  const svc = await startService(b.kc)
  t.teardown(async () => { await svc.close(); await b.close() })
  await waitFor(async () => (await (await svc.api('/nodes')).json()).length === 1, 10_000, 'node seen')
  const [a] = await (await svc.api('/nodes')).json()
  t.equal(a.usage, null)
  const stats = await (await svc.api('/nodes/stats')).json() as ClusterStats
  t.equal(stats.usage, null)
  const history = await (await svc.api('/nodes/a/metrics')).json()
  t.same({ available: history.available, samples: history.samples }, { available: false, samples: [] })
  t.match(await (await fetch(`${svc.url}/metrics`)).text(), /streamspace_node_manager_metrics_api_available 0/)
})
