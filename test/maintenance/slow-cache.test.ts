// Finding 1 of issue 23: a new leader acted before its pod cache had synced. podsOnNode() was []
// until the first pod LIST ended, so a resumed plan whose node waited for sessions took them for
// ended and drained the node, evicting the desktops (policy wait!). Here the service is restarted
// while a node waits for its session, and the new one's pod LIST is held 3 s by a proxy: the
// session pod survives and the plan keeps waiting.
import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { startBackend } from '../helpers/backend.js'
import { delayingProxy } from '../helpers/proxy.js'
import { ensureNamespace, waitFor } from '../helpers/fixtures.js'
import { startService } from '../helpers/service.js'
import { kubeconfigFor } from '../../src/sim/kubeconfig.js'
import { call, node, nodeState, NS, sessionPod, until } from './helpers.js'

t.test('restarted while a node waits for its session, the new leader\'s pod LIST slow: nothing evicted, still waiting', async (t) => {
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  await ensureNamespace(b.clients, NS)
  await node(b, 's1')
  await node(b, 's-spare')
  await sessionPod(b, 'desk-s1', 's1', 'alice')

  const first = await startService(b.kc, { env: { POD_NAME: 'first' } })
  await waitFor(() => first.app.health.isLeader(), 20_000, 'the first service leads')
  await waitFor(async () => (await call<{ sessions: number }>(first, 'GET', '/nodes/s1')).body.sessions === 1, 10_000, 'session in the cache')
  const created = await call(first, 'POST', '/maintenance', { nodes: ['s1'], reason: 'firmware', session_policy: 'wait', force: true })
  t.equal(created.status, 201, created.body.message)
  const id = created.body.id
  await until(first, id, (p) => nodeState(p, 's1').state === 'waiting_for_sessions', 'waiting for the session')
  await first.close() // releases the Lease: the next service leads at once

  const proxy = await delayingProxy(b.sim!.url, 3_000)
  t.teardown(() => { proxy.server.closeAllConnections(); proxy.server.close() })
  const kc = new KubeConfig()
  kc.loadFromString(kubeconfigFor(proxy.url))
  const second = await startService(kc, { waitReady: false, env: { POD_NAME: 'second' } })
  t.teardown(() => second.close())
  await waitFor(() => second.app.health.isLeader(), 10_000, 'the second service leads')
  t.notOk(second.app.cluster.podReflector.synced, 'it leads while its pod LIST is still held')
  await waitFor(() => second.app.cluster.synced, 20_000, 'its caches sync')
  // The plan is the leader's again once synced: wait for its own pass over the plan (a status
  // written by this runner), then look.
  await waitFor(() => second.app.maintenance.runsHere(id), 10_000, 'the new leader runs the plan')
  const p = await until(second, id, (p) => nodeState(p, 's1').sessions.length === 1, 'the plan sees the session')
  t.equal(nodeState(p, 's1').state, 'waiting_for_sessions', 'still waiting')
  t.equal(nodeState(p, 's1').sessions_ended, 0, 'no session counted as ended')
  const pod = await b.clients.core.readNamespacedPod({ name: 'desk-s1', namespace: NS })
  t.notOk(pod.metadata?.deletionTimestamp, 'the session pod was not evicted')
  t.equal(b.sim!.requests.count((r) => r.method === 'POST' && /\/eviction$/.test(r.path)), 0, 'no eviction was asked for')
})
