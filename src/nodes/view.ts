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

export interface StatsInput {
  /** Every node by name, with its totals. */
  nodes: readonly { name: string; totals: NodeTotals }[]
  usage: (name: string) => NodeUsage | undefined
  stale: boolean
  staleSince: number | undefined
}

/** Sum of quantities, exact, in the first one's format (as Kubernetes' Add keeps the receiver's). */
class QuantitySum {
  private total: Quantity | undefined
  add(q: Quantity | undefined): void {
    if (q) this.total = this.total ? { nano: this.total.nano + q.nano, format: this.total.format } : q
  }
  toString(): string { return this.total ? formatQuantity(this.total) : '0' }
}

export function clusterStats(input: StatsInput): ClusterStats {
  let usedCpu = 0, usedMemory = 0, allocCpu = 0, allocMemory = 0, withMetrics = 0
  let ready = 0, schedulable = 0, pods = 0, sessions = 0
  const capacityCpu = new QuantitySum(), capacityMemory = new QuantitySum(), allocatableCpu = new QuantitySum(), allocatableMemory = new QuantitySum()
  for (const { name, totals: t } of input.nodes) {
    if (t.ready) ready++
    if (t.schedulable) schedulable++
    pods += t.pods
    sessions += t.sessions
    capacityCpu.add(t.capacityCpu)
    capacityMemory.add(t.capacityMemory)
    allocatableCpu.add(t.allocatableCpu)
    allocatableMemory.add(t.allocatableMemory)
    const u = input.usage(name)
    if (!u) continue
    withMetrics++
    usedCpu += u.cpuCores
    usedMemory += u.memoryBytes
    allocCpu += t.allocatableCores
    allocMemory += t.allocatableBytes
  }
  const total = input.nodes.length
  return {
    total_nodes: total,
    ready_nodes: ready,
    not_ready_nodes: total - ready,
    total_capacity: { cpu: capacityCpu.toString(), memory: capacityMemory.toString() },
    total_allocatable: { cpu: allocatableCpu.toString(), memory: allocatableMemory.toString() },
    schedulable_nodes: schedulable,
    total_pods: pods,
    total_sessions: sessions,
    usage: withMetrics === 0 ? null : {
      cpu_percent: allocCpu > 0 ? round1((usedCpu / allocCpu) * 100) : 0,
      memory_percent: allocMemory > 0 ? round1((usedMemory / allocMemory) * 100) : 0,
    },
    stale: input.stale,
    stale_since: input.staleSince === undefined ? null : new Date(input.staleSince).toISOString(),
  }
}
