// Which node a new StreamSpace session should go to. First the scheduler's basic filters
// (fit.ts: Ready, schedulable, node_selector, taints tolerated, room for the cpu/memory asked
// after what is already requested), then the strategy among the nodes that remain:
// - least-sessions: fewest sessions on the node (pods bound there and not finished, Pending ones
//   too); ties by most free resources, then name
// - most-resources: most free CPU and memory after placing the request (shares of allocatable, averaged)
// - random: uniform among the eligible nodes (the random source is passed in)
// - round-robin: by name, the next eligible node after the one handed out last by any replica
//   (wrapping): the cursor is shared through the cluster (cursor.ts)
// No Fastify here: the node source, the configured strategy, the cursor and the random source are passed in.
import type { NodeObject, SlimPod, Toleration } from '../kube/types.js'
import { formatQuantity } from '../kube/quantity.js'
import { QUANTITY_PATTERN } from '../shared/patterns.js'
import { invalid } from '../errors.js'
import type { Strategies } from '../config.js'
import { LocalCursor, type RoundRobinCursor } from './cursor.js'
import { cpuMilli, filterNodes, freeCpuMilli, freeMemoryBytes, freeShareAfter, memoryBytes, nodeFacts, unavailableSummary, type NodeFacts, type NodeVerdict, type PodRequest } from './fit.js'

export { Strategies } from '../config.js'
export type Strategy = (typeof Strategies)[number]

export interface SelectionSource {
  /** Throws (unavailable) while the caches cannot answer, e.g. not synced yet. */
  readable?(): void
  nodes(): Iterable<NodeObject>
  podsOn(name: string): Iterable<SlimPod>
}

export interface SelectRequest {
  strategy?: Strategy
  cpu?: string
  memory?: string
  node_selector?: Record<string, string>
  tolerations?: Toleration[]
}

export interface Candidate {
  node: string
  rank: number
  sessions: number
  pods: number
  /** Allocatable minus what non-terminated pods request, before placing this request. */
  cpu_free: string
  memory_free: string
  cpu_free_percent: number
  memory_free_percent: number
  /** Share of allocatable left free after placing the request, CPU and memory averaged, in %. */
  free_after_percent: number
}

export interface Excluded { node: string; reasons: string[] }

export interface Selection {
  node: string
  strategy: Strategy
  reason: string
  /** Eligible nodes, best first by the strategy (the chosen node first), each with the figures that ranked it. */
  candidates: Candidate[]
  /** Nodes the filters refused, with the scheduler's reasons. */
  excluded: Excluded[]
}

export interface NoFit {
  /** kube-scheduler's words: "0/5 nodes are available: 2 Insufficient cpu, ...". */
  summary: string
  excluded: Excluded[]
}

export type SelectOutcome = { ok: true; selection: Selection } | { ok: false; noFit: NoFit }

export interface NodeSelectorOptions {
  source: SelectionSource
  /** The configured strategy (nodeSelectionStrategy), read at each request so a change applies at once. */
  strategy: () => Strategy
  /** Uniform in [0, 1); default Math.random. */
  random?: () => number
  /** round-robin's cursor, shared by the replicas (cursor.ts); default this process's own. */
  cursor?: RoundRobinCursor
  /** Told when the shared cursor fails and this process's own is used instead. */
  warn?: (err: unknown) => void
}

const round1 = (x: number) => Math.round(x * 10) / 10
const pct = (part: number, whole: number) => (whole > 0 ? round1((Math.max(0, part) / whole) * 100) : 0)
const byName = (a: NodeFacts, b: NodeFacts) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

const QUANTITY = new RegExp(QUANTITY_PATTERN)

/** A request's quantities, checked and parsed; 400 naming the field otherwise. */
export function podRequest(req: SelectRequest): PodRequest {
  const parse = (field: 'cpu' | 'memory', f: (q: string) => number): number => {
    const text = req[field]
    if (text === undefined || text === '') return 0
    const notQuantity = () => invalid(`body.${field} "${text}" is not a Kubernetes quantity (e.g. ${field === 'cpu' ? '"500m" or "2"' : '"512Mi" or "4Gi"'})`)
    let value: number
    try {
      value = f(text)
    } catch {
      throw notQuantity()
    }
    if (value < 0) throw invalid(`body.${field} "${text}" must not be negative`)
    if (!QUANTITY.test(text)) throw notQuantity()
    return value
  }
  const tolerations = req.tolerations ?? []
  tolerations.forEach((t, i) => {
    if (t.operator === 'Exists' && t.value) throw invalid(`body.tolerations[${i}].value must be empty when operator is Exists`)
    if (!t.key && t.operator !== 'Exists') throw invalid(`body.tolerations[${i}].operator must be Exists when key is empty`)
  })
  return {
    cpuMilli: parse('cpu', cpuMilli),
    memoryBytes: parse('memory', memoryBytes),
    ...(req.node_selector ? { nodeSelector: req.node_selector } : {}),
    ...(tolerations.length ? { tolerations } : {}),
  }
}

function candidate(n: NodeFacts, pod: PodRequest, rank: number): Candidate {
  return {
    node: n.name,
    rank,
    sessions: n.sessions,
    pods: n.pods,
    cpu_free: formatQuantity({ nano: BigInt(freeCpuMilli(n)) * 1_000_000n, format: 'DecimalSI' }),
    memory_free: formatQuantity({ nano: BigInt(freeMemoryBytes(n)) * 1_000_000_000n, format: 'BinarySI' }),
    cpu_free_percent: pct(freeCpuMilli(n), n.allocatableCpuMilli),
    memory_free_percent: pct(freeMemoryBytes(n), n.allocatableMemoryBytes),
    free_after_percent: round1(freeShareAfter(n, pod) * 100),
  }
}

const nodesWord = (n: number) => `${n} eligible node${n === 1 ? '' : 's'}`

export class NodeSelector {
  /** round-robin's fallback when the shared cursor cannot be read or moved (e.g. RBAC). */
  private readonly localCursor = new LocalCursor()

  constructor(private readonly opts: NodeSelectorOptions) {}

  /** Every node's facts, from the source (the watch cache). */
  facts(): NodeFacts[] {
    const out: NodeFacts[] = []
    for (const node of this.opts.source.nodes()) out.push(nodeFacts(node, this.opts.source.podsOn(node.metadata?.name ?? '')))
    return out.sort(byName)
  }

  async select(req: SelectRequest): Promise<SelectOutcome> {
    const pod = podRequest(req)
    this.opts.source.readable?.()
    const strategy = req.strategy ?? this.opts.strategy()
    const nodes = this.facts()
    const { eligible, refused } = filterNodes(nodes, pod)
    const excluded = refused.map((v: NodeVerdict) => ({ node: v.name, reasons: v.reasons }))
    if (!eligible.length) return { ok: false, noFit: { summary: unavailableSummary(nodes.length, refused), excluded } }
    const { ranked, reason } = strategy === 'round-robin' ? await this.roundRobin(eligible) : this.rank(strategy, eligible, pod)
    return {
      ok: true,
      selection: { node: ranked[0].name, strategy, reason: `${strategy}: ${reason}`, candidates: ranked.map((n, i) => candidate(n, pod, i + 1)), excluded },
    }
  }

  /** By name, the next eligible node after the one handed out last (wrapping), moving the shared cursor. */
  private async roundRobin(eligible: NodeFacts[]): Promise<{ ranked: NodeFacts[]; reason: string }> {
    const sorted = [...eligible].sort(byName)
    let last: string | undefined
    const step = (cursor: string | undefined) => {
      last = cursor
      return (cursor === undefined ? undefined : sorted.find((n) => n.name > cursor))?.name ?? sorted[0].name
    }
    let own = ''
    let chosenName: string
    try {
      chosenName = await (this.opts.cursor ?? this.localCursor).advance(step)
    } catch (err) {
      this.opts.warn?.(err)
      own = ` (this replica's own cursor: the shared one failed: ${err instanceof Error ? err.message : String(err)})`
      chosenName = await this.localCursor.advance(step)
    }
    const i = sorted.findIndex((n) => n.name === chosenName)
    const chosen = sorted[i]
    const count = nodesWord(eligible.length)
    const reason = last === undefined
      ? `${chosen.name} is first by name among ${count} (first round-robin choice)`
      : `${chosen.name} is next by name after ${last} among ${count}${chosen.name <= last ? ' (wrapped around)' : ''}`
    return { ranked: [...sorted.slice(i), ...sorted.slice(0, i)], reason: reason + own }
  }

  private rank(strategy: Exclude<Strategy, 'round-robin'>, eligible: NodeFacts[], pod: PodRequest): { ranked: NodeFacts[]; reason: string } {
    const score = new Map(eligible.map((n) => [n.name, freeShareAfter(n, pod)]))
    const free = (n: NodeFacts) => score.get(n.name)!
    const freeText = (n: NodeFacts) => `${round1(free(n) * 100)}% of its CPU and memory free after placing the request`
    const count = nodesWord(eligible.length)
    switch (strategy) {
      case 'least-sessions': {
        const ranked = [...eligible].sort((a, b) => a.sessions - b.sessions || free(b) - free(a) || byName(a, b))
        const [first, second] = ranked
        let reason = `${first.name} runs ${first.sessions} session${first.sessions === 1 ? '' : 's'}, the fewest of ${count}`
        if (second && second.sessions === first.sessions) {
          reason += free(second) === free(first)
            ? `; tied with ${second.name} on sessions and free resources (${freeText(first)}), first by name`
            : `; tied with ${second.name} on sessions, it has the most free resources (${freeText(first)})`
        }
        return { ranked, reason }
      }
      case 'most-resources': {
        const ranked = [...eligible].sort((a, b) => free(b) - free(a) || byName(a, b))
        const [first, second] = ranked
        let reason = `${first.name} has the most free resources of ${count}: ${freeText(first)}`
        if (second && free(second) === free(first)) reason += `; tied with ${second.name}, first by name`
        return { ranked, reason }
      }
      case 'random': {
        const sorted = [...eligible].sort(byName)
        const r = (this.opts.random ?? Math.random)()
        const i = Math.min(sorted.length - 1, Math.max(0, Math.floor(r * sorted.length)))
        const chosen = sorted[i]
        return { ranked: [chosen, ...sorted.filter((n) => n !== chosen)], reason: `${chosen.name} drawn uniformly at random among ${count}` }
      }
    }
  }
}
