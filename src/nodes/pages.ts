// Paginated node lists in the Kubernetes style: `limit` items at most, from one snapshot of the
// list, and a `continue` token for the rest. A token names the snapshot and the last node it
// returned; the snapshot is kept while clients page through it (TTL after its last page, at most
// a few at once). A token for a snapshot no longer kept is `gone` (410, as the API server answers
// an expired continue), never a page of a different list.
import { randomBytes } from 'node:crypto'
import { Failure, invalid } from '../errors.js'
import { matches, type Requirement } from '../kube/selector.js'
import type { NodeView } from './shapes.js'

/** The server-side filters: label selector, readiness, and spec.unschedulable (a field selector). */
export interface NodeFilter {
  selector?: Requirement[]
  ready?: boolean
  unschedulable?: boolean
}

export function matchesFilter(view: NodeView, filter: NodeFilter): boolean {
  return (!filter.selector || matches(filter.selector, view.labels)) &&
    (filter.ready === undefined || view.status.ready === filter.ready) &&
    (filter.unschedulable === undefined || view.unschedulable === filter.unschedulable)
}

export const isEmptyFilter = (f: NodeFilter): boolean =>
  !f.selector?.length && f.ready === undefined && f.unschedulable === undefined

/**
 * A field selector over nodes, as the API server reads one (`field=value`, `field==value`,
 * `field!=value`, comma-separated); only `spec.unschedulable` (true | false) is served here.
 */
export function parseFieldSelector(text: string | undefined): boolean | undefined {
  if (text === undefined || text.trim() === '') return undefined
  let unschedulable: boolean | undefined
  for (const term of text.split(',')) {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*([^\s]*)\s*$/.exec(term)
    if (!m) throw invalid(`querystring.fieldSelector: "${term}" is not a term like spec.unschedulable=true`)
    const [, field, op, value] = m
    if (field !== 'spec.unschedulable') throw invalid(`querystring.fieldSelector: field "${field}" is not supported; only spec.unschedulable (=, ==, != true or false)`)
    if (value !== 'true' && value !== 'false') throw invalid(`querystring.fieldSelector: spec.unschedulable must be compared with true or false, not "${value}"`)
    const wanted = (value === 'true') !== (op === '!=')
    if (unschedulable !== undefined && unschedulable !== wanted) throw invalid('querystring.fieldSelector: contradictory spec.unschedulable terms')
    unschedulable = wanted
  }
  return unschedulable
}

interface ContinueToken { snapshot: string; after: string }

export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ s: token.snapshot, a: token.after })).toString('base64url')
}

export function decodeContinue(text: string): ContinueToken {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
  } catch {
    parsed = undefined
  }
  const p = parsed as { s?: unknown; a?: unknown } | undefined
  if (typeof p?.s !== 'string' || typeof p.a !== 'string') {
    throw invalid('querystring.continue is not a continue token this service issued: start the list again without it')
  }
  return { snapshot: p.s, after: p.a }
}

export const expiredContinue = () => new Failure('gone',
  'The continue token has expired: the list snapshot it continues is no longer kept. Start a new list without the continue parameter.')

/** Index of the first name after `after` in sorted `names` (binary search). */
export function firstAfter(names: ArrayLike<string>, after: string): number {
  let lo = 0
  let hi = names.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (names[mid]! <= after) lo = mid + 1
    else hi = mid
  }
  return lo
}

export interface PagedSnapshotsOptions {
  /** A snapshot is kept this long after its last page was served (ms). Default 5 min. */
  ttlMs?: number
  /** At most this many snapshots are kept at once; the least recently paged goes first. Default 16. */
  max?: number
}

/** The snapshots clients are paging through, by id. `T` is whatever a snapshot holds. */
export class PagedSnapshots<T> {
  /** Ids differ across replicas and restarts: a token from elsewhere is gone, not misread. */
  private readonly prefix = randomBytes(6).toString('base64url')
  private serial = 0
  private readonly kept = new Map<string, { snapshot: T; usedAt: number }>()
  private readonly ttlMs: number
  private readonly max: number

  constructor(private readonly now: () => number, opts: PagedSnapshotsOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 5 * 60_000
    this.max = opts.max ?? 16
  }

  /** A new id for a snapshot (not kept until `keep`). */
  newId(): string { return `${this.prefix}.${++this.serial}` }

  /** Keeps the snapshot for its next page (refreshes its TTL). */
  keep(id: string, snapshot: T): void {
    const now = this.now()
    this.kept.delete(id)
    this.kept.set(id, { snapshot, usedAt: now }) // Map order: least recently paged first
    for (const [k, v] of this.kept) if (now - v.usedAt > this.ttlMs) this.kept.delete(k)
    while (this.kept.size > this.max) this.kept.delete(this.kept.keys().next().value!)
  }

  /** The kept snapshot, or `gone` when it expired or was never kept here. */
  get(id: string): T {
    const k = this.kept.get(id)
    if (!k || this.now() - k.usedAt > this.ttlMs) {
      this.kept.delete(id)
      throw expiredContinue()
    }
    return k.snapshot
  }

  get size(): number { return this.kept.size }
}
