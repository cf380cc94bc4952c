// Issue 24, finding 8, through two replicas on each backend: the follower answers the figures of
// the moment from its own caches, marked computed_by "follower" and not stabilized (never a stale
// recommendation of its own); when the leader goes, the new leader starts its stabilization window
// afresh ("waiting") before it recommends, and says computed_by "leader".
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace } from '../helpers/fixtures.js'
import { startService, waitFor, type Service } from '../helpers/service.js'

eachBackend(t, 'autoscaling across replicas', async (t, b) => {
  const c = b.clients
  await ensureNamespace(c, 'streamspace')
  await ensureNamespace(c, 'apps')
  await createNode(c, { name: 'a', cpu: '4', memory: '8Gi' })
  await createNode(c, { name: 'b', cpu: '4', memory: '8Gi' })
  await createPod(c, { name: 'big-a', namespace: 'apps', node: 'a', requests: { cpu: '3600m', memory: '1Gi' } })
  await createPod(c, { name: 'big-b', namespace: 'apps', node: 'b', requests: { cpu: '3600m', memory: '1Gi' } })
  const env = { AUTOSCALING_INTERVAL_SECONDS: '0.2', SCALE_UP_STABILIZATION_SECONDS: '3', SCALE_DOWN_STABILIZATION_SECONDS: '0' }
  const first = await startService(b.kc, { env })
  const second = await startService(b.kc, { env })
  t.teardown(async () => { await Promise.all([first.close(), second.close()]) })
  const get = async (s: Service) => (await (await s.api('/autoscaling')).json()) as any
  await waitFor(async () => (await get(first)).leader || (await get(second)).leader, 20_000, 'a leader')
  const [leader, follower] = (await get(first)).leader ? [first, second] : [second, first]

  await waitFor(async () => (await get(leader)).recommendation?.action === 'scale_up', 20_000, 'the leader recommends scale_up after its window')
  const l = await get(leader)
  t.same([l.recommendation.computed_by, l.recommendation.stabilized], ['leader', true])
  const f = await get(follower)
  t.equal(f.leader, false)
  t.same([f.recommendation.computed_by, f.recommendation.stabilized, f.recommendation.action, f.recommendation.desired_nodes], ['follower', false, 'scale_up', 3], 'the follower: the same figures, computed now, not stabilized')
  t.equal(f.utilization.utilization_percent, 90)

  // The leader goes; the follower takes over and starts its own window.
  await leader.close()
  const reasons: string[] = []
  await waitFor(async () => {
    const s = await get(follower)
    if (s.leader && s.recommendation) reasons.push(`${s.recommendation.computed_by}:${s.recommendation.action}:${s.recommendation.reason}`)
    return s.leader && s.recommendation?.action === 'scale_up'
  }, 30_000, 'the new leader recommends scale_up')
  t.match(reasons[0], /^leader:none:.*waiting \d s more before recommending scale_up/, 'the new leader waited its own window first')
  t.match(reasons.at(-1), /^leader:scale_up:/)
})
