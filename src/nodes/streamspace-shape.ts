// Our node views in the shapes StreamSpace's own admin Nodes page reads (NodeInfo, ClusterStats):
// pure functions of the node object, its NodeView and its latest usage. No HTTP here.
import type { NodeObject } from '../kube/types.js'
import type { NodeUsage } from '../kube/node-metrics.js'
import { canonicalQuantity, quantityToNumber } from '../kube/quantity.js'
import type { ClusterStats, NodeView } from '../schemas/node.js'
import type { CompatClusterStats, CompatNodeInfo } from '../schemas/streamspace-compat.js'

const GPU = 'nvidia.com/gpu'

function resources(raw: Record<string, string> | undefined, view: { cpu: string; memory: string }): CompatNodeInfo['capacity'] {
  const out: CompatNodeInfo['capacity'] = { cpu: view.cpu, memory: view.memory, pods: canonicalQuantity(raw?.pods ?? '0') }
  if (raw?.[GPU] !== undefined) out[GPU] = canonicalQuantity(raw[GPU])
  return out
}

/** "aws:///us-east-1a/i-0abc" -> "aws"; "gce://project/zone/name" -> "gce"; kind's "kind://docker/..." -> "kind". */
export function providerOf(providerID: string | undefined): string | undefined {
  const m = providerID ? /^([a-z0-9-]+):\/\//i.exec(providerID) : null
  return m ? m[1] : undefined
}

/** As kubectl top shows usage: CPU in millicores, memory in Mi. */
const cpuText = (cores: number) => `${Math.round(cores * 1000)}m`
const memoryText = (bytes: number) => `${Math.round(bytes / 2 ** 20)}Mi`

export function usageOf(view: Pick<NodeView, 'usage'>, usage: NodeUsage | undefined): CompatNodeInfo['usage'] {
  if (!usage || !view.usage) return undefined
  return { cpu: cpuText(usage.cpuCores), memory: memoryText(usage.memoryBytes), cpuPercent: view.usage.cpu_percent, memoryPercent: view.usage.memory_percent }
}

const UNSCHEDULABLE = 'node.kubernetes.io/unschedulable'

/** StreamSpace's page calls a node schedulable when it has no NoSchedule/NoExecute taint. A real
 *  cluster's node lifecycle controller adds node.kubernetes.io/unschedulable:NoSchedule to a cordoned
 *  node a moment after the cordon; until it has (or where it never does) we show that taint, so the
 *  page never offers to cordon a cordoned node. */
function taintsOf(view: NodeView): CompatNodeInfo['taints'] {
  const taints = view.taints.map((t) => ({ key: t.key, value: t.value ?? '', effect: t.effect }))
  if (view.unschedulable && !taints.some((t) => t.key === UNSCHEDULABLE && t.effect === 'NoSchedule')) taints.push({ key: UNSCHEDULABLE, value: '', effect: 'NoSchedule' })
  return taints
}

export function toNodeInfo(node: NodeObject, view: NodeView, usage: NodeUsage | undefined): CompatNodeInfo {
  const labels = view.labels
  const ni = node.status?.nodeInfo ?? {}
  const info: CompatNodeInfo = {
    name: view.name,
    labels,
    taints: taintsOf(view),
    status: view.status.phase,
    capacity: resources(node.status?.capacity, view.capacity),
    allocatable: resources(node.status?.allocatable, view.allocatable),
    info: {
      osImage: ni.osImage ?? '',
      kernelVersion: ni.kernelVersion ?? '',
      kubeletVersion: ni.kubeletVersion ?? '',
      containerRuntime: ni.containerRuntimeVersion ?? '',
    },
    conditions: (node.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, message: c.message ?? '' })),
    pods: view.pods,
    age: view.age,
    unschedulable: view.unschedulable,
    sessions: view.sessions,
  }
  const u = usageOf(view, usage)
  if (u) info.usage = u
  const provider = providerOf(node.spec?.providerID)
  if (provider) info.provider = provider
  const region = labels['topology.kubernetes.io/region'] ?? labels['failure-domain.beta.kubernetes.io/region']
  if (region) info.region = region
  const zone = labels['topology.kubernetes.io/zone'] ?? labels['failure-domain.beta.kubernetes.io/zone']
  if (zone) info.zone = zone
  return info
}

export function toClusterStats(stats: ClusterStats, nodes: NodeObject[], usage: (name: string) => NodeUsage | undefined): CompatClusterStats {
  const pods = (which: 'capacity' | 'allocatable') => nodes.reduce((s, n) => s + Math.floor(quantityToNumber(n.status?.[which]?.pods)), 0)
  const out: CompatClusterStats = {
    totalNodes: stats.total_nodes,
    readyNodes: stats.ready_nodes,
    notReadyNodes: stats.not_ready_nodes,
    totalCapacity: { ...stats.total_capacity, pods: pods('capacity') },
    totalAllocatable: { ...stats.total_allocatable, pods: pods('allocatable') },
  }
  if (stats.usage) {
    const samples = nodes.map((n) => usage(n.metadata?.name ?? '')).filter((u): u is NodeUsage => u !== undefined)
    out.totalUsage = {
      cpu: cpuText(samples.reduce((s, u) => s + u.cpuCores, 0)),
      memory: memoryText(samples.reduce((s, u) => s + u.memoryBytes, 0)),
      cpuPercent: stats.usage.cpu_percent,
      memoryPercent: stats.usage.memory_percent,
    }
  }
  return out
}
