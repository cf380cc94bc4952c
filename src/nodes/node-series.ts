// The cluster as Prometheus series, computed at scrape time from the watch cache (no gauge is
// updated when the cluster changes): per-node series labelled `node`, and cluster totals.
// Each node's lines are kept and reused while its inputs are the same: the node object as last
// watched (objects in the cache are replaced, never mutated), its latest usage sample, and the
// sums over its pods. A scrape then re-renders only the nodes that changed and joins the rest.
import type { NodeObject, SlimPod } from '../kube/types.js'
import type { NodeUsage } from '../kube/node-metrics.js'
import { quantityToNumber } from '../kube/quantity.js'
import { isRunningSession, isTerminated, readiness } from './view.js'

/** What the series are computed from: the read model's nodes, the pods on each, its usage. */
export interface NodeSeriesSource {
  nodes(): Iterable<NodeObject>
  podsOnNode(name: string): Iterable<SlimPod>
  usage(name: string): NodeUsage | undefined
}

export const METRIC_PREFIX = 'streamspace_node_manager_'

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

const num = (x: number): string => (Number.isFinite(x) ? String(x) : Number.isNaN(x) ? 'NaN' : x > 0 ? '+Inf' : '-Inf')

interface Sums { pods: number; sessions: number; cpuMilli: number; memory: number }

interface Entry {
  node: NodeObject
  usage: NodeUsage | undefined
  sums: Sums
  phase: (typeof PHASES)[number]
  unschedulable: boolean
  capCpu: number
  capMemory: number
  allocCpu: number
  allocMemory: number
  /** This node's lines per NODE_FAMILIES index ('' when it has none there). */
  lines: string[]
}

export interface RenderStats {
  nodes: number
  /** Nodes whose lines were rendered anew (the rest were reused). */
  rendered: number
}

export class NodeSeries {
  private readonly entries = new Map<string, Entry>()
  lastRender: RenderStats = { nodes: 0, rendered: 0 }

  constructor(private readonly source: NodeSeriesSource) {}

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

  private entry(name: string, node: NodeObject, usage: NodeUsage | undefined, sums: Sums, old: Entry | undefined): Entry {
    const alloc = node.status?.allocatable
    const cap = node.status?.capacity
    const sameNode = old?.node === node
    const e: Entry = {
      node, usage, sums,
      phase: sameNode ? old.phase : readiness(node).phase,
      unschedulable: node.spec?.unschedulable === true,
      capCpu: sameNode ? old.capCpu : quantityToNumber(cap?.cpu),
      capMemory: sameNode ? old.capMemory : quantityToNumber(cap?.memory),
      allocCpu: sameNode ? old.allocCpu : quantityToNumber(alloc?.cpu),
      allocMemory: sameNode ? old.allocMemory : quantityToNumber(alloc?.memory),
      lines: [],
    }
    const l = `{node="${escapeLabel(name)}"} `
    const [ready, unsched, cpuUse, memUse, cpuReq, memReq, pods, sessions, condition] = NODE_FAMILIES.map((f) => f.name)
    const ratio = (family: string, part: number, whole: number) => (whole > 0 ? `${family}${l}${num(part / whole)}\n` : '')
    e.lines.push(
      `${ready}${l}${e.phase === 'Ready' ? 1 : 0}\n`,
      `${unsched}${l}${e.unschedulable ? 1 : 0}\n`,
      usage ? ratio(cpuUse, usage.cpuCores, e.allocCpu) : '',
      usage ? ratio(memUse, usage.memoryBytes, e.allocMemory) : '',
      ratio(cpuReq, sums.cpuMilli / 1000, e.allocCpu),
      ratio(memReq, sums.memory, e.allocMemory),
      `${pods}${l}${sums.pods}\n`,
      `${sessions}${l}${sums.sessions}\n`,
      sameNode ? old.lines[8] : conditionLines(condition, name, node),
    )
    return e
  }

  /** All families as Prometheus text (format 0.0.4), each block ending with a newline. */
  render(): string {
    const perFamily: string[][] = NODE_FAMILIES.map(() => [])
    const byPhase = { Ready: 0, NotReady: 0, Unknown: 0 }
    let unschedulable = 0, pods = 0, sessions = 0, capCpu = 0, capMemory = 0, allocCpu = 0, allocMemory = 0
    let reqCpuMilli = 0, reqMemory = 0, useCpu = 0, useMemory = 0, withUsage = 0
    let rendered = 0, count = 0
    const seen = new Set<string>()
    for (const node of this.source.nodes()) {
      const name = node.metadata?.name ?? ''
      seen.add(name)
      count++
      const usage = this.source.usage(name)
      const sums = this.sums(name)
      let e = this.entries.get(name)
      if (!e || e.node !== node || e.usage !== usage || !sameSums(e.sums, sums)) {
        e = this.entry(name, node, usage, sums, e)
        this.entries.set(name, e)
        rendered++
      }
      for (let i = 0; i < e.lines.length; i++) if (e.lines[i]) perFamily[i].push(e.lines[i])
      byPhase[e.phase]++
      if (e.unschedulable) unschedulable++
      pods += sums.pods
      sessions += sums.sessions
      capCpu += e.capCpu
      capMemory += e.capMemory
      allocCpu += e.allocCpu
      allocMemory += e.allocMemory
      reqCpuMilli += sums.cpuMilli
      reqMemory += sums.memory
      if (usage) {
        withUsage++
        useCpu += usage.cpuCores
        useMemory += usage.memoryBytes
      }
    }
    if (this.entries.size > seen.size) for (const name of this.entries.keys()) if (!seen.has(name)) this.entries.delete(name)
    this.lastRender = { nodes: count, rendered }

    let out = ''
    NODE_FAMILIES.forEach((f, i) => { out += header(f) + perFamily[i].join('') })
    const [nodes, unsched, podsF, sessionsF, cCpu, cMem, aCpu, aMem, rCpu, rMem, uCpu, uMem] = CLUSTER_FAMILIES
    out += header(nodes) + PHASES.map((p) => `${nodes.name}{phase="${p}"} ${byPhase[p]}\n`).join('')
    out += sample(unsched, unschedulable) + sample(podsF, pods) + sample(sessionsF, sessions)
    out += sample(cCpu, capCpu) + sample(cMem, capMemory) + sample(aCpu, allocCpu) + sample(aMem, allocMemory)
    out += sample(rCpu, reqCpuMilli / 1000) + sample(rMem, reqMemory)
    out += header(uCpu) + (withUsage ? `${uCpu.name} ${num(useCpu)}\n` : '')
    out += header(uMem) + (withUsage ? `${uMem.name} ${num(useMemory)}\n` : '')
    return out
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
