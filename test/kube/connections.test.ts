// Connection reuse (src/kube/client.ts): client-node 2.0.1 builds a new undici Agent, and so opens
// a new connection (a TLS handshake against a real API server), for every request. Through our
// clients a run of API calls and a paginated LIST share connections; a switch to another user
// gets its own.
import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import { createKubeClients } from '../../src/kube/client.js'
import { ClusterCache } from '../../src/kube/cluster-cache.js'
import { waitFor } from '../helpers/fixtures.js'

const silent = { info() {}, warn() {} }

t.test('API calls and LIST pages reuse connections; another user gets its own', async (t) => {
  const sim = await startSim({ nodes: 30, podsPerNode: 50, metrics: false, controllers: false })
  t.teardown(() => sim.close())
  const kc = new KubeConfig()
  kc.loadFromString(sim.kubeconfig())
  const clients = createKubeClients(kc)

  let before = sim.connectionsAccepted
  for (let i = 0; i < 10; i++) await clients.core.readNode({ name: 'node-00001' })
  // undici may open a second while the first is being handed back after its first answer.
  t.ok(sim.connectionsAccepted - before <= 2, `10 calls one after another: ${sim.connectionsAccepted - before} connections`)

  before = sim.connectionsAccepted
  const cache = new ClusterCache({ kc: clients.kc, log: silent, sessionSelector: 'app=streamspace-session', metricsEnabled: false, metricsPollMs: 60_000, metricsHistorySamples: 2 })
  cache.start()
  t.teardown(() => cache.stop())
  await waitFor(() => cache.synced, 15_000, 'cache synced')
  t.ok(sim.requests.count((r) => r.path === '/api/v1/pods' && r.verb === 'list') >= 3, 'the pods came in several pages')
  // The node and pod lists run at once, a page is asked for while the one before is read, and each watch keeps its own.
  t.ok(sim.connectionsAccepted - before <= 4, `a paginated sync and its two watches: ${sim.connectionsAccepted - before} new connections`)

  const user = kc.getCurrentUser()!
  const context = kc.getContextObject(kc.currentContext)!
  kc.addUser({ ...user, name: 'other' })
  kc.addContext({ ...context, name: 'as-other', user: 'other' })
  kc.setCurrentContext('as-other')
  before = sim.connectionsAccepted
  for (let i = 0; i < 5; i++) await clients.core.readNode({ name: 'node-00001' })
  const opened = sim.connectionsAccepted - before
  t.ok(opened >= 1 && opened <= 2, `another user: connections of its own (${opened}), then reused`)
})
