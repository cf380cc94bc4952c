// Our node views in the shapes StreamSpace's own admin Nodes page reads (ui/src/pages/admin/Nodes.tsx
// in streamspace-dev/streamspace: NodeInfo, ClusterStats): camelCase, status as a string, pods in
// capacity, percents as numbers. One TypeBox definition per shape (src/schemas/streamspace-compat.ts
// re-exports them for the routes); pure functions of the node, its NodeView and its latest usage,
// and StreamSpaceNodes over the node read model. No HTTP here.
import { Type, type Static } from 'typebox'
import type { V1Node } from '@kubernetes/client-node'
import type { NodeObject } from '../kube/types.js'
import type { NodeUsage } from '../kube/node-metrics.js'
import { canonicalQuantity, quantityToNumber } from '../kube/quantity.js'
import { nodeNotFound } from '../errors.js'
import type { ClusterStats, NodeView } from './shapes.js'
import type { NodeReadModel, WatchCaches } from './read-model.js'

const Quantity = Type.String({ description: 'Kubernetes quantity' })

export const CompatResources = Type.Object({
  cpu: Quantity,
  memory: Quantity,
  pods: Type.String({ description: 'Pod capacity, as the node reports it' }),
  'nvidia.com/gpu': Type.Optional(Quantity),
})

export const CompatUsage = Type.Object({
  cpu: Quantity,
  memory: Quantity,
  cpuPercent: Type.Number({ description: '% of allocatable (as kubectl top)' }),
  memoryPercent: Type.Number({ description: '% of allocatable (as kubectl top)' }),
})

export const CompatNodeInfo = Type.Object({
  name: Type.String(),
  labels: Type.Record(Type.String(), Type.String()),
  taints: Type.Array(Type.Object({ key: Type.String(), value: Type.String(), effect: Type.String() })),
  status: Type.Union([Type.Literal('Ready'), Type.Literal('NotReady'), Type.Literal('Unknown')]),
  capacity: CompatResources,
  allocatable: CompatResources,
  usage: Type.Optional(CompatUsage),
  info: Type.Object({
    osImage: Type.String(),
    kernelVersion: Type.String(),
    kubeletVersion: Type.String(),
    containerRuntime: Type.String(),
  }),
  conditions: Type.Array(Type.Object({ type: Type.String(), status: Type.String(), message: Type.String() })),
  pods: Type.Integer({ description: 'Non-terminated pods on the node' }),
  age: Type.String(),
  provider: Type.Optional(Type.String({ description: 'From spec.providerID (aws, gce, azure, ...)' })),
  region: Type.Optional(Type.String({ description: 'topology.kubernetes.io/region' })),
  zone: Type.Optional(Type.String({ description: 'topology.kubernetes.io/zone' })),
  unschedulable: Type.Boolean({ description: 'Not read by StreamSpace\'s page (it looks at taints); here for other clients' }),
  sessions: Type.Integer({ description: 'Running StreamSpace session pods (not read by StreamSpace\'s page)' }),
}, { $id: 'StreamSpaceNodeInfo', description: 'NodeInfo as StreamSpace\'s admin Nodes page reads it' })
export type CompatNodeInfo = Static<typeof CompatNodeInfo>

const CompatTotals = Type.Object({ cpu: Quantity, memory: Quantity, pods: Type.Integer() })

export const CompatClusterStats = Type.Object({
  totalNodes: Type.Integer(),
  readyNodes: Type.Integer(),
  notReadyNodes: Type.Integer(),
  totalCapacity: CompatTotals,
  totalAllocatable: CompatTotals,
  totalUsage: Type.Optional(CompatUsage),
}, { $id: 'StreamSpaceClusterStats', description: 'ClusterStats as StreamSpace\'s admin Nodes page reads it' })
export type CompatClusterStats = Static<typeof CompatClusterStats>

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
 *  cluster's node lifecycle controller adds node.kubernetes.io/unschedulable:NoSchedule a moment
 *  after a cordon and removes it a moment after an uncordon; the scheduler itself goes by
 *  spec.unschedulable. So this taint is shown exactly while spec.unschedulable is true: the page
 *  never offers to cordon a cordoned node, nor to uncordon one just uncordoned. */
function taintsOf(view: NodeView): CompatNodeInfo['taints'] {
  const taints = view.taints
    .filter((t) => view.unschedulable || t.key !== UNSCHEDULABLE)
    .map((t) => ({ key: t.key, value: t.value ?? '', effect: t.effect }))
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

/** StreamSpace's view of the nodes, over the same read model as the P routes. */
export class StreamSpaceNodes {
  private listCache: { views: NodeView[]; body: string } | undefined

  constructor(private readonly reads: NodeReadModel, private readonly caches: Pick<WatchCaches, 'nodes' | 'usage'>) {}

  /** Throws unavailable before the caches synced; stale while they serve the last known state. */
  readable(): { stale: boolean } { return this.reads.readable() }

  private infoOf(node: NodeObject, view?: NodeView): CompatNodeInfo {
    const name = node.metadata?.name ?? ''
    return toNodeInfo(node, view ?? this.reads.viewOf(node), this.caches.usage(name))
  }

  /** Every node as NodeInfo, as JSON text built once per read-model snapshot. */
  listJson(): string {
    const views = this.reads.views()
    if (this.listCache?.views !== views) {
      const items: CompatNodeInfo[] = []
      for (const v of views) {
        const node = this.caches.nodes.get(v.name)
        if (node) items.push(toNodeInfo(node, v, this.caches.usage(v.name)))
      }
      this.listCache = { views, body: JSON.stringify(items) }
    }
    return this.listCache.body
  }

  /** not_found for an unknown node. */
  info(name: string): CompatNodeInfo {
    const node = this.caches.nodes.get(name)
    if (!node) throw nodeNotFound(name)
    return this.infoOf(node)
  }

  /** A node as a write returned it. */
  infoOfChanged(node: V1Node): CompatNodeInfo {
    return this.infoOf(node as NodeObject)
  }

  stats(): CompatClusterStats {
    const nodes = [...this.caches.nodes.values()]
    return toClusterStats(this.reads.stats(), nodes, (n) => this.caches.usage(n))
  }
}
