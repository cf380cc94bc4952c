// Session protection through the real service, with a fake clock: a node gets cluster-autoscaler's
// and Karpenter's annotations when a session pod comes and loses them when it goes, a debounce
// after the watch brings the change (no polling: the resync period never passes until the end), and
// an annotation someone else set (here Karpenter's on b) is kept, sessions or not. A write that
// fails is made good by the periodic resync (sim: injected conflicts). Plus the pure patch rules.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { FakeClock } from '../helpers/clock.js'
import { createNode, createPod, ensureNamespace } from '../helpers/fixtures.js'
import { startService, waitFor } from '../helpers/service.js'
import { patchNodeAnnotations } from '../../src/kube/node-patches.js'
import { CA_SCALE_DOWN_DISABLED as CA, KARPENTER_DO_NOT_DISRUPT as KP, PROTECTED_BY, protectionPatch } from '../../src/autoscaling/protection.js'

t.test('protectionPatch', async (t) => {
  t.same(protectionPatch(undefined, true), { [CA]: 'true', [KP]: 'true', [PROTECTED_BY]: `${CA},${KP}` })
  t.same(protectionPatch({ [KP]: 'true' }, true), { [CA]: 'true', [PROTECTED_BY]: CA }, 'a foreign annotation is not claimed')
  t.equal(protectionPatch({ [CA]: 'true', [PROTECTED_BY]: CA, [KP]: 'true' }, true), undefined, 'already in line')
  t.same(protectionPatch({ [CA]: 'true', [PROTECTED_BY]: CA, [KP]: 'true' }, false), { [CA]: null, [PROTECTED_BY]: null }, 'only ours removed')
  t.equal(protectionPatch({ [KP]: 'true' }, false), undefined, 'foreign kept without sessions')
  t.same(protectionPatch({ [PROTECTED_BY]: `${CA},${KP}`, [KP]: 'true' }, true), { [CA]: 'true' }, 'one of ours removed by someone comes back while sessions run')
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

eachBackend(t, 'session protection annotations', async (t, b) => {
  const c = b.clients
  // The Lease lives there; with a fake clock the elector's retry after a failed create would wait forever.
  await ensureNamespace(c, 'streamspace')
  await createNode(c, { name: 'a', cpu: '4', memory: '8Gi' })
  await createNode(c, { name: 'b', cpu: '4', memory: '8Gi' })
  await patchNodeAnnotations(c, 'b', { [KP]: 'true' })
  const clock = new FakeClock(Date.now())
  // A debounce of 3 s: no other sleep of the service lasts exactly that (see debouncing).
  const svc = await startService(b.kc, { clock, env: { SESSION_PROTECTION_DEBOUNCE_SECONDS: '3', SESSION_PROTECTION_RESYNC_SECONDS: '20' } })
  t.teardown(() => svc.close())
  const { protector } = svc.app.autoscaling
  const cache = svc.app.cluster
  await waitFor(() => svc.app.health.isLeader() && protector.passes > 0, 20_000, 'leader, first pass made')
  const ann = async (n: string) => (await c.core.readNode({ name: n })).metadata?.annotations ?? {}
  const session = (name: string, node: string) => createPod(c, {
    name, namespace: 'streamspace', node, labels: { app: 'streamspace-session', session: name, user: 'bob', template: 'firefox' },
    requests: { cpu: '100m', memory: '128Mi' },
  })
  const running = (node: string, n: number) => waitFor(() => [...cache.podsOn(node)].filter((p) => p.session && p.phase === 'Running' && !p.terminating).length === n, 20_000, `${n} sessions running on ${node} in the cache`)
  // The protector has taken the change in and sleeps its debounce: before the clock passes it, it
  // has written nothing; advanced past it, its pass follows.
  const debouncing = () => waitFor(() => clock.sleepsOf(3000) > 0, 20_000, 'the protector to debounce the change')

  t.same(await ann('a'), {}, 'no sessions, no annotations')
  await session('s1', 'a')
  await session('s2', 'b')
  await running('a', 1); await running('b', 1)
  await debouncing()
  t.equal((await ann('a'))[CA], undefined, 'nothing before the debounce has passed')
  clock.advance(3000)
  await waitFor(async () => (await ann('a'))[CA] === 'true' && (await ann('b'))[CA] === 'true', 20_000, 'a and b protected')
  t.same([(await ann('a'))[KP], (await ann('a'))[PROTECTED_BY]], ['true', `${CA},${KP}`])
  t.same([(await ann('b'))[KP], (await ann('b'))[PROTECTED_BY]], ['true', CA], 'b: the foreign annotation is not ours')

  await c.core.deleteNamespacedPod({ name: 's1', namespace: 'streamspace', gracePeriodSeconds: 0 })
  await c.core.deleteNamespacedPod({ name: 's2', namespace: 'streamspace', gracePeriodSeconds: 0 })
  await waitFor(() => [...cache.podsOn('a'), ...cache.podsOn('b')].every((p) => !p.session), 20_000, 'sessions gone from the cache')
  await debouncing()
  clock.advance(3000)
  await waitFor(async () => (await ann('a'))[CA] === undefined && (await ann('b'))[CA] === undefined, 20_000, 'protection removed')
  const a = await ann('a'), bb = await ann('b')
  t.equal(a[KP], undefined); t.equal(a[PROTECTED_BY], undefined)
  t.equal(bb[KP], 'true', 'the foreign Karpenter annotation stays'); t.equal(bb[PROTECTED_BY], undefined)

  // Someone removes our annotation from a protected node: the node's change brings it back.
  await session('s3', 'a')
  await running('a', 1)
  await debouncing(); clock.advance(3000)
  await waitFor(async () => (await ann('a'))[CA] === 'true', 20_000, 'a protected again')
  await patchNodeAnnotations(c, 'a', { [CA]: null })
  await waitFor(() => cache.getNode('a')?.metadata?.annotations?.[CA] === undefined, 20_000, 'the removal seen')
  await debouncing(); clock.advance(3000)
  await waitFor(async () => (await ann('a'))[CA] === 'true', 20_000, 'our annotation restored on the node change')

  if (!b.sim) {
    t.comment('the failed-write safety net needs injected faults: sim only')
    return
  }
  // Every write refused (409): the pass fails, nothing retries it until the resync comes.
  await c.core.deleteNamespacedPod({ name: 's3', namespace: 'streamspace', gracePeriodSeconds: 0 })
  await waitFor(() => [...cache.podsOn('a')].every((p) => !p.session), 20_000, 's3 gone from the cache')
  b.sim.faults = { ...b.sim.faults, conflictRate: 1 }
  await debouncing()
  const before = protector.passes
  clock.advance(3000)
  await waitFor(() => protector.passes > before && (protector.lastPass?.failed ?? 0) > 0, 20_000, 'a failed pass')
  b.sim.faults = { ...b.sim.faults, conflictRate: 0 }
  const failedAt = protector.passes
  t.equal((await ann('a'))[CA], 'true', 'still there')
  // The resync (20 s after the last full pass), a second at a time so the elector keeps renewing.
  for (let i = 0; i < 25 && (await ann('a'))[CA] !== undefined; i++) { clock.advance(1000); await sleep(40) }
  await waitFor(async () => (await ann('a'))[CA] === undefined, 20_000, 'the resync removed it')
  t.equal(protector.lastPass?.full, true, 'by a full pass')
  // A retry before the resync would have been a pass of its own (and removed it, not fully).
  t.equal(protector.passes, failedAt + 1, 'no pass without a change before the resync: one pass since the failed one')
})
