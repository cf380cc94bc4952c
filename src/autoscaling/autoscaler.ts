// Autoscaling recommendations (DESIGN.md "Autoscaling and node selection"). Utilization as
// cluster-autoscaler computes it: per node, the sum of what its pods request over allocatable, the
// larger of CPU and memory (DaemonSet and mirror pods count: they are pods on the node); the cluster
// figure weights nodes by allocatable. Actual usage (metrics.k8s.io) is shown beside it when known.
// A raw recommendation must hold for its stabilization window before it becomes the recommendation,
// so a single spike never flips it. Knows nothing of Fastify or the cluster: collaborators passed in.
//
// Only the leader holds a stabilized recommendation, and only while it leads: startLeading() begins
// with no pending recommendation (a gap in leadership restarts the window: what happened while
// another replica led was not watched here), stopLeading() forgets the current one (a follower
// must not show it as if it were still true). A follower answers preview(): the same figures from
// its own caches, not held through the windows, marked as such.
import type { Clock } from '../clock.js'
import type { NodeFacts } from '../selection/fit.js'

export type Action = 'scale_up' | 'scale_down' | 'none'

export interface NodeUtilization {
  name: string
  cpu_percent: number
  memory_percent: number
  /** max(cpu, memory), as cluster-autoscaler's scale-down utilization. */
  utilization_percent: number
  usage_cpu_percent: number | null
  usage_memory_percent: number | null
}

export interface ClusterUtilization {
  nodes: number
  cpu_percent: number
  memory_percent: number
  utilization_percent: number
  usage_cpu_percent: number | null
  usage_memory_percent: number | null
  per_node: NodeUtilization[]
}

export interface Thresholds { scale_up: number; scale_down: number; min_nodes: number; max_nodes: number }

export interface Recommendation {
  action: Action
  current_nodes: number
  desired_nodes: number
  reason: string
  /** ISO time this recommendation took effect. */
  since: string
}

/** A follower's view: computed now from its own caches, not held through the windows. */
export interface Preview extends Recommendation { stabilized: false }

export interface HistoryEntry extends Recommendation { utilization_percent: number }

/** Actual usage of a node, when metrics.k8s.io answers. */
export interface Usage { cpuMilli: number; memoryBytes: number }

const round1 = (x: number) => Math.round(x * 10) / 10
const pct = (a: number, b: number) => (b > 0 ? (100 * a) / b : 0)

/** Utilization of the Ready nodes (what cluster-autoscaler counts); usage per node may be missing. */
export function utilization(nodes: NodeFacts[], usage: (name: string) => Usage | undefined = () => undefined): ClusterUtilization {
  const ready = nodes.filter((n) => n.ready)
  let allocCpu = 0, allocMem = 0, reqCpu = 0, reqMem = 0, useCpu = 0, useMem = 0, usageKnown = ready.length > 0
  const perNode: NodeUtilization[] = []
  for (const n of ready) {
    const cpu = pct(n.requestedCpuMilli, n.allocatableCpuMilli)
    const mem = pct(n.requestedMemoryBytes, n.allocatableMemoryBytes)
    const u = usage(n.name)
    if (!u) usageKnown = false
    else { useCpu += u.cpuMilli; useMem += u.memoryBytes }
    allocCpu += n.allocatableCpuMilli; allocMem += n.allocatableMemoryBytes
    reqCpu += n.requestedCpuMilli; reqMem += n.requestedMemoryBytes
    perNode.push({
      name: n.name, cpu_percent: round1(cpu), memory_percent: round1(mem), utilization_percent: round1(Math.max(cpu, mem)),
      usage_cpu_percent: u ? round1(pct(u.cpuMilli, n.allocatableCpuMilli)) : null,
      usage_memory_percent: u ? round1(pct(u.memoryBytes, n.allocatableMemoryBytes)) : null,
    })
  }
  // Weighted by allocatable: each node's max(cpu, memory) counts by its share of the cluster's CPU and memory, averaged.
  let weighted = 0, weights = 0
  for (const n of ready) {
    const w = (allocCpu > 0 ? n.allocatableCpuMilli / allocCpu : 0) + (allocMem > 0 ? n.allocatableMemoryBytes / allocMem : 0)
    weighted += Math.max(pct(n.requestedCpuMilli, n.allocatableCpuMilli), pct(n.requestedMemoryBytes, n.allocatableMemoryBytes)) * w
    weights += w
  }
  return {
    nodes: ready.length,
    cpu_percent: round1(pct(reqCpu, allocCpu)),
    memory_percent: round1(pct(reqMem, allocMem)),
    utilization_percent: round1(weights > 0 ? weighted / weights : 0),
    usage_cpu_percent: usageKnown ? round1(pct(useCpu, allocCpu)) : null,
    usage_memory_percent: usageKnown ? round1(pct(useMem, allocMem)) : null,
    per_node: perNode,
  }
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x))

/** What the figures say now, before stabilization. */
export function rawRecommendation(u: ClusterUtilization, t: Thresholds): { action: Action; desired: number; reason: string } {
  const n = u.nodes
  const util = u.utilization_percent
  if (n < t.min_nodes) return { action: 'scale_up', desired: t.min_nodes, reason: `${n} Ready nodes, below minNodes ${t.min_nodes}` }
  if (n > t.max_nodes) return { action: 'scale_down', desired: t.max_nodes, reason: `${n} Ready nodes, above maxNodes ${t.max_nodes}` }
  if (util > t.scale_up) {
    // Enough nodes to bring utilization under the scale-up threshold, at least one more.
    const want = Math.max(n + 1, Math.ceil((n * util) / t.scale_up))
    const desired = clamp(want, t.min_nodes, t.max_nodes)
    if (desired <= n) return { action: 'none', desired: n, reason: `utilization ${util}% is above scaleUpThreshold ${t.scale_up}%, but the cluster is at maxNodes ${t.max_nodes}` }
    return { action: 'scale_up', desired, reason: `utilization ${util}% is above scaleUpThreshold ${t.scale_up}%${desired < want ? ` (${want} wanted, capped at maxNodes ${t.max_nodes})` : ''}` }
  }
  if (util < t.scale_down) {
    const desired = clamp(n - 1, t.min_nodes, t.max_nodes)
    if (desired >= n) return { action: 'none', desired: n, reason: `utilization ${util}% is below scaleDownThreshold ${t.scale_down}%, but the cluster is at minNodes ${t.min_nodes}` }
    return { action: 'scale_down', desired, reason: `utilization ${util}% is below scaleDownThreshold ${t.scale_down}%` }
  }
  return { action: 'none', desired: n, reason: `utilization ${util}% is between scaleDownThreshold ${t.scale_down}% and scaleUpThreshold ${t.scale_up}%` }
}

export interface AutoscalerOptions {
  clock: Clock
  /** The nodes' facts now (from the watch caches). */
  nodes: () => NodeFacts[]
  usage?: (name: string) => Usage | undefined
  thresholds: () => Thresholds
  intervalMs: () => number
  scaleUpWindowMs: () => number
  scaleDownWindowMs: () => number
  /** Called when the recommendation changes (metrics, an Event, a log line). */
  onChange?: (next: Recommendation, previous: Recommendation | undefined, u: ClusterUtilization) => void
  historySize?: number
  /** Whether the loop may evaluate now (e.g. the caches have synced); default always. */
  active?: () => boolean
}

export class Autoscaler {
  private current: Recommendation | undefined
  private lastUtil: ClusterUtilization | undefined
  private pending: { action: Action; since: number } | undefined
  private readonly history: HistoryEntry[] = []
  private abort: AbortController | undefined
  private loop: Promise<void> | undefined

  constructor(private readonly opts: AutoscalerOptions) {}

  get recommendation(): Recommendation | undefined { return this.current }
  get lastUtilization(): ClusterUtilization | undefined { return this.lastUtil }
  /** Decision changes, newest first. */
  get changes(): HistoryEntry[] { return [...this.history].reverse() }
  get running(): boolean { return this.loop !== undefined }
  /** The last scale_up or scale_down recommended. */
  get lastAction(): Recommendation | undefined {
    for (let i = this.history.length - 1; i >= 0; i--) if (this.history[i]!.action !== 'none') { const { utilization_percent: _u, ...r } = this.history[i]!; return r }
    return undefined
  }

  /** One evaluation: returns the (stabilized) recommendation. */
  evaluate(): Recommendation {
    const now = this.opts.clock.now()
    const u = utilization(this.opts.nodes(), this.opts.usage)
    this.lastUtil = u
    const raw = rawRecommendation(u, this.opts.thresholds())
    if (this.pending?.action !== raw.action) this.pending = { action: raw.action, since: now }
    const window = raw.action === 'scale_up' ? this.opts.scaleUpWindowMs() : raw.action === 'scale_down' ? this.opts.scaleDownWindowMs() : 0
    const held = now - this.pending.since >= window
    const prev = this.current
    let next: Recommendation
    if (held) {
      next = { action: raw.action, current_nodes: u.nodes, desired_nodes: raw.desired, reason: raw.reason, since: new Date(prev?.action === raw.action ? Date.parse(prev.since) : now).toISOString() }
    } else {
      // Not held long enough: say none (waiting) rather than act on a spike, or keep acting on a load that went.
      next = {
        action: 'none', current_nodes: u.nodes, desired_nodes: u.nodes,
        reason: `${raw.reason}; waiting ${Math.ceil((window - (now - this.pending.since)) / 1000)} s more before recommending ${raw.action}`,
        since: new Date(prev?.action === 'none' ? Date.parse(prev.since) : now).toISOString(),
      }
    }
    this.current = next
    if (!prev || prev.action !== next.action || prev.desired_nodes !== next.desired_nodes) {
      this.history.push({ ...next, utilization_percent: u.utilization_percent })
      while (this.history.length > (this.opts.historySize ?? 50)) this.history.shift()
      this.opts.onChange?.(next, prev, u)
    }
    return next
  }

  /** What the figures say now, not held through the windows (a follower's answer); changes nothing. */
  preview(): { recommendation: Preview; utilization: ClusterUtilization } {
    const u = utilization(this.opts.nodes(), this.opts.usage)
    const raw = rawRecommendation(u, this.opts.thresholds())
    return { utilization: u, recommendation: { action: raw.action, current_nodes: u.nodes, desired_nodes: raw.desired, reason: raw.reason, since: new Date(this.opts.clock.now()).toISOString(), stabilized: false } }
  }

  /** This replica leads (its caches synced): evaluate every interval, the windows starting afresh. */
  startLeading(): void {
    if (this.loop) return
    this.pending = undefined
    this.current = undefined
    const abort = new AbortController()
    this.abort = abort
    this.loop = (async () => {
      while (!abort.signal.aborted) {
        try { if (this.opts.active?.() ?? true) this.evaluate() } catch { /* a cache not synced yet: next interval */ }
        await this.opts.clock.sleep(this.opts.intervalMs(), abort.signal)
      }
    })()
  }

  /** Leadership ended (or the service stops): the loop ends and nothing pending or current is kept. */
  async stopLeading(): Promise<void> {
    this.abort?.abort()
    await this.loop
    this.loop = undefined
    this.abort = undefined
    this.pending = undefined
    this.current = undefined
  }
}
