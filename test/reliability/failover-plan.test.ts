// The chaos check of issue 23: two replicas (processes, as deployed) behind a round-robin proxy
// (a Service). A plan with policy wait waits for a desktop session; the leader is SIGKILLed. The
// other replica takes over once the dead one's Lease expires: no session pod is evicted, no step
// is done twice, and the replicas answer GET P/maintenance/:id alike throughout. On both backends.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { startProcess, apiAt, type Proc } from '../helpers/process.js'
import { roundRobinProxy } from '../helpers/proxy.js'
import { ensureNamespace, waitFor } from '../helpers/fixtures.js'
import { endSession, node, NS, sessionPod } from '../maintenance/helpers.js'
import type { Maintenance } from '../../src/maintenance/types.js'

// Three service processes start here per backend, and a Lease expires (15 s).
t.setTimeout(600_000)

const leads = async (base: string) => ((await (await apiAt(base, '/cluster/health')).json()) as { leader: { is_self: boolean } }).leader.is_self
const planAt = async (base: string, id: string) => (await (await apiAt(base, `/maintenance/${id}`)).json()) as Maintenance
/** What two replicas must agree on (the stream of the same object; a read may fall between two writes). */
const same = async (a: Proc, b: Proc, id: string) => {
  for (let i = 0; i < 20; i++) {
    const [x, y] = await Promise.all([planAt(a.url, id), planAt(b.url, id)])
    if (JSON.stringify(x) === JSON.stringify(y)) return x
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`replicas ${a.url} and ${b.url} disagree on ${id}`)
}

eachBackend(t, 'policy wait, leader SIGKILLed while it waits: the other replica takes over, nothing evicted, nothing done twice', async (t, b) => {
  await ensureNamespace(b.clients, NS)
  await node(b, 'f1')
  await node(b, 'f-spare')
  await sessionPod(b, 'desk-f1', 'f1', 'alice')
  const podUid = (await b.clients.core.readNamespacedPod({ name: 'desk-f1', namespace: NS })).metadata!.uid

  const a = await startProcess(t, b, 'replica-a')
  await waitFor(() => leads(a.url), 30_000, 'replica-a leads')
  const r2 = await startProcess(t, b, 'replica-b')
  t.notOk(await leads(r2.url), 'replica-b follows')
  const proxy = await roundRobinProxy([a.url, r2.url])
  t.teardown(() => proxy.close())

  await waitFor(async () => ((await (await apiAt(proxy.url, '/nodes/f1')).json()) as { sessions: number }).sessions === 1, 20_000, 'both see the session')
  const created = await apiAt(proxy.url, '/maintenance', { method: 'POST', json: { nodes: ['f1'], reason: 'chaos', session_policy: 'wait', force: true, drain: { timeout_seconds: 60 } } })
  const body = await created.json() as Maintenance & { message: string }
  t.equal(created.status, 201, body.message)
  const id = body.id
  await waitFor(async () => (await planAt(proxy.url, id)).nodes[0]?.state === 'waiting_for_sessions', 30_000, 'waiting for the session')
  const before = await same(a, r2, id)
  t.equal(before.nodes[0].sessions[0]?.user, 'alice', 'both replicas: waiting for alice\'s session')

  a.child.kill('SIGKILL')
  await a.exited
  // Through the proxy meanwhile: every answer is the plan still waiting (the dead replica is skipped).
  const seen = new Set<string>()
  await waitFor(async () => {
    const p = await planAt(proxy.url, id)
    seen.add(`${p.state}/${p.nodes[0].state}`)
    return leads(r2.url)
  }, 40_000, 'replica-b leads once the dead leader\'s Lease expires')
  t.same([...seen], ['running/waiting_for_sessions'], 'while nobody led, the plan read the same everywhere')
  await waitFor(async () => (await planAt(r2.url, id)).updated_at !== before.updated_at || (await planAt(r2.url, id)).nodes[0].sessions.length === 1, 10_000, 'the new leader took the plan up')
  const c = await startProcess(t, b, 'replica-c')
  proxy.upstreams.splice(0, proxy.upstreams.length, r2.url, c.url)
  const after = await same(r2, c, id)
  t.equal(after.nodes[0].state, 'waiting_for_sessions', 'still waiting: the new leader saw the session (its caches synced first)')
  t.equal(after.nodes[0].sessions_ended, 0, 'no session counted as ended')
  const pod = await b.clients.core.readNamespacedPod({ name: 'desk-f1', namespace: NS })
  t.equal(pod.metadata?.uid, podUid, 'the session pod is the same pod')
  t.notOk(pod.metadata?.deletionTimestamp, 'and not being deleted')

  await endSession(b, 'desk-f1')
  await waitFor(async () => (await planAt(proxy.url, id)).state === 'succeeded', 60_000, 'the plan ends once the session does')
  const done = await same(r2, c, id)
  t.equal(done.nodes[0].state, 'drained')
  const events = (await b.clients.core.listEventForAllNamespaces({ fieldSelector: 'involvedObject.name=f1' })).items.map((e) => e.reason)
  for (const reason of ['MaintenanceCordoned', 'MaintenanceWaitingForSessions', 'MaintenanceDraining', 'MaintenanceDrained']) {
    t.equal(events.filter((r) => r === reason).length, 1, `${reason} once`)
  }
  t.equal(events.filter((r) => r === 'NodeCordoned').length, 1, 'one cordon write')
  for (const p of [r2, c]) {
    p.child.kill('SIGTERM')
    t.equal((await p.exited).code, 0, 'a clean stop')
  }
})
