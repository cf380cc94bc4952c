// Leader election through a coordination.k8s.io Lease, on the simulator and the real API server:
// client-go's semantics, driven with a fake clock (time only moves when the test says) against
// real Lease objects over HTTP.
import t from 'tap'
import { AuthorizationV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node'
import { eachBackend, type Backend } from '../helpers/backend.js'
import { NODE_MANAGER_USER } from '../helpers/apiserver.js'
import { ensureNamespace, waitFor } from '../helpers/fixtures.js'
import { FakeClock } from '../helpers/clock.js'
import { kubeConfigFromFile } from '../../src/kube/client.js'
import { apiLeaseClient, LeaderElector, type Lease, type LeaseClient } from '../../src/kube/leader-election.js'
import { LEADER_LEASE_NAME, NAMESPACED_PERMISSIONS, roleRules } from '../../src/kube/permissions.js'

let nsCounter = 0
async function freshNamespace(b: Backend): Promise<string> {
  const ns = `le-${++nsCounter}-${Date.now() % 100000}`
  await ensureNamespace(b.clients, ns)
  return ns
}

async function readLease(b: Backend, ns: string): Promise<Lease | undefined> {
  return apiLeaseClient(b.kc, ns).get()
}

/** A LeaseClient that logs each call into `log`, and fails every call while `state.failing`. */
function traced(real: LeaseClient, log: string[], state: { failing: boolean }): LeaseClient {
  const wrap = <A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    log.push(name)
    if (state.failing) throw new Error('injected failure')
    return call(...args)
  }
  return { get: wrap('get', real.get), create: wrap('create', real.create), update: wrap('update', real.update) }
}

function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void
  const opened = new Promise<void>((resolve) => { open = resolve })
  return { open, opened }
}

const realMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

eachBackend(t, 'leader election', async (t, b) => {
  await t.test('acquire, renew, a second candidate waits, takeover after expiry', async (t) => {
    const ns = await freshNamespace(b)
    const clock = new FakeClock()
    const started: string[] = []
    const a = new LeaderElector({ client: apiLeaseClient(b.kc, ns), identity: 'replica-a', clock })
    const c = new LeaderElector({ client: apiLeaseClient(b.kc, ns), identity: 'replica-b', clock, onNewLeader: (id) => started.push(String(id)) })

    t.equal(await readLease(b, ns), undefined, 'no Lease before the first candidate')
    t.equal(await a.tryAcquireOrRenew(), true, 'the first candidate creates the Lease and holds it')
    const first = (await readLease(b, ns))!
    t.equal(first.spec?.holderIdentity, 'replica-a')
    t.equal(first.spec?.leaseDurationSeconds, 15)
    t.equal(first.spec?.leaseTransitions, 0)
    t.match(first.spec?.renewTime, /\.\d{6}Z$/, 'MicroTime with six fractional digits')

    // While A renews every 2 s, B keeps waiting, well past one lease duration.
    t.equal(await c.tryAcquireOrRenew(), false, 'B sees the Lease held')
    t.equal(c.leader, 'replica-a', 'B knows who leads')
    for (let i = 0; i < 10; i++) {
      clock.advance(2_000)
      t.equal(await a.tryAcquireOrRenew(), true, `A renews (${(i + 1) * 2} s)`)
      t.equal(await c.tryAcquireOrRenew(), false, `B waits (${(i + 1) * 2} s)`)
    }
    const renewed = (await readLease(b, ns))!
    t.equal(renewed.spec?.acquireTime, first.spec?.acquireTime, 'renewal keeps acquireTime')
    t.not(renewed.spec?.renewTime, first.spec?.renewTime, 'renewal moves renewTime')
    t.ok(Number(renewed.metadata.resourceVersion) !== Number(first.metadata.resourceVersion), 'each renewal is a write')

    // A stops renewing: B takes over only once the record has not changed for 15 s as B saw it.
    clock.advance(14_000)
    t.equal(await c.tryAcquireOrRenew(), false, '14 s after the last change B still waits')
    clock.advance(1_500)
    t.equal(await c.tryAcquireOrRenew(), true, 'after 15.5 s B takes over')
    const taken = (await readLease(b, ns))!
    t.equal(taken.spec?.holderIdentity, 'replica-b')
    t.equal(taken.spec?.leaseTransitions, 1, 'a transition is counted')
    t.equal(await a.tryAcquireOrRenew(), false, 'A, back, sees a new holder and does not take it back')
    t.same(started, ['replica-a', 'replica-b'], 'B saw the leader change')
  })

  await t.test('two candidates racing for an expired Lease: one wins, the other loses on a 409', async (t) => {
    const ns = await freshNamespace(b)
    const clock = new FakeClock()
    const old = new LeaderElector({ client: apiLeaseClient(b.kc, ns), identity: 'old', clock })
    t.equal(await old.tryAcquireOrRenew(), true)
    // Both read the same Lease (same resourceVersion) before either writes: a barrier on the reads.
    let arrived = 0
    let release!: () => void
    const bothRead = new Promise<void>((r) => { release = r })
    let barrier = false
    const racing = (): LeaseClient => {
      const real = apiLeaseClient(b.kc, ns)
      return {
        ...real,
        async get(signal) {
          const lease = await real.get(signal)
          if (barrier) {
            if (++arrived === 2) release()
            await bothRead
          }
          return lease
        },
      }
    }
    const a = new LeaderElector({ client: racing(), identity: 'racer-a', clock })
    const c = new LeaderElector({ client: racing(), identity: 'racer-b', clock })
    t.equal(await a.tryAcquireOrRenew(), false)
    t.equal(await c.tryAcquireOrRenew(), false)
    clock.advance(16_000)
    barrier = true
    const [wa, wc] = await Promise.all([a.tryAcquireOrRenew(), c.tryAcquireOrRenew()])
    t.equal(Number(wa) + Number(wc), 1, `exactly one wins (a=${wa}, b=${wc})`)
    const loser = wa ? c : a
    t.equal(loser.stats.conflicts, 1, 'the loser got a 409 Conflict on its conditional update')
    t.equal((await readLease(b, ns))!.spec?.holderIdentity, wa ? 'racer-a' : 'racer-b', 'the Lease names the winner')
    barrier = false
    t.equal(await loser.tryAcquireOrRenew(), false, 'the loser then waits like any candidate')
  })

  await t.test('a leader whose API calls fail until the renew deadline passes steps down', async (t) => {
    const ns = await freshNamespace(b)
    const clock = new FakeClock()
    let kc = b.kc
    let revoke: () => Promise<void>
    let restore: () => Promise<void> = async () => undefined
    if (b.sim) {
      const sim = b.sim
      revoke = async () => { sim.faults = { ...sim.faults, errorRate: 1 } }
      restore = async () => { sim.faults = { ...sim.faults, errorRate: 0 } }
    } else {
      // The real server: the elector runs as a user whose only rights are the Lease Role; revoking
      // the RoleBinding makes every Lease call answer 403.
      kc = kubeConfigFromFile(b.tokenKubeconfig!(NODE_MANAGER_USER.token))
      const rbac = b.kc.makeApiClient(RbacAuthorizationV1Api)
      const authz = b.kc.makeApiClient(AuthorizationV1Api)
      await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: 'leases' }, rules: roleRules(NAMESPACED_PERMISSIONS) } })
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: { metadata: { name: 'leases' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'leases' }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: NODE_MANAGER_USER.name }] },
      })
      const allowed = async () => (await authz.createSubjectAccessReview({ body: { spec: { user: NODE_MANAGER_USER.name, resourceAttributes: { namespace: ns, group: 'coordination.k8s.io', resource: 'leases', verb: 'create' } } } })).status?.allowed === true
      await waitFor(allowed, 10_000, 'Role in force')
      revoke = async () => {
        await rbac.deleteNamespacedRoleBinding({ namespace: ns, name: 'leases' })
        await waitFor(async () => !(await allowed()), 10_000, 'RoleBinding revoked')
      }
    }
    const events: string[] = []
    const a = new LeaderElector({
      client: apiLeaseClient(kc, ns), identity: 'fragile', clock,
      onStartedLeading: () => { events.push(`started@${clock.now()}`) },
      onStoppedLeading: () => { events.push(`stopped@${clock.now()}`) },
    })
    a.start()
    t.teardown(async () => { await restore(); await a.stop() })
    await waitFor(() => a.isLeader, 10_000, 'leader')
    for (let i = 0; i < 3; i++) await clock.tick(2_000) // a few good renewals
    await waitFor(() => a.stats.renewed >= 2, 10_000, 'renewals')
    await revoke()
    const failedFrom = clock.now()
    let leaderAt8s = false
    while (a.isLeader) {
      await clock.tick(1_000)
      await waitFor(() => clock.waiting > 0 || !a.isLeader, 10_000, 'elector waiting')
      if (clock.now() - failedFrom === 8_000) leaderAt8s = a.isLeader
      if (clock.now() - failedFrom > 30_000) break
    }
    t.equal(a.isLeader, false, 'stepped down')
    t.ok(leaderAt8s, 'still leader 8 s into the failures (within the renew deadline)')
    const steppedAfter = clock.now() - failedFrom
    t.ok(steppedAfter >= 10_000 && steppedAfter <= 13_000, `stepped down ${steppedAfter} ms after calls began to fail (renew deadline 10 s, plus up to one retry period)`)
    t.equal(a.stats.lost, 1)
    t.match(a.lastError ?? '', b.sim ? /503|injected/ : /forbid/i, `the failure is named: ${a.lastError}`)
    t.same(events.map((e) => e.split('@')[0]), ['started', 'stopped'])
  })

  await t.test('stop releases the Lease and another candidate takes it at once', async (t) => {
    const ns = await freshNamespace(b)
    const clock = new FakeClock()
    const a = new LeaderElector({ client: apiLeaseClient(b.kc, ns), identity: 'leaving', clock })
    const c = new LeaderElector({ client: apiLeaseClient(b.kc, ns), identity: 'staying', clock })
    a.start()
    await waitFor(() => a.isLeader, 10_000, 'leader')
    t.equal(await c.tryAcquireOrRenew(), false, 'held')
    await a.stop()
    t.equal(a.isLeader, false)
    const released = (await readLease(b, ns))!
    t.equal(released.spec?.holderIdentity ?? '', '', 'no holder after release')
    t.equal(released.spec?.leaseDurationSeconds, 1, 'leaseDurationSeconds 1, as client-go releases')
    clock.advance(1_001)
    t.equal(await c.tryAcquireOrRenew(), true, 'the other candidate takes it without waiting out 15 s')
    t.equal((await readLease(b, ns))!.spec?.holderIdentity, 'staying')
  })

  await t.test('a leader that loses the Lease campaigns again only once its stop callbacks have finished', async (t) => {
    const ns = await freshNamespace(b)
    const clock = new FakeClock()
    const log: string[] = []
    const state = { failing: false }
    const stopping = gate()
    const a = new LeaderElector({
      client: traced(apiLeaseClient(b.kc, ns), log, state), identity: 'fenced', clock,
      onStartedLeading: () => { log.push('started') },
      onStoppedLeading: async () => { log.push('stopping'); await stopping.opened; log.push('stopped') },
    })
    a.start()
    t.teardown(async () => { stopping.open(); await a.stop() })
    await waitFor(() => a.isLeader, 10_000, 'leader')
    state.failing = true
    while (!log.includes('stopping')) {
      await clock.tick(1_000)
      await waitFor(() => clock.waiting > 0 || log.includes('stopping'), 10_000, 'elector waiting')
    }
    t.equal(a.isLeader, false, 'stepped down')
    // The API server answers again at once, but the stop still runs: no campaign until it ends.
    state.failing = false
    const calls = log.length
    clock.advance(10_000)
    await realMs(200)
    t.equal(log.length, calls, `no Lease call while the stop runs (${log.slice(calls).join(', ')})`)
    t.equal(a.isLeader, false, 'not leading again while the stop runs')
    stopping.open()
    await waitFor(() => a.isLeader, 10_000, 'leader again')
    const sessions = log.filter((e) => e === 'started' || e.startsWith('stop'))
    t.same(sessions, ['started', 'stopping', 'stopped', 'started'], 'the old session ended before the new one began')
  })

  await t.test('stop() releases the Lease only once the stop callbacks have finished', async (t) => {
    const ns = await freshNamespace(b)
    const clock = new FakeClock()
    const log: string[] = []
    const stopping = gate()
    const a = new LeaderElector({
      client: traced(apiLeaseClient(b.kc, ns), log, { failing: false }), identity: 'releasing', clock,
      onStoppedLeading: async () => { log.push('stopping'); await stopping.opened; log.push('stopped') },
    })
    a.start()
    await waitFor(() => a.isLeader, 10_000, 'leader')
    const stopped = a.stop()
    await waitFor(() => log.includes('stopping'), 10_000, 'stop callback called')
    await realMs(200)
    t.equal((await readLease(b, ns))!.spec?.holderIdentity, 'releasing', 'the Lease is still held while the stop runs')
    t.equal(a.stillLeading(), false, 'but the runners are told it no longer leads')
    stopping.open()
    await stopped
    t.equal((await readLease(b, ns))!.spec?.holderIdentity ?? '', '', 'released after the stop')
    t.ok(log.lastIndexOf('update') > log.indexOf('stopped'), `the release came after the stop (${log.join(', ')})`)
  })

  await t.test('expiry is measured on the monotonic clock: a wall-clock jump neither shortens nor stretches the lease', async (t) => {
    const ns = await freshNamespace(b)
    const clock = new FakeClock()
    const a = new LeaderElector({ client: apiLeaseClient(b.kc, ns), identity: 'steady', clock })
    const c = new LeaderElector({ client: apiLeaseClient(b.kc, ns), identity: 'watcher', clock })
    t.equal(await a.tryAcquireOrRenew(), true)
    t.equal(await c.tryAcquireOrRenew(), false, 'held')
    clock.jump(3_600_000)
    t.equal(await c.tryAcquireOrRenew(), false, 'the wall clock an hour ahead, no time passed: still held')
    clock.advance(14_000)
    t.equal(await c.tryAcquireOrRenew(), false, '14 s: still held')
    clock.advance(1_500)
    t.equal(await c.tryAcquireOrRenew(), true, 'taken 15.5 s after, as the monotonic clock measures')
    t.equal(await a.tryAcquireOrRenew(), false, 'the old leader sees the new holder')
    clock.jump(-7_200_000)
    clock.advance(15_500)
    t.equal(await a.tryAcquireOrRenew(), true, 'the wall clock two hours back: taken back 15.5 s after the new holder last renewed, not hours later')
  })

  await t.test('observedTime is taken when the GET answers: a slow GET does not shorten the lease as the follower sees it', async (t) => {
    const ns = await freshNamespace(b)
    const clock = new FakeClock()
    const a = new LeaderElector({ client: apiLeaseClient(b.kc, ns), identity: 'renewing', clock })
    const real = apiLeaseClient(b.kc, ns)
    let slow = false
    const c = new LeaderElector({
      identity: 'slow-reader', clock,
      client: {
        ...real,
        async get(signal) {
          // The GET takes 4 s; the leader renews meanwhile, just before the answer is read.
          if (slow) { clock.advance(4_000); await a.tryAcquireOrRenew() }
          return real.get(signal)
        },
      },
    })
    t.equal(await a.tryAcquireOrRenew(), true)
    t.equal(await c.tryAcquireOrRenew(), false, 'held')
    clock.advance(10_000)
    slow = true
    t.equal(await c.tryAcquireOrRenew(), false, 'held (the GET sent at 10 s answers at 14 s with a renewal)')
    slow = false
    clock.advance(12_000)
    t.equal(await c.tryAcquireOrRenew(), false, 'at 26 s, 12 s after the answer: still held (counted from the GET sent, it would look expired)')
    clock.advance(3_500)
    t.equal(await c.tryAcquireOrRenew(), true, 'at 29.5 s, 15.5 s after the answer: expired')
  })

  await t.test('stillLeading: false once the renew deadline passed without a renewal, before the elector steps down', async (t) => {
    const ns = await freshNamespace(b)
    const clock = new FakeClock()
    const state = { failing: false }
    const a = new LeaderElector({ client: traced(apiLeaseClient(b.kc, ns), [], state), identity: 'fencing', clock })
    t.equal(a.stillLeading(), false, 'not before leading')
    a.start()
    t.teardown(async () => { state.failing = false; await a.stop() })
    await waitFor(() => a.isLeader, 10_000, 'leader')
    t.equal(a.stillLeading(), true, 'leading, just renewed')
    state.failing = true
    clock.advance(9_999)
    await waitFor(() => a.stats.errors > 0, 10_000, 'a failed renewal')
    t.equal(a.stillLeading(), true, '9.999 s after the last renewal')
    clock.advance(1)
    t.equal(a.stillLeading(), false, '10 s (the renew deadline) after the last renewal')
    t.equal(a.isLeader, true, 'while the elector has not stepped down yet')
    // confirmLeading waits for the next renewal instead of answering "no" for a lapse it may survive.
    let confirmed: boolean | undefined
    const confirming = a.confirmLeading().then((v) => { confirmed = v })
    await new Promise((r) => setTimeout(r, 50))
    t.equal(confirmed, undefined, 'confirmLeading waits while the renewal is overdue')
    state.failing = false
    while (!a.stillLeading()) {
      await clock.tick(1_000)
      await waitFor(() => clock.waiting > 0, 10_000, 'elector waiting')
    }
    t.equal(a.isLeader, true, 'a renewal in time: leading again')
    await confirming
    t.equal(confirmed, true, 'confirmLeading: true once renewed')
    state.failing = true
    clock.advance(10_000)
    const lost = a.confirmLeading()
    await a.stop()
    t.equal(await lost, false, 'confirmLeading: false once leadership ends')
    t.equal(a.stillLeading(), false, 'not after stop')
  })
}, { apiserver: { users: [NODE_MANAGER_USER] } })

t.test('refuses timings client-go refuses', async (t) => {
  const client = {} as LeaseClient
  t.throws(() => new LeaderElector({ client, identity: 'x', leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }), /leaseDuration/)
  t.throws(() => new LeaderElector({ client, identity: 'x', renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }), /renewDeadline/)
  t.equal(LEADER_LEASE_NAME, 'streamspace-node-manager')
})
