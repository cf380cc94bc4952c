// From Kubernetes objects to what admins see: NodeView, NodeDetail, ClusterStats. Pure functions
// of their inputs (node, the pods on it, its latest usage, the time), so tests need no cluster.
import type { NodeObject, SlimPod } from '../kube/types.js'
import type { NodeUsage } from '../kube/node-metrics.js'
import { canonicalQuantity, formatQuantity, parseQuantity, quantityToNumber, type Quantity } from '../kube/quantity.js'
import { humanDuration } from './age.js'
import type { ClusterStats, NodeDetail, NodeView } from './shapes.js'
import { CORDON_REASON, CORDONED_AT, CORDONED_BY } from '../kube/node-patches.js'

export interface NodeFacts {
  pods: Iterable<SlimPod>
  usage: NodeUsage | undefined
  now: number
}

const iso = (t: string | Date | undefined): string => (t === undefined ? '' : t instanceof Date ? t.toISOString() : new Date(t).toISOString())

export function readiness(node: NodeObject): NodeView['status'] {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')
  if (ready?.status === 'True') return { ready: true, phase: 'Ready' }
  if (ready?.status === 'False') return { ready: false, phase: 'NotReady' }
  return { ready: false, phase: 'Unknown' }
}

/** As kubectl's ROLES column: node-role.kubernetes.io/<role> and kubernetes.io/role=<role>. */
export function roles(labels: Record<string, string> | undefined): string[] {
  const out = new Set<string>()
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length)
      if (role) out.add(role)
    } else if (k === 'kubernetes.io/role' && v) out.add(v)
  }
  return [...out].sort()
}

export function isTerminated(pod: SlimPod): boolean {
  return pod.phase === 'Succeeded' || pod.phase === 'Failed'
}

/** A session counts on a node while its pod runs there. */
export function isRunningSession(pod: SlimPod): boolean {
  return pod.session && pod.phase === 'Running' && !pod.terminating
}

function resources(r: Record<string, string> | undefined): NodeView['capacity'] {
  return { cpu: canonicalQuantity(r?.cpu ?? '0'), memory: canonicalQuantity(r?.memory ?? '0') }
}

const round1 = (x: number) => Math.round(x * 10) / 10

/** Percent of allocatable, as kubectl top node computes it. */
export function usagePercent(usage: NodeUsage | undefined, allocatable: Record<string, string> | undefined): NodeView['usage'] {
  return usage ? usageOfAllocatable(usage, quantityToNumber(allocatable?.cpu), quantityToNumber(allocatable?.memory)) : null
}

/** usagePercent with allocatable already parsed (cores, bytes). */
export function usageOfAllocatable(usage: NodeUsage | undefined, cores: number, bytes: number): NodeView['usage'] {
  if (!usage) return null
  return {
    cpu_percent: cores > 0 ? round1((usage.cpuCores / cores) * 100) : 0,
    memory_percent: bytes > 0 ? round1((usage.memoryBytes / bytes) * 100) : 0,
  }
}

/**
 * Who cordoned the node, why and when, from the annotations a cordon through this service writes;
 * null when the node is schedulable. A node cordoned by someone else (kubectl cordon) has no
 * record: by and reason are null (unknown), and at falls back to when the node lifecycle
 * controller added its node.kubernetes.io/unschedulable taint, if it has.
 */
export function cordonOf(node: NodeObject): NodeView['cordon'] {
  if (node.spec?.unschedulable !== true) return null
  const a = node.metadata?.annotations ?? {}
  const taint = node.spec.taints?.find((t) => t.key === 'node.kubernetes.io/unschedulable')
  const at = a[CORDONED_AT] ?? (taint?.timeAdded ? iso(taint.timeAdded).replace(/\.\d{3}Z$/, 'Z') : null)
  return { by: a[CORDONED_BY] ?? null, reason: a[CORDON_REASON] ?? null, at }
}

export function nodeView(node: NodeObject, facts: NodeFacts): NodeView {
  let pods = 0
  let sessions = 0
  for (const p of facts.pods) {
    if (!isTerminated(p)) pods++
    if (isRunningSession(p)) sessions++
  }
  const meta = node.metadata ?? {}
  const created = meta.creationTimestamp
  return {
    name: meta.name ?? '',
    labels: meta.labels ?? {},
    taints: (node.spec?.taints ?? []).map((t) => (t.value === undefined || t.value === null ? { key: t.key, effect: t.effect } : { key: t.key, value: t.value, effect: t.effect })),
    status: readiness(node),
    capacity: resources(node.status?.capacity),
    allocatable: resources(node.status?.allocatable),
    usage: usagePercent(facts.usage, node.status?.allocatable),
    pods,
    age: created === undefined ? '<unknown>' : humanDuration(facts.now - new Date(created).getTime()),
    unschedulable: node.spec?.unschedulable === true,
    cordon: cordonOf(node),
    sessions,
    roles: roles(meta.labels),
    created_at: iso(created),
  }
}

export function nodeDetail(node: NodeObject, facts: NodeFacts): NodeDetail {
  const pods = [...facts.pods]
  const view = nodeView(node, { ...facts, pods })
  const active = pods.filter((p) => !isTerminated(p))
  const cpuMilli = active.reduce((s, p) => s + p.cpuRequestMilli, 0)
  const memory = active.reduce((s, p) => s + p.memoryRequestBytes, 0)
  return {
    ...view,
    annotations: node.metadata?.annotations ?? {},
    conditions: (node.status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      ...(c.reason ? { reason: c.reason } : {}),
      ...(c.message ? { message: c.message } : {}),
      ...(c.lastTransitionTime ? { last_transition_time: iso(c.lastTransitionTime) } : {}),
    })),
    addresses: (node.status?.addresses ?? []).map((a) => ({ type: a.type, address: a.address })),
    node_info: { ...(node.status?.nodeInfo ?? {}) },
    allocated: {
      cpu: formatQuantity({ nano: BigInt(Math.round(cpuMilli)) * 1_000_000n, format: 'DecimalSI' }),
      memory: formatQuantity({ nano: BigInt(Math.round(memory)) * 1_000_000_000n, format: 'BinarySI' }),
    },
    pod_list: pods
      .map((p) => ({ namespace: p.namespace, name: p.name, phase: p.phase, session: p.session, terminating: p.terminating }))
      .sort((a, b) => (a.namespace + '/' + a.name).localeCompare(b.namespace + '/' + b.name)),
  }
}

/** What one node adds to the cluster's totals: its quantities parsed once, when its view is made. */
export interface NodeTotals {
  ready: boolean
  schedulable: boolean
  pods: number
  sessions: number
  capacityCpu?: Quantity
  capacityMemory?: Quantity
  allocatableCpu?: Quantity
  allocatableMemory?: Quantity
  /** Allocatable as floats (cores, bytes), for the usage percentage. */
  allocatableCores: number
  allocatableBytes: number
}

const quantity = (text: string | undefined): Quantity | undefined => (text === undefined ? undefined : parseQuantity(text))

export function nodeTotals(node: NodeObject, view: NodeView): NodeTotals {
  const capacity = node.status?.capacity
  const allocatable = node.status?.allocatable
  const allocatableCpu = quantity(allocatable?.cpu)
  const allocatableMemory = quantity(allocatable?.memory)
  return {
    ready: view.status.ready,
    schedulable: view.status.ready && !view.unschedulable,
    pods: view.pods,
    sessions: view.sessions,
    capacityCpu: quantity(capacity?.cpu),
    capacityMemory: quantity(capacity?.memory),
    allocatableCpu,
    allocatableMemory,
    allocatableCores: allocatableCpu ? Number(allocatableCpu.nano) / 1e9 : 0,
    allocatableBytes: allocatableMemory ? Number(allocatableMemory.nano) / 1e9 : 0,
  }
}

/**
 * The cluster's totals (ClusterStats before formatting), kept up to date view by view: a node's
 * old contribution taken out and its new one added when its view changes. Quantities are summed
 * exactly (BigInt nano-units, as sumQuantities); usage as floats.
 */
export class ClusterTotals {
  nodes = 0
  ready = 0
  schedulable = 0
  pods = 0
  sessions = 0
  capacityCpu = 0n
  capacityMemory = 0n
  allocatableCpu = 0n
  allocatableMemory = 0n
  /** Nodes with a usage sample, what they use, and their allocatable (the usage percentages' base). */
  withUsage = 0
  usedCpu = 0
  usedMemory = 0
  usageAllocatableCpu = 0
  usageAllocatableMemory = 0

  copy(): ClusterTotals {
    return Object.assign(new ClusterTotals(), this)
  }

  /** Adds (sign 1) or takes out (sign -1) one node's contribution. */
  add(t: NodeTotals, usage: NodeUsage | undefined, sign: 1 | -1): void {
    const big = (q: Quantity | undefined) => (q ? (sign === 1 ? q.nano : -q.nano) : 0n)
    this.nodes += sign
    if (t.ready) this.ready += sign
    if (t.schedulable) this.schedulable += sign
    this.pods += sign * t.pods
    this.sessions += sign * t.sessions
    this.capacityCpu += big(t.capacityCpu)
    this.capacityMemory += big(t.capacityMemory)
    this.allocatableCpu += big(t.allocatableCpu)
    this.allocatableMemory += big(t.allocatableMemory)
    this.addUsage(t, usage, sign)
  }

  /** One node's contribution changed from `was` to `is`; only its usage when its totals are the same (a metrics poll). */
  replace(was: { totals: NodeTotals; usage: NodeUsage | undefined }, is: { totals: NodeTotals; usage: NodeUsage | undefined }): void {
    if (was.totals !== is.totals) {
      this.add(was.totals, was.usage, -1)
      this.add(is.totals, is.usage, 1)
    } else if (was.usage !== is.usage) {
      this.addUsage(was.totals, was.usage, -1)
      this.addUsage(is.totals, is.usage, 1)
    }
  }

  private addUsage(t: NodeTotals, usage: NodeUsage | undefined, sign: 1 | -1): void {
    if (!usage) return
    this.withUsage += sign
    this.usedCpu += sign * usage.cpuCores
    this.usedMemory += sign * usage.memoryBytes
    this.usageAllocatableCpu += sign * t.allocatableCores
    this.usageAllocatableMemory += sign * t.allocatableBytes
  }
}

export interface StatsInput {
  totals: ClusterTotals
  /** The nodes' totals in name order: each sum is formatted as its first quantity is (as Kubernetes' Add keeps the receiver's). */
  nodes: readonly { totals: NodeTotals }[]
  stale: boolean
  staleSince: number | undefined
}

/** The format of the first node's quantity (by name) that is set: as sumQuantities, in the first one's format. */
function formatOfFirst(nodes: readonly { totals: NodeTotals }[], pick: (t: NodeTotals) => Quantity | undefined, nano: bigint): string {
  for (const n of nodes) {
    const q = pick(n.totals)
    if (q) return formatQuantity({ nano, format: q.format })
  }
  return '0'
}

export function clusterStats(input: StatsInput): ClusterStats {
  const { totals: t, nodes } = input
  return {
    total_nodes: t.nodes,
    ready_nodes: t.ready,
    not_ready_nodes: t.nodes - t.ready,
    total_capacity: {
      cpu: formatOfFirst(nodes, (n) => n.capacityCpu, t.capacityCpu),
      memory: formatOfFirst(nodes, (n) => n.capacityMemory, t.capacityMemory),
    },
    total_allocatable: {
      cpu: formatOfFirst(nodes, (n) => n.allocatableCpu, t.allocatableCpu),
      memory: formatOfFirst(nodes, (n) => n.allocatableMemory, t.allocatableMemory),
    },
    schedulable_nodes: t.schedulable,
    total_pods: t.pods,
    total_sessions: t.sessions,
    usage: t.withUsage === 0 ? null : {
      cpu_percent: t.usageAllocatableCpu > 0 ? round1((t.usedCpu / t.usageAllocatableCpu) * 100) : 0,
      memory_percent: t.usageAllocatableMemory > 0 ? round1((t.usedMemory / t.usageAllocatableMemory) * 100) : 0,
    },
    stale: input.stale,
    stale_since: input.staleSince === undefined ? null : new Date(input.staleSince).toISOString(),
  }
}
