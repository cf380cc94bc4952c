// The cluster as Prometheus series, computed at scrape time from the watch cache (no gauge is
// updated when the cluster changes): per-node series labelled `node`, and cluster totals.
// Each node's inputs are kept while they are the same: the node object as last watched (objects
// in the cache are replaced, never mutated), its latest usage sample, and the sums over its pods.
// Lines are rendered per family in blocks of nodes and kept only as the block's bytes: a scrape
// re-renders only the blocks with a changed node, and copies the rest. (Keeping each node's lines
// as strings cost ~24 MB at 5,000 nodes: template strings stay trees of their parts.)
import type { NodeObject, SlimPod } from '../kube/types.js'
import type { NodeUsage } from '../kube/node-metrics.js'
import { quantityToNumber } from '../kube/quantity.js'
import type { PerNodeMode } from '../config.js'
import { isRunningSession, isTerminated, readiness } from './view.js'

/** What the series are computed from: the read model's nodes, the pods on each, its usage. */
export interface NodeSeriesSource {
  nodes(): Iterable<NodeObject>
  podsOnNode(name: string): Iterable<SlimPod>
  /** Changes whenever the pods on the node change: without it the pods are summed at every scrape. */
  podsVersionOf?(name: string): number
  usage(name: string): NodeUsage | undefined
}

export const METRIC_PREFIX = 'streamspace_node_manager_'

/**
 * Kubernetes' tested envelope. Above it the per-node series are most of a scrape (116 MB at
 * 65,000 nodes, ~2 s), and Prometheus pays a series per node and family (~9 per node).
 */
export const PER_NODE_AUTO_LIMIT = 5000

export function perNodeSeriesOn(mode: PerNodeMode, nodeCount: number): boolean {
  return mode === 'on' || (mode === 'auto' && nodeCount <= PER_NODE_AUTO_LIMIT)
}

type Type = 'gauge' | 'counter'
interface Family { name: string; type: Type; help: string }

const fam = (name: string, help: string, type: Type = 'gauge'): Family => ({ name: METRIC_PREFIX + name, type, help })

/** Per-node families, in the order their lines are kept per node. */
export const NODE_FAMILIES = [
  fam('node_ready', 'Whether the node\'s Ready condition is True (1) or False/Unknown (0)'),
  fam('node_unschedulable', 'Whether the node is cordoned (spec.unschedulable)'),
  fam('node_cpu_usage_ratio', 'CPU in use (metrics.k8s.io) over allocatable CPU, 0-1; absent without a usage sample'),
  fam('node_memory_usage_ratio', 'Memory in use (metrics.k8s.io working set) over allocatable memory, 0-1; absent without a usage sample'),
  fam('node_cpu_requested_ratio', 'Sum of CPU requests of the non-terminated pods on the node over allocatable CPU (as the scheduler counts)'),
  fam('node_memory_requested_ratio', 'Sum of memory requests of the non-terminated pods on the node over allocatable memory'),
  fam('node_pods', 'Non-terminated pods bound to the node'),
  fam('node_sessions', 'Running StreamSpace session pods on the node'),
  fam('node_condition', 'The node\'s conditions as kube-state-metrics has them: 1 for the status the condition has (true, false, unknown), else 0'),
] as const

/** Cluster totals, after the per-node families. */
export const CLUSTER_FAMILIES = [
  fam('nodes', 'Nodes by Ready condition (Ready, NotReady, Unknown)'),
  fam('nodes_unschedulable', 'Cordoned nodes'),
  fam('pods', 'Non-terminated pods bound to nodes'),
  fam('sessions', 'Running StreamSpace session pods'),
  fam('cluster_cpu_capacity_cores', 'Sum of the nodes\' CPU capacity'),
  fam('cluster_memory_capacity_bytes', 'Sum of the nodes\' memory capacity'),
  fam('cluster_cpu_allocatable_cores', 'Sum of the nodes\' allocatable CPU'),
  fam('cluster_memory_allocatable_bytes', 'Sum of the nodes\' allocatable memory'),
  fam('cluster_cpu_requested_cores', 'Sum of CPU requests of the non-terminated pods bound to nodes'),
  fam('cluster_memory_requested_bytes', 'Sum of memory requests of the non-terminated pods bound to nodes'),
  fam('cluster_cpu_usage_cores', 'CPU in use on the nodes that have a usage sample (metrics.k8s.io); absent without any'),
  fam('cluster_memory_usage_bytes', 'Memory in use on the nodes that have a usage sample (metrics.k8s.io); absent without any'),
] as const

const PHASES = ['Ready', 'NotReady', 'Unknown'] as const

/** Label value escaping of the text exposition format. */
export function escapeLabel(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v
}

/** Node quantities repeat across a cluster ("15890m", "64Gi"): parse each text once. */
const quantities = new Map<string, number>()
function quantity(text: string | undefined): number {
  if (text === undefined) return 0
  let n = quantities.get(text)
  if (n === undefined) {
    if (quantities.size >= 10_000) quantities.clear()
    quantities.set(text, (n = quantityToNumber(text)))
  }
  return n
}

const num = (x: number): string => (Number.isFinite(x) ? String(x) : Number.isNaN(x) ? 'NaN' : x > 0 ? '+Inf' : '-Inf')

interface Sums { pods: number; sessions: number; cpuMilli: number; memory: number }

/** What one node's lines are rendered from. */
interface Entry {
  node: NodeObject
  usage: NodeUsage | undefined
  sums: Sums
  /** source.podsVersionOf when the sums were made. */
  podsVersion: number | undefined
  phase: (typeof PHASES)[number]
  unschedulable: boolean
  capCpu: number
  capMemory: number
  allocCpu: number
  allocMemory: number
  /** Bumped when the lines of a group change: [node object lines, usage lines, pod lines]. */
  gens: [number, number, number]
}

/** Which group (Entry.gens index) each NODE_FAMILIES line belongs to. */
const GROUP_OF_FAMILY = [0, 0, 1, 1, 2, 2, 2, 2, 0]
const BLOCK = 128

interface Block {
  entries: Entry[]
  /** Per group, the entries' gens when the block's bytes were made. */
  gens: number[][]
  /** Per family: the block's lines as bytes. */
  bytes: Buffer[]
}

export interface RenderStats {
  nodes: number
  /** Nodes with at least one line rendered anew (the rest were reused as they were). */
  rendered: number
  /** The whole text was the previous scrape's: nothing changed. */
  reused: boolean
  /** Blocks of BLOCK nodes whose bytes were made anew for some family. */
  blocksRebuilt: number
}

const [READY, UNSCHED, CPU_USE, MEM_USE, CPU_REQ, MEM_REQ, PODS, SESSIONS, CONDITION] = NODE_FAMILIES.map((f) => f.name)

export class NodeSeries {
  private readonly entries = new Map<string, Entry>()
  private last: { chunks: readonly Buffer[]; order: Entry[]; perNode: boolean } | undefined
  private blocks: Block[] = []
  lastRender: RenderStats = { nodes: 0, rendered: 0, reused: false, blocksRebuilt: 0 }

  /** @param perNode whether the per-node families are rendered, given the node count (default: always); the totals always are. */
  constructor(private readonly source: NodeSeriesSource, private readonly perNode: (nodeCount: number) => boolean = () => true) {}

  private sums(name: string): Sums {
    const s: Sums = { pods: 0, sessions: 0, cpuMilli: 0, memory: 0 }
    for (const p of this.source.podsOnNode(name)) {
      if (isTerminated(p)) continue
      s.pods++
      s.cpuMilli += p.cpuRequestMilli
      s.memory += p.memoryRequestBytes
      if (isRunningSession(p)) s.sessions++
    }
    return s
  }

  /**
   * The node's entry, its lines brought up to date part by part: those of the node object (ready,
   * unschedulable, conditions) when the object changed, usage lines when the sample did (a
   * metrics.k8s.io poll changes only these), pod lines when the sums did. Returns whether any changed.
   */
  private update(name: string, node: NodeObject, usage: NodeUsage | undefined, podsVersion: number | undefined): [Entry, boolean] {
    let e = this.entries.get(name)
    const nodeChanged = e?.node !== node
    const podsChanged = podsVersion === undefined || e?.podsVersion !== podsVersion
    if (!nodeChanged && e!.usage === usage && !podsChanged) return [e!, false]
    if (!e || nodeChanged) {
      const alloc = node.status?.allocatable
      const cap = node.status?.capacity
      e = {
        node, usage: e?.usage, sums: e?.sums ?? { pods: -1, sessions: -1, cpuMilli: -1, memory: -1 }, podsVersion: e?.podsVersion,
        phase: readiness(node).phase, unschedulable: node.spec?.unschedulable === true,
        gens: e ? [e.gens[0] + 1, e.gens[1], e.gens[2]] : [0, 0, 0],
        capCpu: quantity(cap?.cpu), capMemory: quantity(cap?.memory),
        allocCpu: quantity(alloc?.cpu), allocMemory: quantity(alloc?.memory),
      }
      this.entries.set(name, e)
    }
    let changed = nodeChanged
    if (nodeChanged || e.usage !== usage) {
      e.usage = usage
      e.gens[1]++
      changed = true
    }
    const sums = podsChanged ? this.sums(name) : e.sums
    e.podsVersion = podsVersion
    if (nodeChanged || !sameSums(e.sums, sums)) {
      e.sums = sums
      e.gens[2]++
      changed = true
    }
    return [e, changed]
  }

  /** The block's bytes, rebuilt for the families whose entries changed since they were made. */
  private block(index: number, entries: Entry[]): [Block, boolean] {
    const old = this.blocks[index]
    const same = old !== undefined && old.entries.length === entries.length && old.entries.every((e, i) => e === entries[i])
    const fresh = [0, 1, 2].map((g) => !same || old.gens[g].some((gen, i) => gen !== entries[i].gens[g]))
    if (!fresh.some(Boolean)) return [old!, false]
    const b: Block = {
      entries,
      gens: [0, 1, 2].map((g) => entries.map((e) => e.gens[g])),
      bytes: NODE_FAMILIES.map((_, f) => (fresh[GROUP_OF_FAMILY[f]] ? Buffer.from(entries.map((e) => lines(e, f)).join('')) : old!.bytes[f])),
    }
    this.blocks[index] = b
    return [b, true]
  }

  /** All families as Prometheus text (format 0.0.4), each line ending with a newline. */
  render(): Buffer {
    return Buffer.concat(this.renderChunks())
  }

  /**
   * The same text as consecutive chunks, to be written one after another: mostly the blocks kept
   * from earlier scrapes, so a scrape copies no more than what changed (9 MB at 5,000 nodes otherwise).
   */
  renderChunks(): readonly Buffer[] {
    const order: Entry[] = []
    let rendered = 0
    const prev = this.last?.order
    let same = prev !== undefined
    for (const node of this.source.nodes()) {
      const name = node.metadata?.name ?? ''
      const [e, changed] = this.update(name, node, this.source.usage(name), this.source.podsVersionOf?.(name))
      if (changed) rendered++
      if (same && (changed || prev![order.length] !== e)) same = false
      order.push(e)
    }
    if (same && prev!.length !== order.length) same = false
    const perNode = this.perNode(order.length)
    if (same && this.last!.perNode !== perNode) same = false
    if (this.entries.size > order.length) {
      const seen = new Set(order)
      for (const [name, e] of this.entries) if (!seen.has(e)) this.entries.delete(name)
    }
    this.lastRender = { nodes: order.length, rendered, reused: same, blocksRebuilt: 0 }
    if (same) return this.last!.chunks

    const byPhase = { Ready: 0, NotReady: 0, Unknown: 0 }
    let unschedulable = 0, pods = 0, sessions = 0, capCpu = 0, capMemory = 0, allocCpu = 0, allocMemory = 0
    let reqCpuMilli = 0, reqMemory = 0, useCpu = 0, useMemory = 0, withUsage = 0
    for (const e of order) {
      byPhase[e.phase]++
      if (e.unschedulable) unschedulable++
      pods += e.sums.pods
      sessions += e.sums.sessions
      capCpu += e.capCpu
      capMemory += e.capMemory
      allocCpu += e.allocCpu
      allocMemory += e.allocMemory
      reqCpuMilli += e.sums.cpuMilli
      reqMemory += e.sums.memory
      if (e.usage) {
        withUsage++
        useCpu += e.usage.cpuCores
        useMemory += e.usage.memoryBytes
      }
    }
    const blocks: Block[] = []
    for (let i = 0; perNode && i * BLOCK < order.length; i++) {
      const [b, rebuilt] = this.block(i, order.slice(i * BLOCK, (i + 1) * BLOCK))
      blocks.push(b)
      if (rebuilt) this.lastRender.blocksRebuilt++
    }
    this.blocks.length = blocks.length
    const chunks: Buffer[] = []
    if (perNode) NODE_FAMILIES.forEach((f, i) => {
      chunks.push(Buffer.from(header(f)))
      for (const b of blocks) chunks.push(b.bytes[i])
    })
    const parts: string[] = []
    const [nodes, unsched, podsF, sessionsF, cCpu, cMem, aCpu, aMem, rCpu, rMem, uCpu, uMem] = CLUSTER_FAMILIES
    parts.push(header(nodes), ...PHASES.map((p) => `${nodes.name}{phase="${p}"} ${byPhase[p]}\n`))
    parts.push(sample(unsched, unschedulable), sample(podsF, pods), sample(sessionsF, sessions))
    parts.push(sample(cCpu, capCpu), sample(cMem, capMemory), sample(aCpu, allocCpu), sample(aMem, allocMemory))
    parts.push(sample(rCpu, reqCpuMilli / 1000), sample(rMem, reqMemory))
    parts.push(header(uCpu) + (withUsage ? `${uCpu.name} ${num(useCpu)}\n` : ''))
    parts.push(header(uMem) + (withUsage ? `${uMem.name} ${num(useMemory)}\n` : ''))
    chunks.push(Buffer.from(parts.join('')))
    this.last = { chunks, order, perNode }
    return chunks
  }
}

/** The node's lines of NODE_FAMILIES[f] ('' when it has none there). */
function lines(e: Entry, f: number): string {
  const name = e.node.metadata?.name ?? ''
  const l = `{node="${escapeLabel(name)}"} `
  const ratio = (family: string, part: number, whole: number) => (whole > 0 ? `${family}${l}${num(part / whole)}\n` : '')
  switch (f) {
    case 0: return `${READY}${l}${e.phase === 'Ready' ? 1 : 0}\n`
    case 1: return `${UNSCHED}${l}${e.unschedulable ? 1 : 0}\n`
    case 2: return e.usage ? ratio(CPU_USE, e.usage.cpuCores, e.allocCpu) : ''
    case 3: return e.usage ? ratio(MEM_USE, e.usage.memoryBytes, e.allocMemory) : ''
    case 4: return ratio(CPU_REQ, e.sums.cpuMilli / 1000, e.allocCpu)
    case 5: return ratio(MEM_REQ, e.sums.memory, e.allocMemory)
    case 6: return `${PODS}${l}${e.sums.pods}\n`
    case 7: return `${SESSIONS}${l}${e.sums.sessions}\n`
    default: return conditionLines(CONDITION, name, e.node)
  }
}

function sameSums(a: Sums, b: Sums): boolean {
  return a.pods === b.pods && a.sessions === b.sessions && a.cpuMilli === b.cpuMilli && a.memory === b.memory
}

function header(f: Family): string {
  return `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`
}

function sample(f: Family, value: number): string {
  return `${header(f)}${f.name} ${num(value)}\n`
}

const STATUSES = [['True', 'true'], ['False', 'false'], ['Unknown', 'unknown']] as const

function conditionLines(family: string, name: string, node: NodeObject): string {
  let out = ''
  const n = escapeLabel(name)
  for (const c of node.status?.conditions ?? []) {
    const type = escapeLabel(c.type)
    for (const [k8s, label] of STATUSES) out += `${family}{node="${n}",condition="${type}",status="${label}"} ${c.status === k8s ? 1 : 0}\n`
  }
  return out
}
