// Issue 24, finding 6: the overprovisioning pause pods and cluster-autoscaler's scale-down, checked
// with cluster-autoscaler's own formula (kubernetes/autoscaler, cluster-autoscaler):
// - core/static_autoscaler.go RunOnce builds the cluster snapshot from
//   core_utils.FilterOutExpendablePods(scheduled pods, --expendable-pods-priority-cutoff), and
//   core/utils/expendable.go IsExpendablePod is `priority != nil && priority < cutoff`: the pause
//   pods at -10 with the default cutoff -10 are NOT expendable, so they count.
// - simulator/utilization/info.go Calculate: per resource the sum of the pods' requests over
//   allocatable (DaemonSet and mirror pods counted unless --ignore-daemonsets-utilization /
//   --ignore-mirror-pods-utilization), the larger of CPU and memory.
// - core/scaledown/eligibility/eligibility.go isNodeBelowUtilizationThreshold: a node is a
//   scale-down candidate only if utilization < threshold (`>=` is "not underutilized").
// The table in docs/autoscaling.md ("Overprovisioning and cluster-autoscaler's scale-down") is computed here.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { headroom, PRIORITY_CLASS_VALUE } from '../../src/autoscaling/cluster-api.js'
import { quantityToNumber } from '../../src/kube/quantity.js'

const GI = 2 ** 30
const CUTOFF = -10 // cluster-autoscaler's default --expendable-pods-priority-cutoff

interface Pod { cpuMilli: number; memoryBytes: number; priority: number | null }
interface CaNode { cpuMilli: number; memoryBytes: number; pods: Pod[] }

/** core/utils/expendable.go IsExpendablePod. */
const isExpendable = (p: Pod, cutoff: number) => p.priority !== null && p.priority < cutoff

/** simulator/utilization/info.go Calculate (no GPU, no DRA), over the pods the snapshot holds. */
function caUtilization(n: CaNode, cutoff: number): number {
  const pods = n.pods.filter((p) => !isExpendable(p, cutoff))
  const cpu = pods.reduce((s, p) => s + p.cpuMilli, 0) / n.cpuMilli
  const mem = pods.reduce((s, p) => s + p.memoryBytes, 0) / n.memoryBytes
  return Math.max(cpu, mem)
}

/** eligibility.go isNodeBelowUtilizationThreshold. */
const underutilized = (n: CaNode, thresholdPercent: number, cutoff = CUTOFF) => caUtilization(n, cutoff) < thresholdPercent / 100

/** The sizing before issue 24: each pause pod (100 - scaleUpThreshold)% of the average node. */
const before = (alloc: { allocatableCpuMilli: number; allocatableMemoryBytes: number }, up: number) => ({ cpuMilli: Math.floor(alloc.allocatableCpuMilli * (100 - up) / 100), memoryBytes: Math.floor(alloc.allocatableMemoryBytes * (100 - up) / 100 / 2 ** 20) * 2 ** 20 })

const NODE = { allocatableCpuMilli: 4000, allocatableMemoryBytes: 16 * GI }
const THRESHOLDS: [number, number][] = [[80, 20], [70, 30], [90, 10]]
const OTHER = [0, 2.5, 5, 10, 15, 25]

/** A node with the pause pod and other pods (DaemonSets and workloads) requesting `other`% of it. */
function nodeWith(pause: { cpuMilli: number; memoryBytes: number }, other: number, priority = PRIORITY_CLASS_VALUE): CaNode {
  return {
    cpuMilli: NODE.allocatableCpuMilli, memoryBytes: NODE.allocatableMemoryBytes,
    pods: [{ ...pause, priority }, { cpuMilli: NODE.allocatableCpuMilli * other / 100, memoryBytes: NODE.allocatableMemoryBytes * other / 100, priority: 0 }],
  }
}

function table(): string {
  const pct = (x: number) => `${Math.round(x * 1000) / 10}%`
  const lines = [
    `| scaleUp / scaleDown | pause pod per node, before → now | ${OTHER.map((o) => `other ${o}%`).join(' | ')} |`,
    `|---|---|${OTHER.map(() => '---').join('|')}|`,
  ]
  for (const [up, down] of THRESHOLDS) {
    const old = before(NODE, up)
    const h = headroom([NODE], up, down)
    const now = { cpuMilli: quantityToNumber(h.cpu) * 1000, memoryBytes: quantityToNumber(h.memory) }
    const cells = OTHER.map((o) => `${underutilized(nodeWith(old, o), down) ? 'yes' : 'no'} → ${underutilized(nodeWith(now, o), down) ? 'yes' : 'no'}`)
    lines.push(`| ${up} / ${down} | ${pct(old.cpuMilli / NODE.allocatableCpuMilli)} → ${pct(now.cpuMilli / NODE.allocatableCpuMilli)} | ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

t.test('the pause pods count for cluster-autoscaler (-10 is not below the default cutoff -10)', async (t) => {
  t.equal(PRIORITY_CLASS_VALUE, -10)
  t.notOk(isExpendable({ cpuMilli: 1, memoryBytes: 1, priority: PRIORITY_CLASS_VALUE }, CUTOFF), 'not expendable: they count, and pending ones trigger scale-up')
  t.ok(isExpendable({ cpuMilli: 1, memoryBytes: 1, priority: -11 }, CUTOFF), 'one below would be expendable: ignored by scale-down, but never a reason to scale up')
  t.notOk(isExpendable({ cpuMilli: 1, memoryBytes: 1, priority: null }, CUTOFF), 'no priority: never expendable')
})

t.test('a node that holds only its pause pod and its DaemonSets can be removed', async (t) => {
  for (const [up, down] of THRESHOLDS) {
    const h = headroom([NODE], up, down)
    const pause = { cpuMilli: quantityToNumber(h.cpu) * 1000, memoryBytes: quantityToNumber(h.memory) }
    t.ok(underutilized(nodeWith(pause, 2.5), down), `${up}/${down}: pause pod ${h.cpu} and DaemonSets of 2.5%: under the ${down}% threshold`)
    t.ok(caUtilization(nodeWith(pause, 0), CUTOFF) <= down / 200 + 1e-9, `${up}/${down}: the pause pod alone is at most half the threshold`)
  }
  const old = before(NODE, 80)
  t.notOk(underutilized(nodeWith(old, 0), 20), 'before: at 80/20 a node with nothing but its pause pod sat at 20%, never below: never removed')
})

t.test('the table in docs/autoscaling.md is this table', async (t) => {
  const readme = readFileSync(new URL('../../docs/autoscaling.md', import.meta.url), 'utf8')
  const want = table()
  t.ok(readme.includes(want), `docs/autoscaling.md must contain the table computed here:\n${want}`)
})
