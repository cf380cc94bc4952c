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
      onStartedLeading: () => events.push(`started@${clock.now()}`),
      onStoppedLeading: () => events.push(`stopped@${clock.now()}`),
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
}, { apiserver: { users: [NODE_MANAGER_USER] } })

t.test('refuses timings client-go refuses', async (t) => {
  const client = {} as LeaseClient
  t.throws(() => new LeaderElector({ client, identity: 'x', leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }), /leaseDuration/)
  t.throws(() => new LeaderElector({ client, identity: 'x', renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }), /renewDeadline/)
  t.equal(LEADER_LEASE_NAME, 'streamspace-node-manager')
})
