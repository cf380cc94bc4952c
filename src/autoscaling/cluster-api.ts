// AUTOSCALING_PROVIDER=cluster-api: acting through cluster-autoscaler, never beside it.
// - The selected MachineDeployments carry cluster-autoscaler's node-group annotations: min and max
//   size (minNodes and maxNodes shared out over the selected groups, so their sums are the
//   options) and the scale-down utilization threshold (scaleDownThreshold as a fraction). What was
//   there before we wrote is kept in RECORD and put back when we let go. spec.replicas is never
//   written: cluster-autoscaler owns it.
// - scaleUpThreshold becomes headroom: an overprovisioning Deployment of pause pods under a
//   PriorityClass of value -10, together requesting (100 - scaleUpThreshold)% of the schedulable
//   nodes' allocatable (one pod per node, each the average node's share). Real pods preempt them,
//   the evicted pause pods go Pending, and cluster-autoscaler adds a node before sessions wait.
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

function readRecord(annotations: Record<string, string>): Record<string, string | null> | undefined {
  const raw = annotations[RECORD]
  if (raw === undefined) return undefined
  try {
    const v = JSON.parse(raw) as unknown
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, string | null>
  } catch { /* not ours to read: treated as empty */ }
  return {}
}

const sortedJson = (o: Record<string, string | null>) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))))

/** The merge patch that gives a group the wanted annotations (remembering what was there), or undefined. */
export function applyPatch(annotations: Record<string, string>, wanted: Record<string, string>): Record<string, string | null> | undefined {
  const record = { ...(readRecord(annotations) ?? {}) }
  const patch: Record<string, string | null> = {}
  for (const [key, value] of Object.entries(wanted)) {
    if (!(key in record)) record[key] = annotations[key] ?? null
    if (annotations[key] !== value) patch[key] = value
  }
  const json = sortedJson(record)
  if (annotations[RECORD] !== json) patch[RECORD] = json
  return Object.keys(patch).length ? patch : undefined
}

/** The merge patch that puts back what was there before we wrote, or undefined when we never wrote. */
export function releasePatch(annotations: Record<string, string>): Record<string, string | null> | undefined {
  const record = readRecord(annotations)
  if (record === undefined) return undefined
  const patch: Record<string, string | null> = {}
  for (const [key, previous] of Object.entries(record)) patch[key] = previous
  patch[RECORD] = null
  return patch
}

export interface NodeCapacity { allocatableCpuMilli: number; allocatableMemoryBytes: number }
export interface Headroom { replicas: number; cpu: string; memory: string }

const MI = 1024 * 1024

/** The overprovisioning pods: one per node, each (100 - scaleUpThreshold)% of the average node. */
export function headroom(nodes: NodeCapacity[], scaleUpThreshold: number): Headroom {
  const fraction = Math.max(0, 100 - scaleUpThreshold) / 100
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
  log: Log
}

export interface ClusterApiState {
  enabled: boolean
  selector: string
  last_sync: string | null
  error: string | null
  machine_deployments: { namespace: string; name: string; replicas: number | null; min_size: number; max_size: number; scale_down_utilization_threshold: number }[]
  overprovisioning: { namespace?: string; replicas: number; cpu: string; memory: string; priority_class: string } | null
}

export class ClusterApiProvider {
  private leading = false
  private abort = new AbortController()
  private loop: Promise<void> | undefined
  private readonly kicks = new Waker()
  private readonly requirements: Requirement[]
  /** Passes made so far (tests wait on it). */
  passes = 0
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

  private async apply(): Promise<void> {
    const { ops, log } = this.deps
    const o = this.deps.options()
    const all = await ops.listGroups()
    const selected = all.filter((g) => matches(this.requirements, g.labels))
    const wanted = groupAnnotations(selected.length, o)
    const groups: ClusterApiState['machine_deployments'] = []
    for (const [i, g] of selected.entries()) {
      const patch = applyPatch(g.annotations, wanted[i])
      if (patch) {
        await ops.patchGroup(g, patch)
        log.info({ machineDeployment: `${g.namespace}/${g.name}`, annotations: wanted[i] }, 'cluster-api autoscaling: node group annotations set')
      }
      groups.push({ namespace: g.namespace, name: g.name, replicas: g.replicas ?? null, min_size: Number(wanted[i][CA_MIN_SIZE]), max_size: Number(wanted[i][CA_MAX_SIZE]), scale_down_utilization_threshold: Number(wanted[i][CA_SCALE_DOWN_THRESHOLD]) })
    }
    // A group that no longer matches the selector gets its annotations back.
    await this.putBack(all.filter((g) => !selected.includes(g)), 'cluster-api autoscaling: node group no longer selected: annotations put back')
    this.state.machine_deployments = groups
    if (await ops.ensurePriorityClass()) log.info({ priorityClass: ops.priorityClassName }, 'cluster-api autoscaling: overprovisioning PriorityClass created')
    const size = headroom(this.deps.nodes(), o.scaleUpThreshold)
    const now = await ops.readOverprovisioning()
    if (now && !now.ours) throw new Error('the overprovisioning Deployment exists and is not managed by streamspace-node-manager: left alone')
    if (!now || now.replicas !== size.replicas || canonicalQuantity(now.cpu) !== canonicalQuantity(size.cpu) || canonicalQuantity(now.memory) !== canonicalQuantity(size.memory) || now.priorityClassName !== ops.priorityClassName) {
      await ops.applyOverprovisioning(size, !!now)
      log.info({ ...size }, 'cluster-api autoscaling: overprovisioning Deployment sized')
    }
    this.state.overprovisioning = { ...size, priority_class: ops.priorityClassName }
  }

  private async release(): Promise<void> {
    const { ops, log } = this.deps
    await this.putBack(await ops.listGroups(), 'cluster-api autoscaling off: node group annotations put back')
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
      await this.deps.ops.patchGroup(g, patch)
      this.deps.log.info({ machineDeployment: `${g.namespace}/${g.name}` }, msg)
    }
  }
}
