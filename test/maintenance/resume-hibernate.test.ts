// Maintenance with StreamSpace's Sessions (the session controller stand-ins on both backends):
// policy hibernate at the deadline, and a restart of the service mid-plan that resumes from the
// stored step without cordoning anything twice. Fake clock for the deadline.
import t from 'tap'
import { eachBackend, type Backend } from '../helpers/backend.js'
import { startService } from '../helpers/service.js'
import { FakeClock } from '../helpers/clock.js'
import { ensureNamespace, waitFor } from '../helpers/fixtures.js'
import { call, endSession, NS, node, nodeState, sessionPod, until } from './helpers.js'

const iso = (ms: number) => new Date(ms).toISOString()

async function createSession(b: Backend, name: string, user: string): Promise<void> {
  await ensureNamespace(b.clients, NS)
  await b.clients.custom.createNamespacedCustomObject({
    group: 'stream.space', version: 'v1alpha1', namespace: NS, plural: 'sessions',
    body: { apiVersion: 'stream.space/v1alpha1', kind: 'Session', metadata: { name, namespace: NS, labels: { app: 'streamspace-session', session: name, user, template: 'firefox' } }, spec: { user, template: 'firefox', state: 'running' } },
  })
}

const sessionPodsOn = async (b: Backend, n: string) =>
  (await b.clients.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=streamspace-session', fieldSelector: `spec.nodeName=${n}` })).items.filter((p) => !p.metadata?.deletionTimestamp)

eachBackend(t, 'policy hibernate: at the deadline both Sessions are hibernated, their pods go through the Deployment, the node drains, no session pod evicted', async (t, b) => {
  await node(b, 'h1')
  await createSession(b, 'desk-ann', 'ann')
  await createSession(b, 'desk-bob', 'bob')
  await waitFor(async () => (await sessionPodsOn(b, 'h1')).length === 2, 30_000, 'two session pods running on h1')
  await node(b, 'h-spare')
  const clock = new FakeClock(Date.now())
  const svc = await startService(b.kc, { clock })
  t.teardown(() => svc.close())
  await waitFor(() => svc.app.health.isLeader(), 30_000, 'leadership')
  await waitFor(async () => (await call<{ sessions: number }>(svc, 'GET', '/nodes/h1')).body.sessions === 2, 10_000, 'sessions in the cache')
  const created = await call(svc, 'POST', '/maintenance', { nodes: ['h1'], reason: 'BIOS update', session_policy: 'hibernate', session_deadline: iso(clock.now() + 3_600_000), drain: { timeout_seconds: 120 } })
  t.equal(created.status, 201, created.body.message)
  const id = created.body.id
  const waiting = await until(svc, id, (p) => nodeState(p, 'h1').state === 'waiting_for_sessions' && nodeState(p, 'h1').sessions.length === 2, 'waiting for 2 sessions')
  t.same(nodeState(waiting, 'h1').sessions.map((s) => s.user).sort(), ['ann', 'bob'])
  clock.advance(3_600_000)
  const p = await until(svc, id, (p) => p.state === 'succeeded', 'plan succeeded', 60_000)
  t.equal(nodeState(p, 'h1').sessions_hibernated, 2)
  t.equal(nodeState(p, 'h1').pods_evicted, 0, 'the drain evicted no session pod: they went through their Deployments')
  for (const name of ['desk-ann', 'desk-bob']) {
    const s = await b.clients.custom.getNamespacedCustomObject({ group: 'stream.space', version: 'v1alpha1', namespace: NS, plural: 'sessions', name }) as { spec: { state: string } }
    t.equal(s.spec.state, 'hibernated', `${name} hibernated`)
  }
  t.equal((await sessionPodsOn(b, 'h1')).length, 0, 'no session pod left on h1')
  t.match(await (await fetch(`${svc.url}/metrics`)).text(), /streamspace_node_manager_maintenance_sessions_hibernated_total 2/)
}, { workloadControllers: true })

eachBackend(t, 'a restart of the service mid-plan resumes from the stored step without cordoning twice', async (t, b) => {
  await node(b, 'r1')
  await node(b, 'r-spare')
  await sessionPod(b, 'sess-r1', 'r1', 'rita')
  let svc = await startService(b.kc)
  await waitFor(() => svc.app.health.isLeader(), 30_000, 'leadership')
  await waitFor(async () => (await call<{ sessions: number }>(svc, 'GET', '/nodes/r1')).body.sessions === 1, 10_000, 'session in the cache')
  const created = await call(svc, 'POST', '/maintenance', { nodes: ['r1'], reason: 'restart me', drain: { force: true, timeout_seconds: 60 } })
  t.equal(created.status, 201, created.body.message)
  const id = created.body.id
  await until(svc, id, (p) => nodeState(p, 'r1').state === 'waiting_for_sessions', 'waiting')
  await svc.close()
  svc = await startService(b.kc)
  t.teardown(() => svc.close())
  await waitFor(() => svc.app.health.isLeader(), 20_000, 'leadership of the new service')
  const resumed = await until(svc, id, (p) => nodeState(p, 'r1').state === 'waiting_for_sessions', 'still waiting after the restart')
  t.equal(resumed.state, 'running')
  await endSession(b, 'sess-r1')
  const p = await until(svc, id, (p) => p.state === 'succeeded', 'plan succeeded after the restart')
  t.equal(nodeState(p, 'r1').state, 'drained')
  const events = (await b.clients.core.listEventForAllNamespaces({ fieldSelector: 'involvedObject.name=r1' })).items.map((e) => e.reason)
  t.equal(events.filter((r) => r === 'MaintenanceCordoned').length, 1, 'cordoned once')
  t.equal(events.filter((r) => r === 'NodeCordoned').length, 1, 'one cordon write')
  t.equal(events.filter((r) => r === 'MaintenanceDrained').length, 1, 'drained once')
})
