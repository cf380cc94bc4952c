// Maintenance plans through the HTTP API against each backend, with a fake clock for deadlines:
// policy wait and evict, max_unavailable over three nodes, cancel, complete, bad input.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { startService } from '../helpers/service.js'
import { FakeClock } from '../helpers/clock.js'
import { ensureNamespace, waitFor } from '../helpers/fixtures.js'
import { appPod, call, endSession, node, nodeState, NS, sessionPod, until } from './helpers.js'
import type { Maintenance } from '../../src/maintenance/types.js'

const iso = (ms: number) => new Date(ms).toISOString()
const ACTIVE = ['cordoned', 'waiting_for_sessions', 'draining']

eachBackend(t, 'maintenance plans', async (t, b) => {
  // The Lease lives there; with a fake clock the elector's retry after a failed create would wait forever.
  await ensureNamespace(b.clients, NS)
  const clock = new FakeClock(Date.now())
  const svc = await startService(b.kc, { clock, env: { CHANGE_RATE_LIMIT_MAX: '100000' } })
  t.teardown(() => svc.close())
  await waitFor(() => svc.app.health.isLeader(), 30_000, 'leadership')

  await t.test('policy wait: cordoned with the reason, waits for both sessions to end by themselves, then drains; complete uncordons', async (t) => {
    await node(b, 'w1')
    await node(b, 'w-spare')
    await sessionPod(b, 'sess-a', 'w1', 'ann')
    await sessionPod(b, 'sess-b', 'w1', 'bob')
    await appPod(b, 'web-w1', 'w1')
    await waitFor(async () => (await call<{ sessions: number }>(svc, 'GET', '/nodes/w1')).body.sessions === 2, 10_000, 'sessions in the cache')
    const created = await call(svc, 'POST', '/maintenance', { nodes: ['w1'], reason: 'kernel upgrade OPS-1', session_policy: 'wait', drain: { force: true, timeout_seconds: 60 } })
    t.equal(created.status, 201, created.body.message)
    const id = created.body.id
    let p = await until(svc, id, (p) => nodeState(p, 'w1').state === 'waiting_for_sessions' && nodeState(p, 'w1').sessions.length === 2, 'waiting for 2 sessions')
    t.same(nodeState(p, 'w1').sessions.map((s) => [s.session, s.user]).sort(), [['sess-a', 'ann'], ['sess-b', 'bob']], 'each session with its user')
    const n = await b.clients.core.readNode({ name: 'w1' })
    t.equal(n.spec?.unschedulable, true)
    t.match(n.metadata?.annotations, { 'streamspace.io/cordon-reason': `maintenance ${id}: kernel upgrade OPS-1`, 'streamspace.io/cordoned-by': 'alice' })
    await endSession(b, 'sess-a')
    p = await until(svc, id, (p) => nodeState(p, 'w1').sessions.length === 1, 'one session left')
    t.equal(nodeState(p, 'w1').state, 'waiting_for_sessions', 'still waiting: no drain while a session runs')
    t.ok((await b.clients.core.readNamespacedPod({ name: 'web-w1', namespace: 'apps' })).metadata?.name, 'nothing evicted yet')
    await endSession(b, 'sess-b')
    p = await until(svc, id, (p) => p.state === 'succeeded', 'plan succeeded')
    t.equal(nodeState(p, 'w1').state, 'drained')
    t.equal(nodeState(p, 'w1').sessions_ended, 2)
    t.same(nodeState(p, 'w1').pods_evicted, 1, 'the drain evicted the web pod only')
    const metrics = await (await fetch(`${svc.url}/metrics`)).text()
    t.match(metrics, /streamspace_node_manager_maintenance_sessions_waited_total 2/)
    t.match(metrics, /streamspace_node_manager_maintenance_plans\{state="succeeded"\} 1/)
    const events = (await b.clients.core.listEventForAllNamespaces({ fieldSelector: 'involvedObject.name=w1' })).items.map((e) => e.reason)
    for (const r of ['MaintenanceCordoned', 'MaintenanceWaitingForSessions', 'MaintenanceDraining', 'MaintenanceDrained']) t.ok(events.includes(r), `Event ${r} on the node`)
    const done = await call(svc, 'POST', `/maintenance/${id}/complete`)
    t.equal(done.status, 200)
    t.equal(done.body.state, 'completed')
    const after = await b.clients.core.readNode({ name: 'w1' })
    t.notOk(after.spec?.unschedulable, 'uncordoned')
    t.notOk('streamspace.io/cordon-reason' in (after.metadata?.annotations ?? {}), 'reason cleared')
  })

  await t.test('policy evict: at the deadline the drain takes the sessions', async (t) => {
    await node(b, 'e1')
    await sessionPod(b, 'sess-e1', 'e1', 'eve')
    await waitFor(async () => (await call<{ sessions: number }>(svc, 'GET', '/nodes/e1')).body.sessions === 1, 10_000, 'session in the cache')
    const deadline = clock.now() + 3_600_000
    const created = await call(svc, 'POST', '/maintenance', { nodes: ['e1'], reason: 'hardware', session_policy: 'evict', session_deadline: iso(deadline), drain: { force: true, timeout_seconds: 60 } })
    t.equal(created.status, 201, created.body.message)
    const id = created.body.id
    await until(svc, id, (p) => nodeState(p, 'e1').state === 'waiting_for_sessions', 'waiting')
    clock.advance(3_600_000 - 1000)
    // A second session wakes the runner after the clock moved: once the plan lists it, the runner
    // has looked at the time (a second before the deadline) and decided.
    await sessionPod(b, 'sess-e1b', 'e1', 'eli')
    const before = await until(svc, id, (p) => nodeState(p, 'e1').sessions.length === 2, 'the runner to see the second session')
    t.equal(nodeState(before, 'e1').state, 'waiting_for_sessions', 'before the deadline it waits')
    clock.advance(1000)
    const p = await until(svc, id, (p) => p.state === 'succeeded', 'drained after the deadline')
    t.equal(nodeState(p, 'e1').pods_evicted, 2, 'both session pods were evicted')
    await waitFor(async () => (await b.clients.core.listNamespacedPod({ namespace: 'streamspace', fieldSelector: 'spec.nodeName=e1' })).items.length === 0, 10_000, 'session pod gone')
  })

  await t.test('max_unavailable 1 over 3 nodes: never two in maintenance at once', async (t) => {
    for (const n of ['m1', 'm2', 'm3']) {
      await node(b, n)
      await sessionPod(b, `sess-${n}`, n, `user-${n}`)
    }
    await waitFor(async () => (await call<{ sessions: number }>(svc, 'GET', '/nodes/m3')).body.sessions === 1, 10_000, 'sessions in the cache')
    const created = await call(svc, 'POST', '/maintenance', { node_selector: 'kubernetes.io/hostname in (m1,m2,m3)', reason: 'rolling upgrade', drain: { force: true, timeout_seconds: 60 } })
    t.equal(created.status, 201, created.body.message)
    const id = created.body.id
    t.same(created.body.nodes.map((n) => n.name), ['m1', 'm2', 'm3'])
    let maxActive = 0
    const looks: Promise<unknown>[] = []
    const seen: string[] = []
    const watch = async (p: Maintenance) => {
      const active = p.nodes.filter((n) => ACTIVE.includes(n.state))
      maxActive = Math.max(maxActive, active.length)
      const cordoned = (await Promise.all(['m1', 'm2', 'm3'].map((n) => b.clients.core.readNode({ name: n }))))
        .filter((n) => n.spec?.unschedulable && nodeState(p, n.metadata!.name!).state !== 'drained')
      maxActive = Math.max(maxActive, cordoned.length > 1 ? cordoned.length : 0)
      return p
    }
    for (const n of ['m1', 'm2', 'm3']) {
      await until(svc, id, (p) => { looks.push(watch(p)); return nodeState(p, n).state === 'waiting_for_sessions' }, `${n} waiting`)
      const others = (await until(svc, id, () => true, 'read')).nodes.filter((x) => x.name !== n).map((x) => x.state)
      seen.push(`${n}:${others.join(',')}`)
      t.notOk(others.some((s) => ACTIVE.includes(s)), `while ${n} waits, no other node is in maintenance (${others.join(', ')})`)
      await endSession(b, `sess-${n}`)
      await until(svc, id, (p) => nodeState(p, n).state === 'drained', `${n} drained`)
    }
    const p = await until(svc, id, (p) => p.state === 'succeeded', 'plan succeeded')
    await Promise.all(looks) // each look at the nodes counted before the verdict
    t.equal(maxActive, 1, 'at most one node in maintenance at any time')
    t.ok(p.nodes.every((n) => n.state === 'drained'))
  })

  await t.test('cancel mid-plan: nothing more is done; each node named where it was left', async (t) => {
    await node(b, 'c1')
    await node(b, 'c2')
    await sessionPod(b, 'sess-c1', 'c1', 'carl')
    await appPod(b, 'web-c1', 'c1')
    await waitFor(async () => (await call<{ sessions: number }>(svc, 'GET', '/nodes/c1')).body.sessions === 1, 10_000, 'session in the cache')
    await node(b, 'c-spare')
    const created = await call(svc, 'POST', '/maintenance', { nodes: ['c1', 'c2'], reason: 'cancel me', drain: { force: true } })
    t.equal(created.status, 201, created.body.message)
    const id = created.body.id
    await until(svc, id, (p) => nodeState(p, 'c1').state === 'waiting_for_sessions', 'c1 waiting')
    const cancelled = await call(svc, 'DELETE', `/maintenance/${id}`)
    t.equal(cancelled.status, 200)
    t.equal(cancelled.body.state, 'cancelled')
    t.match(nodeState(cancelled.body, 'c1'), { state: 'cancelled', message: /while waiting_for_sessions: left cordoned with 1 session/ })
    t.match(nodeState(cancelled.body, 'c2'), { state: 'cancelled', message: /while pending: not started/ })
    const stored = (await call(svc, 'GET', `/maintenance/${id}`)).body.updated_at
    await endSession(b, 'sess-c1')
    // The service has seen the session end (what would start c1's drain) before the checks.
    await waitFor(async () => (await call<{ sessions: number }>(svc, 'GET', '/nodes/c1')).body.sessions === 0, 10_000, 'the service to see the session end')
    t.equal((await call(svc, 'GET', `/maintenance/${id}`)).body.updated_at, stored, 'the plan was not written again')
    t.ok((await b.clients.core.readNamespacedPod({ name: 'web-c1', namespace: 'apps' })).metadata?.name, 'no drain after cancel')
    t.equal((await b.clients.core.readNode({ name: 'c1' })).spec?.unschedulable, true, 'c1 stays cordoned')
    t.notOk((await b.clients.core.readNode({ name: 'c2' })).spec?.unschedulable, 'c2 never cordoned')
    t.equal((await call(svc, 'GET', `/maintenance/${id}`)).body.state, 'cancelled', 'stored')
    t.equal((await call(svc, 'DELETE', `/maintenance/${id}`)).status, 409, 'cancelling twice: 409')
    const done = await call(svc, 'POST', `/maintenance/${id}/complete`)
    t.equal(done.status, 200)
    t.notOk((await b.clients.core.readNode({ name: 'c1' })).spec?.unschedulable, 'complete uncordons c1')
  })

  await t.test('bad input: 4xx naming the problem, nothing started', async (t) => {
    await node(b, 'v1')
    const bad = async (body: unknown, status: number, message: RegExp) => {
      const r = await call(svc, 'POST', '/maintenance', body)
      t.equal(r.status, status, `${JSON.stringify(body)} -> ${r.body.message}`)
      t.match(r.body.message, message)
    }
    await bad({ nodes: ['ghost'], reason: 'x' }, 404, /Node "ghost" not found/)
    await bad({ node_selector: 'pool=none', reason: 'x' }, 422, /matches no node/)
    await bad({ nodes: ['v1'], reason: 'x', start_at: iso(clock.now() + 60_000), session_deadline: iso(clock.now()) }, 400, /session_deadline .* is before start_at/)
    await bad({ nodes: ['v1'], reason: 'x', max_unavailable: 0 }, 400, /max_unavailable/)
    await bad({ nodes: ['v1'] }, 400, /reason/)
    await bad({ nodes: ['v1'], reason: 'x', session_policy: 'hibernate' }, 400, /session_deadline: required/)
    await bad({ nodes: ['v1'], node_selector: 'a=b', reason: 'x' }, 400, /exactly one/)
    await bad({ nodes: ['v1'], reason: 'x', start_at: 'tomorrow' }, 400, /start_at/)
    t.notOk((await b.clients.core.readNode({ name: 'v1' })).spec?.unschedulable, 'nothing started')
    const later = await call(svc, 'POST', '/maintenance', { nodes: ['v1'], reason: 'later', start_at: iso(clock.now() + 3_600_000) })
    t.equal(later.status, 201)
    t.equal(later.body.state, 'scheduled')
    await bad({ nodes: ['v1'], reason: 'again' }, 409, new RegExp(`already in maintenance ${later.body.id}`))
    t.notOk((await b.clients.core.readNode({ name: 'v1' })).spec?.unschedulable, 'a scheduled plan touches nothing before start_at')
    t.equal((await call(svc, 'GET', '/maintenance/nope')).status, 404)
    await call(svc, 'DELETE', `/maintenance/${later.body.id}`)
  })
})
