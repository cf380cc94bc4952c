// The read path's cache behaviour, on the simulator (it can count requests and stop answering):
// no LIST per read, stale-but-serving while the API is down, recovery after, and no metrics-server.
import t from 'tap'
import { createNode, createPod, ensureNamespace } from '../helpers/fixtures.js'
import { waitFor } from '../helpers/service.js'
import { startStack } from '../helpers/stack.js'
import type { SimCluster } from '../../src/sim/index.js'
import { systemClock } from '../../src/kube/reflector.js'
import type { ClusterStats } from '../../src/schemas/node.js'

t.test('reads never LIST at the API server; staleness and recovery', async (t) => {
  const { backend: b, service: svc } = await startStack(t, {
    nodes: [{ name: 'a', cpu: '2', memory: '8Gi' }],
    setup: async (b) => {
      await ensureNamespace(b.clients, 'streamspace')
      await createPod(b.clients, { name: 's1', namespace: 'streamspace', node: 'a', labels: { app: 'streamspace-session' } })
    },
  })
  const sim = b.sim as unknown as SimCluster
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
  sim.suspend()
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
  sim.resume()
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
  const { service: svc } = await startStack(t, { backendOptions: { metrics: false }, nodes: [{ name: 'a', cpu: '2', memory: '8Gi' }] })
  await waitFor(async () => (await (await svc.api('/nodes')).json()).length === 1, 10_000, 'node seen')
  const [a] = await (await svc.api('/nodes')).json()
  t.equal(a.usage, null)
  const stats = await (await svc.api('/nodes/stats')).json() as ClusterStats
  t.equal(stats.usage, null)
  const history = await (await svc.api('/nodes/a/metrics')).json()
  t.same({ available: history.available, samples: history.samples }, { available: false, samples: [] })
  t.match(await (await fetch(`${svc.url}/metrics`)).text(), /streamspace_node_manager_metrics_api_available 0/)
})

t.test('after a relist, a node whose pods vanished shows none (its view is rendered anew)', async (t) => {
  // No metrics-server: a new usage sample would re-render the view too.
  const { backend: b, service: svc } = await startStack(t, {
    backendOptions: { metrics: false },
    nodes: [{ name: 'a', cpu: '2', memory: '8Gi' }],
    setup: async (b) => {
      await ensureNamespace(b.clients, 'streamspace')
      for (const name of ['s1', 's2']) {
        await createPod(b.clients, { name, namespace: 'streamspace', node: 'a', labels: { app: 'streamspace-session' } })
      }
    },
    // Seen ten days later, the AGE text ("10d") stays the same for hours: nothing else re-renders the view.
    clock: { ...systemClock, now: () => Date.now() + 10 * 86_400_000 },
  })
  const sim = b.sim as unknown as SimCluster
  const nodeA = async () => ((await (await svc.api('/nodes')).json()) as { pods: number; sessions: number }[])[0]
  await waitFor(async () => (await nodeA()).sessions === 2, 10_000, 'two sessions seen')

  // The pods go while the service cannot watch, and the history is compacted meanwhile: the
  // watch resumes with 410 Gone and the cache relists to a pod list without them.
  sim.suspend()
  for (const name of ['s1', 's2']) sim.cluster.store.remove('pods', 'streamspace', name)
  // Only the pods' history: the nodes' watch resumes as if nothing happened (same node objects).
  const pods = sim.cluster.store.collection('pods')
  pods.history = []
  pods.compactedRv = sim.cluster.store.rv
  sim.resume()
  await waitFor(async () => (await nodeA()).pods === 0, 30_000, 'pods gone from the list after the relist')
  t.match(await nodeA(), { pods: 0, sessions: 0 })
  const stats = await (await svc.api('/nodes/stats')).json() as ClusterStats
  t.match(stats, { total_pods: 0, total_sessions: 0 })
  t.equal((await (await svc.api('/nodes/a')).json()).pods, 0)
})
