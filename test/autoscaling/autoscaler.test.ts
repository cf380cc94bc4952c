// The autoscaling domain on a fake clock: utilization as cluster-autoscaler computes it, the
// recommendation above, below and between the thresholds, clamping at minNodes and maxNodes, and
// the stabilization windows (a single spike flips nothing).
import t from 'tap'
import { Autoscaler, rawRecommendation, utilization, type Thresholds } from '../../src/autoscaling/autoscaler.js'
import type { NodeFacts } from '../../src/selection/fit.js'
import { FakeClock } from '../helpers/clock.js'

const GI = 1024 ** 3
function node(name: string, cpu: number, memGi: number, reqCpu: number, reqMemGi: number, ready = true): NodeFacts {
  return {
    name, labels: {}, ready, phase: ready ? 'Ready' : 'NotReady', unschedulable: false, taints: [],
    allocatableCpuMilli: cpu * 1000, allocatableMemoryBytes: memGi * GI, allocatablePods: 110,
    requestedCpuMilli: reqCpu * 1000, requestedMemoryBytes: reqMemGi * GI, pods: 1, sessions: 0,
  }
}
const TH: Thresholds = { scale_up: 80, scale_down: 20, min_nodes: 1, max_nodes: 10 }

t.test('utilization: max of cpu and memory per node, weighted by allocatable; NotReady nodes left out', async (t) => {
  const u = utilization([node('a', 4, 8, 2, 2), node('b', 12, 24, 3, 18), node('c', 4, 8, 4, 8, false)])
  t.equal(u.nodes, 2)
  t.same(u.per_node.map((n) => [n.name, n.cpu_percent, n.memory_percent, n.utilization_percent]), [['a', 50, 25, 50], ['b', 25, 75, 75]])
  // a weighs 1/4 (CPU and memory alike), b 3/4: 50*0.25 + 75*0.75 = 68.75
  t.equal(u.utilization_percent, 68.8)
  t.equal(u.cpu_percent, 31.3)
  t.equal(u.memory_percent, 62.5)
  t.equal(u.usage_cpu_percent, null, 'no metrics: no usage')
  const withUsage = utilization([node('a', 4, 8, 2, 2)], () => ({ cpuMilli: 1000, memoryBytes: 2 * GI }))
  t.equal(withUsage.usage_cpu_percent, 25)
  t.equal(withUsage.per_node[0]!.usage_memory_percent, 25)
})

t.test('raw recommendation: above, below, between; clamped at min and max', async (t) => {
  const at = (nodes: NodeFacts[], th = TH) => rawRecommendation(utilization(nodes), th)
  const up = at([node('a', 4, 8, 3.6, 1), node('b', 4, 8, 3.6, 1)])
  t.equal(up.action, 'scale_up'); t.equal(up.desired, 3, 'ceil(2 * 90 / 80) = 3'); t.match(up.reason, /90% is above scaleUpThreshold 80%/)
  const down = at([node('a', 4, 8, 0.4, 1), node('b', 4, 8, 0.4, 1), node('c', 4, 8, 0.4, 1)])
  t.equal(down.action, 'scale_down'); t.equal(down.desired, 2); t.match(down.reason, /below scaleDownThreshold 20%/)
  const mid = at([node('a', 4, 8, 2, 1)])
  t.equal(mid.action, 'none'); t.equal(mid.desired, 1); t.match(mid.reason, /between/)
  const atMax = at([node('a', 4, 8, 4, 1), node('b', 4, 8, 4, 1)], { ...TH, max_nodes: 2 })
  t.equal(atMax.action, 'none'); t.match(atMax.reason, /at maxNodes 2/)
  const capped = rawRecommendation(utilization(Array.from({ length: 4 }, (_, i) => node(`n${i}`, 4, 8, 4, 8))), { ...TH, scale_up: 50, max_nodes: 6 })
  t.equal(capped.action, 'scale_up'); t.equal(capped.desired, 6, '8 wanted, capped at 6'); t.match(capped.reason, /capped at maxNodes 6/)
  const atMin = at([node('a', 4, 8, 0, 0)], { ...TH, min_nodes: 1 })
  t.equal(atMin.action, 'none'); t.match(atMin.reason, /at minNodes 1/)
  const belowMin = at([node('a', 4, 8, 2, 1)], { ...TH, min_nodes: 3 })
  t.equal(belowMin.action, 'scale_up'); t.equal(belowMin.desired, 3)
  const aboveMax = at([node('a', 4, 8, 2, 1), node('b', 4, 8, 2, 1), node('c', 4, 8, 2, 1)], { ...TH, max_nodes: 2 })
  t.equal(aboveMax.action, 'scale_down'); t.equal(aboveMax.desired, 2)
})

t.test('stabilization: a single spike flips nothing; held load recommends after the window', async (t) => {
  const clock = new FakeClock()
  let nodes = [node('a', 4, 8, 2, 1), node('b', 4, 8, 2, 1)]
  const changes: string[] = []
  const as = new Autoscaler({
    clock, nodes: () => nodes, thresholds: () => TH, intervalMs: () => 30_000,
    scaleUpWindowMs: () => 90_000, scaleDownWindowMs: () => 600_000,
    onChange: (next) => changes.push(`${next.action}:${next.desired_nodes}`),
  })
  t.equal(as.evaluate().action, 'none')
  // One spike above the threshold, then back.
  nodes = [node('a', 4, 8, 4, 1), node('b', 4, 8, 4, 1)]
  clock.advance(30_000)
  const spiking = as.evaluate()
  t.equal(spiking.action, 'none', 'a single sample above the threshold is not acted on')
  t.match(spiking.reason, /waiting 90 s more before recommending scale_up/)
  nodes = [node('a', 4, 8, 2, 1), node('b', 4, 8, 2, 1)]
  clock.advance(30_000)
  t.equal(as.evaluate().action, 'none')
  // Held load: scale_up once 90 s have passed.
  nodes = [node('a', 4, 8, 4, 1), node('b', 4, 8, 4, 1)]
  for (const s of [0, 30, 60]) { clock.advance(30_000); t.equal(as.evaluate().action, 'none', `${s} s into the window`) }
  clock.advance(30_000)
  const up = as.evaluate()
  t.equal(up.action, 'scale_up'); t.equal(up.desired_nodes, 3)
  // The load goes: none at once; then idle for less than ten minutes: still none.
  nodes = [node('a', 4, 8, 0.1, 0.1), node('b', 4, 8, 0.1, 0.1)]
  clock.advance(30_000)
  t.equal(as.evaluate().action, 'none')
  clock.advance(540_000)
  t.equal(as.evaluate().action, 'none', '9 minutes idle')
  clock.advance(60_000)
  const down = as.evaluate()
  t.equal(down.action, 'scale_down'); t.equal(down.desired_nodes, 1)
  t.same(changes, ['none:2', 'scale_up:3', 'none:2', 'scale_down:1'])
  t.same(as.changes.map((h) => h.action), ['scale_down', 'none', 'scale_up', 'none'], 'history newest first')
})

t.test('the loop evaluates every interval until stopped', async (t) => {
  const clock = new FakeClock()
  let calls = 0
  const as = new Autoscaler({
    clock, nodes: () => { calls++; return [node('a', 4, 8, 2, 1)] }, thresholds: () => TH, intervalMs: () => 30_000,
    scaleUpWindowMs: () => 90_000, scaleDownWindowMs: () => 600_000,
  })
  as.startLeading()
  await clock.tick(30_000)
  await clock.tick(30_000)
  await as.stopLeading()
  t.equal(calls, 3)
  t.equal(as.running, false)
})

// Issue 24, finding 8: a gap in leadership restarts the stabilization window, and a replica that
// stops leading keeps no recommendation to show; a follower's preview says it is not stabilized.
t.test('leadership: the window starts again after a gap; nothing kept once it ends', async (t) => {
  const clock = new FakeClock()
  const loaded = [node('a', 4, 8, 4, 1), node('b', 4, 8, 4, 1)]
  const as = new Autoscaler({
    clock, nodes: () => loaded, thresholds: () => TH, intervalMs: () => 30_000,
    scaleUpWindowMs: () => 90_000, scaleDownWindowMs: () => 600_000,
  })
  as.startLeading()
  await clock.tick(0)
  t.match(as.recommendation?.reason, /waiting 90 s more before recommending scale_up/, 'leading: the load is pending')
  await clock.tick(30_000)
  await clock.tick(30_000)
  t.equal(as.recommendation?.action, 'none', '60 s held')
  await as.stopLeading()
  t.equal(as.recommendation, undefined, 'no longer leading: no recommendation kept to show')
  // Another replica led for ten minutes; this one leads again.
  clock.advance(600_000)
  as.startLeading()
  await clock.tick(0)
  t.equal(as.recommendation?.action, 'none', 'the window starts again: not scale_up at once')
  t.match(as.recommendation?.reason, /waiting 90 s more/)
  for (let i = 0; i < 3; i++) await clock.tick(30_000)
  t.equal(as.recommendation?.action, 'scale_up', 'after a full window of its own')
  await as.stopLeading()
  const p = as.preview()
  t.same([p.recommendation.action, p.recommendation.desired_nodes, p.recommendation.stabilized], ['scale_up', 3, false], 'a follower previews the same figures, unstabilized')
  t.equal(as.recommendation, undefined, 'previewing keeps nothing')
})
