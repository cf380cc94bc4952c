// AUTOSCALING_PROVIDER=cluster-api: acting through cluster-autoscaler, never beside it.
// - The selected MachineDeployments carry cluster-autoscaler's node-group annotations: min and max
//   size (minNodes and maxNodes shared out over the selected groups, so their sums are the
//   options) and the scale-down utilization threshold (scaleDownThreshold as a fraction). What was
//   there before we wrote is kept in RECORD and put back when we let go. spec.replicas is never
//   written: cluster-autoscaler owns it.
// - What we last wrote is kept in WRITTEN. An annotation whose value is no longer that has another
//   manager (a GitOps tool, a ClusterClass topology): it is left alone from then on, said in the
//   status, and not put back when we let go; so we write only when our own value changes, and never
//   fight another writer every interval.
// - scaleUpThreshold becomes headroom: an overprovisioning Deployment of pause pods under a
//   PriorityClass of value -10, one pod per schedulable node, each (100 - scaleUpThreshold)% of the
//   average node, capped at half of scaleDownThreshold. Real pods preempt them, the evicted pause
//   pods go Pending, and cluster-autoscaler adds a node before sessions wait. -10 is not below
//   cluster-autoscaler's default --expendable-pods-priority-cutoff (-10; IsExpendablePod is
//   priority < cutoff), so pending pause pods trigger scale-up, and they count in its scale-down
//   utilization too: the cap keeps a node holding one pause pod under the threshold (at 80/20 an
//   uncapped 20% pod pinned every node). docs/autoscaling.md: "Overprovisioning and cluster-autoscaler".
// - Disabled (enableAutoScaling false), the leader removes the Deployment and PriorityClass and
//   puts the annotations back as they were.
import { Waker, type Clock } from '../clock.js'
import { matches, parseSelector, type Requirement } from '../kube/selector.js'
import { canonicalQuantity } from '../kube/quantity.js'
import type { MachineDeploymentRef } from '../kube/cluster-api.js'
import type { Log } from '../shared/log.js'

export const CA_MIN_SIZE = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size'
export const CA_MAX_SIZE = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size'
export const CA_SCALE_DOWN_THRESHOLD = 'cluster.x-k8s.io/autoscaling-options-scaledownutilizationthreshold'
/** JSON {annotation: the value before we wrote it, or null}: which annotations are ours to put back. */
export const RECORD = 'streamspace.io/autoscaling-previous-annotations'
/** JSON {annotation: the value we last wrote}: one that differs now has been taken over by another manager. */
export const WRITTEN = 'streamspace.io/autoscaling-written-annotations'
export const PRIORITY_CLASS_VALUE = -10

/** A MachineDeployment as the kube layer reads it: what a node group is to cluster-autoscaler here. */
export type NodeGroup = MachineDeploymentRef

export interface GroupOptions { minNodes: number; maxNodes: number; scaleDownThreshold: number }

/** `total` shared out over `count` groups, the first ones getting one more: the i-th share. */
export function share(total: number, count: number, i: number): number {
  return Math.floor(total / count) + (i < total % count ? 1 : 0)
}

/** The cluster-autoscaler annotations each selected group should carry, in the groups' order. */
export function groupAnnotations(count: number, o: GroupOptions): Record<string, string>[] {
  const threshold = String(Math.round(o.scaleDownThreshold * 100) / 10000)
  return Array.from({ length: count }, (_, i) => ({
    [CA_MIN_SIZE]: String(share(o.minNodes, count, i)),
    [CA_MAX_SIZE]: String(share(o.maxNodes, count, i)),
    [CA_SCALE_DOWN_THRESHOLD]: threshold,
  }))
}

function readJson(annotations: Record<string, string>, key: string): Record<string, string | null> | undefined {
  const raw = annotations[key]
  if (raw === undefined) return undefined
  try {
    const v = JSON.parse(raw) as unknown
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, string | null>
  } catch { /* not ours to read: treated as empty */ }
  return {}
}

const sortedJson = (o: Record<string, string | null>) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))))

/** What we last wrote. A group annotated by a version that kept no WRITTEN: its recorded keys' values now are taken as ours. */
function writtenOf(annotations: Record<string, string>): Record<string, string | null> {
  const written = readJson(annotations, WRITTEN)
  if (written) return { ...written }
  return Object.fromEntries(Object.keys(readJson(annotations, RECORD) ?? {}).filter((k) => annotations[k] !== undefined).map((k) => [k, annotations[k]!]))
}

/** The annotations among `keys` another manager has taken over: their value is not the one we last wrote. */
export function managedElsewhere(annotations: Record<string, string>, keys: string[]): string[] {
  const written = writtenOf(annotations)
  return keys.filter((k) => k in written && annotations[k] !== written[k])
}

/**
 * The merge patch that gives a group the wanted annotations (remembering what was there and what
 * we wrote), or undefined. Annotations managed elsewhere are left as they are.
 */
export function applyPatch(annotations: Record<string, string>, wanted: Record<string, string>): Record<string, string | null> | undefined {
  const record = { ...(readJson(annotations, RECORD) ?? {}) }
  const written = writtenOf(annotations)
  const elsewhere = managedElsewhere(annotations, Object.keys(wanted))
  const patch: Record<string, string | null> = {}
  for (const [key, value] of Object.entries(wanted)) {
    if (elsewhere.includes(key)) continue
    if (!(key in record)) record[key] = annotations[key] ?? null
    if (annotations[key] !== value) patch[key] = value
    written[key] = value
  }
  if (annotations[RECORD] !== sortedJson(record)) patch[RECORD] = sortedJson(record)
  if (annotations[WRITTEN] !== sortedJson(written)) patch[WRITTEN] = sortedJson(written)
  return Object.keys(patch).length ? patch : undefined
}

/** The merge patch that puts back what was there before we wrote (not what another manager set since), or undefined when we never wrote. */
export function releasePatch(annotations: Record<string, string>): Record<string, string | null> | undefined {
  const record = readJson(annotations, RECORD)
  if (record === undefined) return undefined
  const elsewhere = managedElsewhere(annotations, Object.keys(record))
  const patch: Record<string, string | null> = {}
  for (const [key, previous] of Object.entries(record)) if (!elsewhere.includes(key)) patch[key] = previous
  patch[RECORD] = null
  if (annotations[WRITTEN] !== undefined) patch[WRITTEN] = null
  return patch
}

export interface NodeCapacity { allocatableCpuMilli: number; allocatableMemoryBytes: number }
export interface Headroom { replicas: number; cpu: string; memory: string }

const MI = 1024 * 1024

/** The share of a node each pause pod requests, in percent: the headroom, at most half the scale-down threshold. */
export function pausePercent(scaleUpThreshold: number, scaleDownThreshold: number): number {
  return Math.max(0, Math.min(100 - scaleUpThreshold, scaleDownThreshold / 2))
}

/** The overprovisioning pods: one per node, each pausePercent of the average node. */
export function headroom(nodes: NodeCapacity[], scaleUpThreshold: number, scaleDownThreshold: number): Headroom {
  const fraction = pausePercent(scaleUpThreshold, scaleDownThreshold) / 100
  if (!nodes.length || fraction === 0) return { replicas: 0, cpu: '0', memory: '0' }
  const cpu = nodes.reduce((s, n) => s + n.allocatableCpuMilli, 0) / nodes.length
  const memory = nodes.reduce((s, n) => s + n.allocatableMemoryBytes, 0) / nodes.length
  return { replicas: nodes.length, cpu: `${Math.floor(cpu * fraction)}m`, memory: `${Math.floor(memory * fraction / MI)}Mi` }
}

export interface OverprovisioningNow { replicas: number; cpu: string; memory: string; priorityClassName: string; ours: boolean }

/** The Kubernetes calls the provider makes (src/kube/cluster-api.ts behind them). */
export interface ClusterApiOps {
  listGroups(): Promise<NodeGroup[]>
  patchGroup(group: NodeGroup, annotations: Record<string, string | null>): Promise<void>
  ensurePriorityClass(): Promise<boolean>
  deletePriorityClass(): Promise<boolean>
  readOverprovisioning(): Promise<OverprovisioningNow | undefined>
  applyOverprovisioning(size: Headroom, exists: boolean): Promise<void>
  deleteOverprovisioning(): Promise<boolean>
  priorityClassName: string
}

export interface ClusterApiOptions extends GroupOptions { enabled: boolean; scaleUpThreshold: number }

export interface ClusterApiDeps {
  ops: ClusterApiOps
  clock: Clock
  /** Label selector of the MachineDeployments to manage. */
  selector: string
  options(): ClusterApiOptions
  /** Ready, schedulable nodes, for the headroom. */
  nodes(): NodeCapacity[]
  /** While enabled, how often everything is checked again (node count, someone's edits). */
  intervalMs(): number
  /** Fencing: checked before each write (false once leadership may have passed). Default always. */
  stillLeading?(): boolean
  log: Log
}

export interface ClusterApiState {
  enabled: boolean
  selector: string
  last_sync: string | null
  error: string | null
  machine_deployments: { namespace: string; name: string; replicas: number | null; min_size: number; max_size: number; scale_down_utilization_threshold: number; managed_elsewhere: string[] }[]
  overprovisioning: { namespace?: string; replicas: number; cpu: string; memory: string; priority_class: string; percent_of_node: number } | null
}

export class ClusterApiProvider {
  private leading = false
  private abort = new AbortController()
  private loop: Promise<void> | undefined
  private readonly kicks = new Waker()
  private readonly requirements: Requirement[]
  /** Passes made so far (tests wait on it). */
  passes = 0
  /** Per group, the annotations last found managed elsewhere (to log each change once). */
  private readonly elsewhere = new Map<string, string[]>()
  state: ClusterApiState

  constructor(private readonly deps: ClusterApiDeps) {
    this.requirements = parseSelector(deps.selector)
    this.state = { enabled: false, selector: deps.selector, last_sync: null, error: null, machine_deployments: [], overprovisioning: null }
  }

  /** The options changed (PUT P/config): a pass at once. */
  kick(): void {
    this.kicks.wake()
  }

  startLeading(): void {
    if (this.leading) return
    this.leading = true
    this.abort = new AbortController()
    this.loop = this.run(this.abort.signal)
  }

  async stopLeading(): Promise<void> {
    if (!this.leading) return
    this.leading = false
    this.abort.abort()
    await this.loop
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.deps
    while (!signal.aborted) {
      this.kicks.take()
      const enabled = this.deps.options().enabled
      try {
        if (enabled) await this.apply()
        else await this.release()
        this.state.error = null
      } catch (err) {
        this.state.error = err instanceof Error ? err.message : String(err)
        this.deps.log.warn({ err }, enabled ? 'cluster-api autoscaling: could not bring the node groups and overprovisioning in step; retrying' : 'cluster-api autoscaling: could not remove what it made; retrying')
      }
      this.state.enabled = enabled
      this.state.last_sync = new Date(clock.now()).toISOString()
      this.passes++
      // Enabled, or a failed release: again after the interval. Released: only on the next change.
      await this.kicks.sleep(clock, enabled || this.state.error ? this.deps.intervalMs() : Infinity, signal)
    }
  }

  /** Before a write: no longer (surely) leading, no write; the pass fails and the loop is being stopped. */
  private fence(): void {
    if (!(this.deps.stillLeading?.() ?? true)) throw new Error('leadership may have passed: not writing')
  }

  private async apply(): Promise<void> {
    const { ops, log } = this.deps
    const o = this.deps.options()
    const all = await ops.listGroups()
    const selected = all.filter((g) => matches(this.requirements, g.labels))
    const wanted = groupAnnotations(selected.length, o)
    const groups: ClusterApiState['machine_deployments'] = []
    for (const [i, g] of selected.entries()) {
      const elsewhere = managedElsewhere(g.annotations, Object.keys(wanted[i]))
      const key = `${g.namespace}/${g.name}`
      if (elsewhere.join() !== (this.elsewhere.get(key) ?? []).join()) {
        if (elsewhere.length) log.warn({ machineDeployment: key, annotations: Object.fromEntries(elsewhere.map((k) => [k, g.annotations[k] ?? null])) }, 'cluster-api autoscaling: annotations changed by another manager (GitOps, ClusterClass): left alone')
        this.elsewhere.set(key, elsewhere)
      }
      const patch = applyPatch(g.annotations, wanted[i])
      if (patch) {
        this.fence()
        await ops.patchGroup(g, patch)
        log.info({ machineDeployment: key, annotations: wanted[i] }, 'cluster-api autoscaling: node group annotations set')
      }
      const now = (k: string) => Number(elsewhere.includes(k) ? g.annotations[k] : wanted[i][k])
      groups.push({ namespace: g.namespace, name: g.name, replicas: g.replicas ?? null, min_size: now(CA_MIN_SIZE), max_size: now(CA_MAX_SIZE), scale_down_utilization_threshold: now(CA_SCALE_DOWN_THRESHOLD), managed_elsewhere: elsewhere })
    }
    // A group that no longer matches the selector gets its annotations back.
    await this.putBack(all.filter((g) => !selected.includes(g)), 'cluster-api autoscaling: node group no longer selected: annotations put back')
    this.state.machine_deployments = groups
    this.fence()
    if (await ops.ensurePriorityClass()) log.info({ priorityClass: ops.priorityClassName }, 'cluster-api autoscaling: overprovisioning PriorityClass created')
    const size = headroom(this.deps.nodes(), o.scaleUpThreshold, o.scaleDownThreshold)
    const now = await ops.readOverprovisioning()
    if (now && !now.ours) throw new Error('the overprovisioning Deployment exists and is not managed by streamspace-node-manager: left alone')
    if (!now || now.replicas !== size.replicas || canonicalQuantity(now.cpu) !== canonicalQuantity(size.cpu) || canonicalQuantity(now.memory) !== canonicalQuantity(size.memory) || now.priorityClassName !== ops.priorityClassName) {
      this.fence()
      await ops.applyOverprovisioning(size, !!now)
      log.info({ ...size }, 'cluster-api autoscaling: overprovisioning Deployment sized')
    }
    this.state.overprovisioning = { ...size, priority_class: ops.priorityClassName, percent_of_node: pausePercent(o.scaleUpThreshold, o.scaleDownThreshold) }
  }

  private async release(): Promise<void> {
    const { ops, log } = this.deps
    await this.putBack(await ops.listGroups(), 'cluster-api autoscaling off: node group annotations put back')
    this.fence()
    if (await ops.deleteOverprovisioning()) log.info({}, 'cluster-api autoscaling off: overprovisioning Deployment deleted')
    if (await ops.deletePriorityClass()) log.info({}, 'cluster-api autoscaling off: overprovisioning PriorityClass deleted')
    this.state.machine_deployments = []
    this.state.overprovisioning = null
  }

  /** Gives each group back the annotations it had before we set ours (groups without ours: nothing). */
  private async putBack(groups: NodeGroup[], msg: string): Promise<void> {
    for (const g of groups) {
      const patch = releasePatch(g.annotations)
      if (!patch) continue
      this.fence()
      await this.deps.ops.patchGroup(g, patch)
      this.deps.log.info({ machineDeployment: `${g.namespace}/${g.name}` }, msg)
    }
  }
}
