// Which node a new StreamSpace session should go to. First the scheduler's basic filters
// (fit.ts: Ready, schedulable, node_selector, taints tolerated, room for the cpu/memory asked
// after what is already requested), then the strategy among the nodes that remain:
// - least-sessions: fewest sessions on the node (pods bound there and not finished, Pending ones
//   too); ties by most free resources, then name
// - most-resources: most free CPU and memory after placing the request (shares of allocatable, averaged)
// - random: uniform among the eligible nodes (the random source is passed in)
// - round-robin: by name, the next eligible node after the one handed out last by any replica
//   (wrapping): the cursor is shared through the cluster (cursor.ts)
// The answer lists the best `limit` candidates (default 100) and the first `limit` excluded nodes
// by name, with the totals: at 65,000 nodes the ranking keeps only the best few (no full sort)
// and the facts come from FactsIndex (remade only for nodes that changed).
// No Fastify here: the node source, the configured strategy, the cursor and the random source are passed in.
import type { Toleration } from '../kube/types.js'
import { formatQuantity } from '../kube/quantity.js'
import { QUANTITY_PATTERN } from '../shared/patterns.js'
import { invalid } from '../errors.js'
import type { Strategies } from '../config.js'
import { LocalCursor, type RoundRobinCursor } from './cursor.js'
import { cpuMilli, filterNodes, freeCpuMilli, freeMemoryBytes, freeShareAfter, memoryBytes, unavailableSummary, type NodeFacts, type PodRequest } from './fit.js'
import { FactsIndex, byName, type FactsSource } from './facts-index.js'

export { Strategies } from '../config.js'
export type Strategy = (typeof Strategies)[number]

export interface SelectionSource extends FactsSource {
  /** Throws (unavailable) while the caches cannot answer, e.g. not synced yet. */
  readable?(): void
}

/** How many candidates, and how many excluded nodes, an answer lists unless the request says. */
export const DEFAULT_LIST_LIMIT = 100
export const MAX_LIST_LIMIT = 100_000

export interface SelectRequest {
  strategy?: Strategy
  cpu?: string
  memory?: string
  node_selector?: Record<string, string>
  tolerations?: Toleration[]
  /** At most this many candidates and this many excluded nodes in the answer (default DEFAULT_LIST_LIMIT). */
  limit?: number
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
  /** The best `limit` eligible nodes, best first by the strategy (the chosen node first), each with the figures that ranked it. */
  candidates: Candidate[]
  /** How many nodes are eligible (candidates lists the first `limit`). */
  candidates_total: number
  /** The first `limit` nodes the filters refused, by name, with the scheduler's reasons. */
  excluded: Excluded[]
  excluded_total: number
}

export interface NoFit {
  /** kube-scheduler's words: "0/5 nodes are available: 2 Insufficient cpu, ...", over every node. */
  summary: string
  /** The first `limit` nodes by name. */
  excluded: Excluded[]
  excluded_total: number
}

export type SelectOutcome = { ok: true; selection: Selection } | { ok: false; noFit: NoFit }

export interface NodeSelectorOptions {
  source: SelectionSource
  /** The nodes' facts, shared with the fit check; default an index of its own over `source`. */
  facts?: FactsIndex
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

/** The best `k` of `items` by `compare`, best first, without sorting them all (`compare` must order every pair). */
export function best<T>(items: readonly T[], k: number, compare: (a: T, b: T) => number): T[] {
  if (k >= items.length) return [...items].sort(compare)
  const top: T[] = []
  if (k <= 0) return top
  for (const x of items) {
    if (top.length === k && compare(x, top[k - 1]) >= 0) continue
    let lo = 0, hi = top.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (compare(top[mid], x) <= 0) lo = mid + 1
      else hi = mid
    }
    top.splice(lo, 0, x)
    if (top.length > k) top.pop()
  }
  return top
}

/** Index of the first node named after `name` in `sorted` (by name), or sorted.length. */
function after(sorted: readonly NodeFacts[], name: string): number {
  let lo = 0, hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (sorted[mid].name <= name) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The request's list limit, checked; 400 naming the field otherwise. */
export function listLimit(req: Pick<SelectRequest, 'limit'>): number {
  const limit = req.limit ?? DEFAULT_LIST_LIMIT
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIST_LIMIT) throw invalid(`body.limit ${String(req.limit)} must be an integer from 0 to ${MAX_LIST_LIMIT}`)
  return limit
}

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
  private readonly index: FactsIndex

  constructor(private readonly opts: NodeSelectorOptions) {
    this.index = opts.facts ?? new FactsIndex(opts.source)
  }

  /** Every node's facts, sorted by name (shared: read only). */
  facts(): NodeFacts[] {
    return this.index.all()
  }

  async select(req: SelectRequest): Promise<SelectOutcome> {
    const pod = podRequest(req)
    const limit = listLimit(req)
    this.opts.source.readable?.()
    const strategy = req.strategy ?? this.opts.strategy()
    const nodes = this.facts()
    // In name order, as the facts are.
    const { eligible, refused } = filterNodes(nodes, pod)
    const excluded = refused.slice(0, limit).map((v) => ({ node: v.name, reasons: v.reasons }))
    if (!eligible.length) return { ok: false, noFit: { summary: unavailableSummary(nodes.length, refused), excluded, excluded_total: refused.length } }
    // The reason names the runner-up: at least two are ranked.
    const wanted = Math.max(limit, 2)
    const { ranked, reason } = strategy === 'round-robin' ? await this.roundRobin(eligible, wanted) : this.rank(strategy, eligible, pod, wanted)
    return {
      ok: true,
      selection: {
        node: ranked[0].name, strategy, reason: `${strategy}: ${reason}`,
        candidates: ranked.slice(0, limit).map((n, i) => candidate(n, pod, i + 1)), candidates_total: eligible.length,
        excluded, excluded_total: refused.length,
      },
    }
  }

  /** By name, the next eligible node after the one handed out last (wrapping), moving the shared cursor. */
  private async roundRobin(sorted: NodeFacts[], wanted: number): Promise<{ ranked: NodeFacts[]; reason: string }> {
    let last: string | undefined
    const step = (cursor: string | undefined) => {
      last = cursor
      return sorted[cursor === undefined ? 0 : after(sorted, cursor) % sorted.length].name
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
    // step's answer: an eligible node's name, so found exactly.
    const i = after(sorted, chosenName) - 1
    const chosen = sorted[i]
    const count = nodesWord(sorted.length)
    const reason = last === undefined
      ? `${chosen.name} is first by name among ${count} (first round-robin choice)`
      : `${chosen.name} is next by name after ${last} among ${count}${chosen.name <= last ? ' (wrapped around)' : ''}`
    const ranked: NodeFacts[] = []
    for (let k = 0; k < Math.min(wanted, sorted.length); k++) ranked.push(sorted[(i + k) % sorted.length])
    return { ranked, reason: reason + own }
  }

  /** `eligible` is sorted by name. */
  private rank(strategy: Exclude<Strategy, 'round-robin'>, eligible: NodeFacts[], pod: PodRequest, wanted: number): { ranked: NodeFacts[]; reason: string } {
    const free = (n: NodeFacts) => freeShareAfter(n, pod)
    const freeText = (n: NodeFacts) => `${round1(free(n) * 100)}% of its CPU and memory free after placing the request`
    const count = nodesWord(eligible.length)
    switch (strategy) {
      case 'least-sessions': {
        const ranked = best(eligible, wanted, (a, b) => a.sessions - b.sessions || free(b) - free(a) || byName(a, b))
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
        const ranked = best(eligible, wanted, (a, b) => free(b) - free(a) || byName(a, b))
        const [first, second] = ranked
        let reason = `${first.name} has the most free resources of ${count}: ${freeText(first)}`
        if (second && free(second) === free(first)) reason += `; tied with ${second.name}, first by name`
        return { ranked, reason }
      }
      case 'random': {
        const r = (this.opts.random ?? Math.random)()
        const i = Math.min(eligible.length - 1, Math.max(0, Math.floor(r * eligible.length)))
        const chosen = eligible[i]
        const ranked = [chosen]
        for (const n of eligible) {
          if (ranked.length >= wanted) break
          if (n !== chosen) ranked.push(n)
        }
        return { ranked, reason: `${chosen.name} drawn uniformly at random among ${count}` }
      }
    }
  }
}
