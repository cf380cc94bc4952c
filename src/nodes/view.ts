// From Kubernetes objects to what admins see: NodeView, NodeDetail, ClusterStats. Pure functions
// of their inputs (node, the pods on it, its latest usage, the time), so tests need no cluster.
import type { NodeObject, SlimPod } from '../kube/types.js'
import type { NodeUsage } from '../kube/node-metrics.js'
import { canonicalQuantity, formatQuantity, quantityToNumber, sumQuantities } from '../kube/quantity.js'
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
  if (!usage) return null
  const cpu = quantityToNumber(allocatable?.cpu)
  const memory = quantityToNumber(allocatable?.memory)
  return {
    cpu_percent: cpu > 0 ? round1((usage.cpuCores / cpu) * 100) : 0,
    memory_percent: memory > 0 ? round1((usage.memoryBytes / memory) * 100) : 0,
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

export interface StatsInput {
  nodes: NodeObject[]
  views: NodeView[]
  usage: (name: string) => NodeUsage | undefined
  stale: boolean
  staleSince: number | undefined
}

export function clusterStats(input: StatsInput): ClusterStats {
  const { nodes, views } = input
  let usedCpu = 0, usedMemory = 0, allocCpu = 0, allocMemory = 0, withMetrics = 0
  for (const node of nodes) {
    const u = input.usage(node.metadata?.name ?? '')
    if (!u) continue
    withMetrics++
    usedCpu += u.cpuCores
    usedMemory += u.memoryBytes
    allocCpu += quantityToNumber(node.status?.allocatable?.cpu)
    allocMemory += quantityToNumber(node.status?.allocatable?.memory)
  }
  const ready = views.filter((v) => v.status.ready).length
  return {
    total_nodes: views.length,
    ready_nodes: ready,
    not_ready_nodes: views.length - ready,
    total_capacity: {
      cpu: sumQuantities(nodes.map((n) => n.status?.capacity?.cpu)),
      memory: sumQuantities(nodes.map((n) => n.status?.capacity?.memory)),
    },
    total_allocatable: {
      cpu: sumQuantities(nodes.map((n) => n.status?.allocatable?.cpu)),
      memory: sumQuantities(nodes.map((n) => n.status?.allocatable?.memory)),
    },
    schedulable_nodes: views.filter((v) => v.status.ready && !v.unschedulable).length,
    total_pods: views.reduce((s, v) => s + v.pods, 0),
    total_sessions: views.reduce((s, v) => s + v.sessions, 0),
    usage: withMetrics === 0 ? null : {
      cpu_percent: allocCpu > 0 ? round1((usedCpu / allocCpu) * 100) : 0,
      memory_percent: allocMemory > 0 ? round1((usedMemory / allocMemory) * 100) : 0,
    },
    stale: input.stale,
    stale_since: input.staleSince === undefined ? null : new Date(input.staleSince).toISOString(),
  }
}
