// Whether pods fit on nodes, as kube-scheduler's basic filters decide it, and what it says when
// nothing fits. Filters in the scheduler's order, each node failing at the first that refuses it:
// NodeUnschedulable ("node(s) were unschedulable"), TaintToleration (NoSchedule/NoExecute taints;
// "node(s) had untolerated taint {key: value}"), NodeAffinity for nodeSelector ("node(s) didn't
// match Pod's node affinity/selector"), NodeResourcesFit ("Too many pods", "Insufficient cpu",
// "Insufficient memory": allocatable minus what non-terminated pods on the node already request).
// A node that is not Ready fails on the taint the node lifecycle controller puts on it
// (node.kubernetes.io/not-ready, or unreachable when Unknown), as the scheduler reports it; a
// NotReady node is never eligible here, even when the request tolerates that taint.
//
// Pure functions over plain facts: the caller passes nodes and their pods (from the watch cache).
import type { NodeObject, SlimPod, Toleration } from '../kube/types.js'
import { parseQuantity } from '../kube/quantity.js'
import { toleratesTaint } from '../nodes/changes.js'
import { isTerminated, readiness } from '../nodes/view.js'

export const NOT_READY_TAINT = 'node.kubernetes.io/not-ready'
export const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable'
export const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable'

export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable'
export const REASON_SELECTOR = "node(s) didn't match Pod's node affinity/selector"
export const REASON_TOO_MANY_PODS = 'Too many pods'
export const REASON_CPU = 'Insufficient cpu'
export const REASON_MEMORY = 'Insufficient memory'
export const untoleratedTaintReason = (t: { key: string; value?: string }) => `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`

export interface NodeTaint { key: string; value?: string; effect: string }

/** What the filters need of one node, with what is already requested on it. Read only: FactsIndex shares them between readers. */
export interface NodeFacts {
  name: string
  labels: Record<string, string>
  ready: boolean
  phase: 'Ready' | 'NotReady' | 'Unknown'
  unschedulable: boolean
  /** NoSchedule and NoExecute taints, plus the lifecycle controller's taint on a node that is not Ready. */
  taints: NodeTaint[]
  allocatableCpuMilli: number
  allocatableMemoryBytes: number
  allocatablePods: number
  requestedCpuMilli: number
  requestedMemoryBytes: number
  /** Non-terminated pods on the node. */
  pods: number
  /**
   * StreamSpace session pods bound to the node and not finished nor being deleted: Pending ones
   * too, so a burst of logins whose images are still pulling does not pile onto one node.
   */
  sessions: number
}

/** What a pod (or a session about to be made) asks for. */
export interface PodRequest {
  /** For reports: e.g. "streamspace/session-1". */
  name?: string
  cpuMilli: number
  memoryBytes: number
  nodeSelector?: Record<string, string>
  tolerations?: Toleration[]
}

/** Millicores, rounded up as the scheduler's MilliValue does ("100u" asks for 1m). */
export function cpuMilli(quantity: string | undefined): number {
  if (!quantity) return 0
  const nano = parseQuantity(quantity).nano
  return Number((nano + 999_999n) / 1_000_000n)
}

/** Bytes, rounded up as Quantity.Value does. */
export function memoryBytes(quantity: string | undefined): number {
  if (!quantity) return 0
  const nano = parseQuantity(quantity).nano
  return Number((nano + 999_999_999n) / 1_000_000_000n)
}

const SCHEDULING_EFFECTS = new Set(['NoSchedule', 'NoExecute'])

/** The facts of one node from the node object and the pods the cache has on it. */
export function nodeFacts(node: NodeObject, pods: Iterable<SlimPod>): NodeFacts {
  const status = readiness(node)
  const taints: NodeTaint[] = (node.spec?.taints ?? [])
    .filter((t) => SCHEDULING_EFFECTS.has(t.effect))
    .map((t) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: t.effect }))
  // A cluster without a node lifecycle controller (or before it acts) has no taint yet: the
  // scheduler would still see one within seconds, so the node is refused as if it had it.
  if (!status.ready) {
    const key = status.phase === 'Unknown' ? UNREACHABLE_TAINT : NOT_READY_TAINT
    if (!taints.some((t) => t.key === key && t.effect === 'NoSchedule')) taints.unshift({ key, effect: 'NoSchedule' })
  }
  let requestedCpuMilli = 0, requestedMemoryBytes = 0, count = 0, sessions = 0
  for (const p of pods) {
    if (isTerminated(p)) continue
    if (p.session && !p.terminating) sessions++
    count++
    // Already as NodeResourcesFit counts a pod (src/kube/slim.ts podRequests), whole units.
    requestedCpuMilli += p.cpuRequestMilli
    requestedMemoryBytes += p.memoryRequestBytes
  }
  const alloc = node.status?.allocatable ?? {}
  return {
    name: node.metadata?.name ?? '',
    labels: { ...(node.metadata?.labels ?? {}) },
    ready: status.ready,
    phase: status.phase,
    unschedulable: node.spec?.unschedulable === true,
    taints,
    allocatableCpuMilli: cpuMilli(alloc.cpu),
    allocatableMemoryBytes: memoryBytes(alloc.memory),
    allocatablePods: alloc.pods === undefined ? Number.MAX_SAFE_INTEGER : Number(parseQuantity(alloc.pods).nano / 1_000_000_000n),
    requestedCpuMilli,
    requestedMemoryBytes,
    pods: count,
    sessions,
  }
}

export const freeCpuMilli = (n: NodeFacts) => n.allocatableCpuMilli - n.requestedCpuMilli
export const freeMemoryBytes = (n: NodeFacts) => n.allocatableMemoryBytes - n.requestedMemoryBytes

function tolerated(tolerations: Toleration[] | undefined, taint: NodeTaint): boolean {
  return (tolerations ?? []).some((t) => toleratesTaint(t, taint))
}

/**
 * Why the scheduler would not place `pod` on `node`, in its words: empty when it fits. A node
 * fails at the first filter that refuses it; NodeResourcesFit may give several reasons at once.
 */
export function unfitReasons(node: NodeFacts, pod: PodRequest): string[] {
  // A node that is not Ready: refused on the lifecycle controller's taint, whatever is tolerated.
  if (!node.ready) return [untoleratedTaintReason(node.taints.find((t) => t.key === NOT_READY_TAINT || t.key === UNREACHABLE_TAINT)!)]
  if (node.unschedulable && !tolerated(pod.tolerations, { key: UNSCHEDULABLE_TAINT, effect: 'NoSchedule' })) return [REASON_UNSCHEDULABLE]
  const taint = node.taints.find((t) => !tolerated(pod.tolerations, t))
  if (taint) return [untoleratedTaintReason(taint)]
  // for-in, not Object.entries: this runs for every node at each selection (65,000 arrays).
  for (const k in pod.nodeSelector) if (node.labels[k] !== pod.nodeSelector[k]) return [REASON_SELECTOR]
  const tooMany = node.pods + 1 > node.allocatablePods
  const cpu = pod.cpuMilli > 0 && pod.cpuMilli > freeCpuMilli(node)
  const memory = pod.memoryBytes > 0 && pod.memoryBytes > freeMemoryBytes(node)
  if (!tooMany && !cpu && !memory) return NO_REASONS
  const reasons: string[] = []
  if (tooMany) reasons.push(REASON_TOO_MANY_PODS)
  if (cpu) reasons.push(REASON_CPU)
  if (memory) reasons.push(REASON_MEMORY)
  return reasons
}

/** A fitting node's reasons, shared (frozen: no caller may add to it). */
const NO_REASONS: string[] = Object.freeze([]) as unknown as string[]

export interface NodeVerdict { name: string; reasons: string[] }

/**
 * kube-scheduler's FitError text: "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had
 * untolerated taint {dedicated: gpu}." Each reason counted once per node, the "<count> <reason>"
 * strings sorted as Go's sort.Strings sorts them (so by count first), joined by ", ".
 */
export function unavailableSummary(total: number, verdicts: readonly NodeVerdict[]): string {
  const histogram = new Map<string, number>()
  for (const v of verdicts) for (const r of new Set(v.reasons)) histogram.set(r, (histogram.get(r) ?? 0) + 1)
  const parts = [...histogram].map(([reason, n]) => `${n} ${reason}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return `0/${total} nodes are available${parts.length ? ': ' + parts.join(', ') : ''}.`
}

/** Splits nodes into those where the pod fits and those where it does not (with why). */
export function filterNodes(nodes: readonly NodeFacts[], pod: PodRequest): { eligible: NodeFacts[]; refused: NodeVerdict[] } {
  const eligible: NodeFacts[] = []
  const refused: NodeVerdict[] = []
  for (const n of nodes) {
    const reasons = unfitReasons(n, pod)
    if (reasons.length) refused.push({ name: n.name, reasons })
    else eligible.push(n)
  }
  return { eligible, refused }
}

/**
 * Share of allocatable left free after placing `pod`, CPU and memory averaged (0..1), as the
 * scheduler's LeastAllocated score: more is emptier. A resource the node does not offer counts 0.
 */
export function freeShareAfter(node: NodeFacts, pod: Pick<PodRequest, 'cpuMilli' | 'memoryBytes'> = NO_REQUEST): number {
  return (shareLeft(freeCpuMilli(node) - pod.cpuMilli, node.allocatableCpuMilli) + shareLeft(freeMemoryBytes(node) - pod.memoryBytes, node.allocatableMemoryBytes)) / 2
}

const NO_REQUEST = { cpuMilli: 0, memoryBytes: 0 }
// Out here, not a closure inside freeShareAfter: a selection calls it twice a comparison over 65,000 nodes.
const shareLeft = (free: number, alloc: number) => (alloc > 0 ? Math.max(0, free) / alloc : 0)

export interface Placement { pod: PodRequest; node: string }
export interface Unplaced { pod: PodRequest; summary: string; nodes: NodeVerdict[] }
export interface FitResult {
  placements: Placement[]
  unplaced: Unplaced[]
  /** The nodes after the placements: what is requested on each, and their pod counts. */
  nodes: NodeFacts[]
}

export interface FitOptions {
  /** Order to place in: as given, or the largest requests first (fewer false refusals). Default largest-first. */
  order?: 'given' | 'largest-first'
}

/** Among the nodes `pod` fits on, the emptiest after placing it (LeastAllocated), then by name; undefined when none. */
function emptiest(nodes: readonly NodeFacts[], pod: PodRequest): NodeFacts | undefined {
  let best: NodeFacts | undefined
  let bestScore = -1
  for (const n of nodes) {
    if (unfitReasons(n, pod).length) continue
    const s = freeShareAfter(n, pod)
    if (s > bestScore || (s === bestScore && n.name < best!.name)) { best = n; bestScore = s }
  }
  return best
}

/**
 * Places pods on nodes one after another, each taking what it requests from the node it lands on,
 * e.g. to see whether a node's pods would fit on the other nodes before draining it. The nodes
 * given are not changed: a node is copied the first time a pod lands on it (they may be shared,
 * FactsIndex). Reports where each pod went, and for each pod that found no room the
 * scheduler-style summary against the nodes as they were at that point.
 */
export function fitPods(pods: readonly PodRequest[], nodes: readonly NodeFacts[], opts: FitOptions = {}): FitResult {
  const state = [...nodes]
  const copies = new Set<NodeFacts>()
  const order = opts.order ?? 'largest-first'
  let totalCpu = 0, totalMemory = 0
  for (const n of state) { totalCpu += n.allocatableCpuMilli; totalMemory += n.allocatableMemoryBytes }
  // A pod's size: its larger share of the cluster's CPU or memory.
  const size = (p: PodRequest) => Math.max(totalCpu > 0 ? p.cpuMilli / totalCpu : 0, totalMemory > 0 ? p.memoryBytes / totalMemory : 0)
  const queue = order === 'given' ? [...pods] : [...pods].sort((a, b) => size(b) - size(a))
  const placements: Placement[] = []
  const unplaced: Unplaced[] = []
  for (const pod of queue) {
    let node = emptiest(state, pod)
    if (!node) {
      const { refused } = filterNodes(state, pod)
      unplaced.push({ pod, summary: unavailableSummary(state.length, refused), nodes: refused })
      continue
    }
    if (!copies.has(node)) {
      const copy = { ...node }
      state[state.indexOf(node)] = copy
      copies.add(copy)
      node = copy
    }
    node.requestedCpuMilli += pod.cpuMilli
    node.requestedMemoryBytes += pod.memoryBytes
    node.pods++
    placements.push({ pod, node: node.name })
  }
  return { placements, unplaced, nodes: state }
}
