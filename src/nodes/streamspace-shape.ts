// Our node views in the shapes StreamSpace's own admin Nodes page reads (ui/src/pages/admin/Nodes.tsx
// in streamspace-dev/streamspace: NodeInfo, ClusterStats): camelCase, status as a string, pods in
// capacity, percents as numbers. One TypeBox definition per shape (src/schemas/streamspace-compat.ts
// re-exports them for the routes); pure functions of the node, its NodeView and its latest usage,
// and StreamSpaceNodes over the node read model. No HTTP here.
import { Type, type Static } from 'typebox'
import type { V1Node } from '@kubernetes/client-node'
import type { NodeObject } from '../kube/types.js'
import type { NodeUsage } from '../kube/node-metrics.js'
import { canonicalQuantity, parseQuantity, quantityToNumber } from '../kube/quantity.js'
import { nodeNotFound } from '../errors.js'
import type { ClusterStats, NodeView } from './shapes.js'
import { createHash } from 'node:crypto'
import type { ListEncoding, NodeReadModel, PreparedList, WatchCaches } from './read-model.js'

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

const CompatTotals = Type.Object({
  cpu: Type.String({ description: 'Cores with one decimal, as StreamSpace\'s Go handler printed them ("80000.0")' }),
  memory: Type.String({ description: 'One decimal and the largest binary unit that fits, as StreamSpace\'s Go handler printed it ("311.7Ti")' }),
  pods: Type.Integer(),
})

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

/**
 * Go's fmt %.1f: the float64 correctly rounded to one decimal, an exact tie to the even digit.
 * JavaScript's toFixed breaks an exact tie upward (0.25 -> "0.3", Go prints "0.2"); a tie at one
 * decimal is a double ending in .25 or .75 exactly.
 */
export function goFixed1(x: number): string {
  if (Number.isInteger(x * 4) && !Number.isInteger(x * 2)) {
    const down = Math.floor(x * 10)
    const tenths = down % 2 === 0 ? down : down + 1
    return `${Math.floor(tenths / 10)}.${tenths % 10}`
  }
  return x.toFixed(1)
}

const NANO_PER_MILLI = 1_000_000n
const NANO_PER_UNIT = 1_000_000_000n
/** Rounded up, as resource.Quantity's MilliValue and Value do. */
const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b

/** StreamSpace's formatCPU (api/internal/handlers/nodes.go): fmt.Sprintf("%.1f", float64(q.MilliValue())/1000.0). */
export function goFormatCPU(quantity: string): string {
  return goFixed1(Number(ceilDiv(parseQuantity(quantity).nano, NANO_PER_MILLI)) / 1000)
}

const BINARY_UNITS: [string, number][] = [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]]

/** StreamSpace's formatMemory: q.Value() bytes with %.1f in the largest binary unit it reaches, else the bare byte count. */
export function goFormatMemory(quantity: string): string {
  const bytes = Number(ceilDiv(parseQuantity(quantity).nano, NANO_PER_UNIT))
  for (const [suffix, unit] of BINARY_UNITS) if (bytes >= unit) return `${goFixed1(bytes / unit)}${suffix}`
  return String(bytes)
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
    totalCapacity: { cpu: goFormatCPU(stats.total_capacity.cpu), memory: goFormatMemory(stats.total_capacity.memory), pods: pods('capacity') },
    totalAllocatable: { cpu: goFormatCPU(stats.total_allocatable.cpu), memory: goFormatMemory(stats.total_allocatable.memory), pods: pods('allocatable') },
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
  private listCache: { views: NodeView[]; list: PreparedList } | undefined

  constructor(private readonly reads: NodeReadModel, private readonly caches: Pick<WatchCaches, 'nodes' | 'usage'>) {}

  /** Throws unavailable before the caches synced; stale while they serve the last known state. */
  readable(): { stale: boolean } { return this.reads.readable() }

  private infoOf(node: NodeObject, view?: NodeView): CompatNodeInfo {
    const name = node.metadata?.name ?? ''
    return toNodeInfo(node, view ?? this.reads.viewOf(node), this.caches.usage(name))
  }

  /**
   * Every node as NodeInfo, as JSON bytes with their ETag, built once per read-model snapshot.
   * Its pooled memory is never handed back (holds stays at 1): the garbage collector frees it.
   */
  preparedList(): PreparedList {
    const views = this.reads.views()
    if (this.listCache?.views !== views) {
      const items: CompatNodeInfo[] = []
      for (const v of views) {
        const node = this.caches.nodes.get(v.name)
        if (node) items.push(toNodeInfo(node, v, this.caches.usage(v.name)))
      }
      const body = Buffer.from(JSON.stringify(items))
      const etag = `"${createHash('sha1').update(body).digest('base64url')}"`
      // Same bytes as before (a change nothing here shows): keep the list and its compressed forms.
      if (this.listCache?.list.etag === etag) this.listCache = { views, list: this.listCache.list }
      else this.listCache = { views, list: { body, etag, holds: 1 } }
    }
    return this.listCache.list
  }

  /** The list compressed, once per change of its bytes, off the event loop (as the P/nodes list). */
  encodedList(list: PreparedList, encoding: ListEncoding): Promise<Buffer> {
    return this.reads.encodedList(list, encoding)
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
