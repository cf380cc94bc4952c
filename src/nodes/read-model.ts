// The node read model: what admins read (NodeView list, NodeDetail, ClusterStats, usage history),
// rendered from the watch caches of src/kube. Every read route answers from here, never from a
// LIST per request. The node list is also kept as prepared JSON bytes with an ETag, rebuilt at
// most once per cache change (and not more often than every rebuildIntervalMs under churn), and
// each node's view and JSON are reused while its inputs are unchanged.
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { brotliCompress, constants as zlib, gzip } from 'node:zlib'
import type { V1Node } from '@kubernetes/client-node'
import type { ClusterCache } from '../kube/cluster-cache.js'
import type { NodeUsage } from '../kube/node-metrics.js'
import { formatQuantity, parseQuantity } from '../kube/quantity.js'
import { systemClock, type Clock } from '../clock.js'
import { parseSelector, SelectorError, type Requirement } from '../kube/selector.js'
import type { NodeObject } from '../kube/types.js'
import { Failure, invalid, nodeNotFound } from '../errors.js'
import { ageStableForMs } from './age.js'
import { Expiries } from './expiries.js'
import { ListBuffers } from './list-buffers.js'
import {
  decodeContinue, encodeContinue, firstAfter, isEmptyFilter, matchesFilter, parseFieldSelector, PagedSnapshots,
  type NodeFilter, type PagedSnapshotsOptions,
} from './pages.js'
import type { ClusterStats, NodeDetail, NodeView, UsageSample } from './shapes.js'
import { ClusterTotals, clusterStats, nodeDetail, nodeTotals, nodeView, usageOfAllocatable, usagePercent, type NodeTotals } from './view.js'

/** What the read model needs of the watch caches (src/kube's ClusterCache). */
export type WatchCaches = Pick<ClusterCache,
  'nodes' | 'version' | 'podsVersionOf' | 'podsOn' | 'podsOnNode' | 'usage' | 'metrics' | 'synced' | 'stale' | 'staleSince' | 'lastError'> &
  /** Which nodes' views may have changed: without it, every rebuild looks at every node. */
  Partial<Pick<ClusterCache, 'onViewInput'>>

export interface ReadModelOptions {
  clock?: Clock
  /** Under watch churn, the list is rebuilt at most this often (ms). Default 0: on every change. */
  rebuildIntervalMs?: number
  /** How long and how many list snapshots are kept for `continue` tokens. */
  pages?: PagedSnapshotsOptions
}

/** What a client asks of the node list: filters as query text, and optionally a page. */
export interface ListQuery {
  labelSelector?: string
  ready?: boolean
  /** Only `spec.unschedulable` (see parseFieldSelector). */
  fieldSelector?: string
  limit?: number
  continue?: string
}

/** One page of the node list: its JSON, and the token of the next page while more remain. */
export interface ListPage {
  body: Buffer
  count: number
  continue?: string
}

export interface PreparedList {
  body: Buffer
  /** Strong ETag of `body` (a hash of the bytes: it changes only when they do). */
  etag: string
  /** The same bytes compressed, made at most once per body, when first asked for (see encodedList). */
  encoded?: Partial<Record<ListEncoding, Promise<Buffer>>>
  /**
   * Who still reads `body`: the model while this is its newest list, each answer still sending
   * it, a compression of it under way (see hold). At 0 its memory is written again for a later list.
   */
  holds: number
}

/** Content codings the prepared list is kept in besides identity. */
export type ListEncoding = 'br' | 'gzip'

const gzipAsync = promisify(gzip)
const brotliAsync = promisify(brotliCompress)

/**
 * Compression of the 4 MB list of 5,000 nodes, on libuv's thread pool (zlib's async API), so the
 * event loop goes on serving meanwhile. Brotli at quality 5: about gzip's speed, a smaller result
 * (quality 11, the default, takes seconds on a list this size).
 */
function compress(body: Buffer, encoding: ListEncoding): Promise<Buffer> {
  if (encoding === 'gzip') return gzipAsync(body, { level: 6 })
  return brotliAsync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length } })
}

/**
 * One node's view and its JSON, reused while its inputs are the same objects: the node as last
 * watched, its pods (per-node version), its latest usage sample, and an unchanged AGE text.
 * Under pod churn at 150,000 pods, a rebuild then re-renders only the nodes whose pods changed.
 */
interface CachedView {
  name: string
  node: NodeObject
  podsVersion: number
  usage: NodeUsage | undefined
  validUntil: number
  view: NodeView
  /**
   * JSON.stringify(view) as head + usage + tail (usage: `,"usage":...`): a new usage sample (every
   * node, every metrics poll) re-renders only that part, and the list is copied from the parts.
   * Head and tail are kept as bytes: writing 65,000 nodes' strings into the list took ~10x as long.
   */
  head: Buffer
  usage_: string
  tail: Buffer
  /** Bytes of the three parts together. */
  bytes: number
  /** What the node adds to the cluster's totals (ClusterStats). */
  totals: NodeTotals
}

/**
 * JSON.stringify(view), in three parts around `usage` (NodeView's keys in their order; the read
 * model test checks the parts against JSON.stringify of every view).
 */
export function viewJsonParts(view: NodeView): { head: string; tail: string } {
  const { name, labels, taints, status, capacity, allocatable, usage: _usage, ...rest } = view
  return {
    head: JSON.stringify({ name, labels, taints, status, capacity, allocatable }).slice(0, -1),
    tail: `,${JSON.stringify(rest).slice(1)}`,
  }
}

const usagePart = (usage: NodeView['usage']) => `,"usage":${JSON.stringify(usage)}`

/** The list's bytes, `[` the nodes' JSON joined by commas `]`, written into `body` (of the size they take). */
function writeList(entries: CachedView[], body: Buffer): void {
  let at = body.write('[', 0)
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    if (i > 0) body[at++] = 0x2c // ','
    at += e.head.copy(body, at)
    at += body.write(e.usage_, at, 'latin1')
    at += e.tail.copy(body, at)
  }
  body.write(']', at)
}

/** Views of one cache version, and what is derived from them. */
interface Snapshot {
  /** Names this snapshot in continue tokens. */
  id: string
  version: number
  builtAt: number
  entries: CachedView[]
  /** The nodes' names, sorted (the order of entries and views). */
  names: string[]
  /** entries' views (made when first asked for). */
  views?: NodeView[]
  /** What entries add up to. */
  totals: ClusterTotals
  stats?: ClusterStats
  prepared?: PreparedList
}

/** Rendered pages kept (at 65,000 nodes a page of 500 is ~0.4 MB). */
const PAGES_KEPT = 16

/** The filters of a list query; invalid input names the field. */
function listFilter(query: ListQuery): NodeFilter {
  let selector: Requirement[] | undefined
  try {
    selector = parseSelector(query.labelSelector)
  } catch (err) {
    if (err instanceof SelectorError) throw invalid(`querystring.labelSelector: ${err.message}`)
    throw err
  }
  return { selector, ready: query.ready, unschedulable: parseFieldSelector(query.fieldSelector) }
}

/** "1h30m" -> ms */
export function parseWindow(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text)
  if (!m || text === '') throw invalid(`querystring.window "${text}" must be a duration like 90s, 30m, 1h or 1h30m`)
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000
}

export class NodeReadModel {
  private readonly viewCache = new Map<string, CachedView>()
  private snapshot: Snapshot | undefined
  /** The last prepared list: a rebuild with the same bytes reuses it (and its compressed forms). */
  private lastPrepared: PreparedList | undefined
  private readonly listBuffers = new ListBuffers()
  private readonly clock: Clock
  private readonly paged: PagedSnapshots<Snapshot>
  /** The last pages rendered, by snapshot and query: a page asked again is sent as it was made. */
  private readonly pages = new Map<string, ListPage>()
  /** When cached views' AGE texts change. */
  private readonly expiries = new Expiries()
  /** Nodes whose views may have changed since the newest snapshot; undefined: any may have. */
  private changed: Set<string> | undefined
  /** Where each node of the newest snapshot is in its entries. */
  private positions = new Map<string, number>()

  constructor(private readonly cache: WatchCaches, private readonly opts: ReadModelOptions = {}) {
    this.clock = opts.clock ?? systemClock
    this.paged = new PagedSnapshots(() => this.clock.now(), opts.pages)
    cache.onViewInput?.((name) => {
      if (name === undefined) this.changed = undefined
      else this.changed?.add(name)
    })
  }

  /** Once the node and pod caches have synced, reads can be answered. */
  get synced(): boolean { return this.cache.synced }
  /** The Kubernetes API is unreachable: reads answer the last known state. */
  get stale(): boolean { return this.cache.stale }

  /**
   * Whether reads can be answered now: not before the caches synced (then it throws, saying why);
   * `stale` while they serve the last known state.
   */
  readable(): { stale: boolean } {
    if (!this.cache.synced) {
      const why = this.cache.lastError ? `: ${this.cache.lastError}` : '; retry shortly'
      throw new Failure('unavailable', `The node cache has not synced with the Kubernetes API yet${why}`)
    }
    return { stale: this.cache.stale }
  }

  /** NodeView of any node object, e.g. one a patch just returned (client-node's model: Dates for times). */
  viewOf(node: NodeObject | V1Node): NodeView {
    const name = node.metadata?.name ?? ''
    return nodeView(node as NodeObject, { pods: this.cache.podsOn(name), usage: this.cache.usage(name), now: this.clock.now() })
  }

  /** One node in detail; not_found for an unknown node. */
  detail(name: string): NodeDetail {
    const node = this.cache.nodes.get(name)
    if (!node) throw nodeNotFound(name)
    return nodeDetail(node, { pods: this.cache.podsOnNode(name), usage: this.cache.usage(name), now: this.clock.now() })
  }

  private cachedView(node: NodeObject, now: number): CachedView {
    const name = node.metadata?.name ?? ''
    const podsVersion = this.cache.podsVersionOf(name)
    const usage = this.cache.usage(name)
    const e = this.viewCache.get(name)
    if (e && e.node === node && e.podsVersion === podsVersion && now < e.validUntil) {
      if (e.usage === usage) return e
      // Only the usage sample is new (a metrics poll): the rest of the view and its JSON stay.
      const view = { ...e.view, usage: usageOfAllocatable(usage, e.totals.allocatableCores, e.totals.allocatableBytes) }
      const usage_ = usagePart(view.usage)
      const entry = { ...e, usage, view, usage_, bytes: e.bytes - e.usage_.length + usage_.length }
      this.viewCache.set(name, entry)
      return entry
    }
    const view = this.viewOf(node)
    const created = node.metadata?.creationTimestamp
    const validUntil = created === undefined ? Infinity : now + ageStableForMs(Math.max(0, now - new Date(created).getTime()))
    // The next change of the AGE text is the same instant until it passes: one heap entry for it.
    if (validUntil !== e?.validUntil) this.expiries.push(validUntil, name)
    const parts = viewJsonParts(view)
    const head = Buffer.from(parts.head), tail = Buffer.from(parts.tail)
    const usage_ = usagePart(view.usage)
    const entry = { name, node, podsVersion, usage, validUntil, view, head, usage_, tail, bytes: head.length + usage_.length + tail.length, totals: nodeTotals(node, view) }
    this.viewCache.set(name, entry)
    return entry
  }

  /**
   * All node views, sorted by name, for one cache version (and as long as no AGE text changes).
   * A rebuild looks only at the nodes the caches said changed and the views whose AGE is due;
   * at every node after a relist, a metrics poll, a node added or gone, or when the caches do not
   * say what changed.
   */
  private current(): Snapshot {
    const now = this.clock.now()
    const s = this.snapshot
    const version = this.cache.version
    // Under watch churn, a new version is built at most every rebuildIntervalMs.
    if (s && now < this.expiries.next && (s.version === version || now - s.builtAt < (this.opts.rebuildIntervalMs ?? 0))) return s
    const changed = this.changed
    this.changed = this.cache.onViewInput ? new Set() : undefined
    for (const { at, name } of this.expiries.popDue(now)) if (this.viewCache.get(name)?.validUntil === at) changed?.add(name)
    const nodes = this.cache.nodes
    const sameNames = s && changed && [...changed].every((name) => nodes.has(name) === this.positions.has(name))
    const { entries, names, totals } = s && changed && sameNames ? { ...this.rebuildChanged(s, changed, now), names: s.names } : this.rebuildAll(s, now)
    const same = entries === s?.entries
    this.snapshot = { id: same ? s!.id : this.paged.newId(), version, builtAt: now, entries, names, totals, ...(same ? { views: s!.views, prepared: s!.prepared } : {}) }
    return this.snapshot
  }

  /** The snapshot's entries with only `changed` nodes looked at again (the same array when none changed), and their totals. */
  private rebuildChanged(s: Snapshot, changed: Set<string>, now: number): { entries: CachedView[]; totals: ClusterTotals } {
    let entries = s.entries
    let totals = s.totals
    for (const name of changed) {
      const i = this.positions.get(name)
      if (i === undefined) continue
      const old = entries[i]!
      const e = this.cachedView(this.cache.nodes.get(name)!, now)
      if (e === old) continue
      if (entries === s.entries) {
        entries = entries.slice()
        totals = totals.copy()
      }
      entries[i] = e
      totals.replace(old, e)
    }
    return { entries, totals }
  }

  /** Every node looked at. */
  private rebuildAll(s: Snapshot | undefined, now: number): { entries: CachedView[]; names: string[]; totals: ClusterTotals } {
    const nodes = this.cache.nodes
    const sameNodes = s !== undefined && s.names.length === nodes.size && s.names.every((name) => nodes.has(name))
    const names = sameNodes ? s.names : [...nodes.keys()].sort()
    const entries = names.map((name) => this.cachedView(nodes.get(name)!, now))
    for (const name of this.viewCache.keys()) if (!nodes.has(name)) this.viewCache.delete(name)
    if (!sameNodes) {
      this.positions = new Map(names.map((name, i) => [name, i]))
      const totals = new ClusterTotals()
      for (const e of entries) totals.add(e.totals, e.usage, 1)
      return { entries, names, totals }
    }
    // The same nodes: their totals changed only where their entries did (a metrics poll: usage only).
    let totals: ClusterTotals | undefined
    entries.forEach((e, i) => {
      if (e !== s.entries[i]) (totals ??= s.totals.copy()).replace(s.entries[i]!, e)
    })
    return totals ? { entries, names, totals } : { entries: s.entries, names, totals: s.totals }
  }

  private viewsOf(snap: Snapshot): NodeView[] {
    return (snap.views ??= snap.entries.map((e) => e.view))
  }

  views(filter: NodeFilter = {}): NodeView[] {
    const views = this.viewsOf(this.current())
    if (isEmptyFilter(filter)) return views
    return views.filter((v) => matchesFilter(v, filter))
  }

  /**
   * The list as a client filters it: a Kubernetes label selector, readiness and a field selector
   * on spec.unschedulable (invalid input names the field).
   */
  filteredViews(query: ListQuery): NodeView[] {
    return this.views(listFilter(query))
  }

  /**
   * One page of the (filtered) list: at most `limit` nodes after the continue token's, from the
   * snapshot the first page was taken from (so every node of it comes exactly once, whatever
   * changes meanwhile); `gone` once that snapshot is no longer kept.
   */
  page(query: ListQuery): ListPage {
    const filter = listFilter(query)
    const token = query.continue === undefined ? undefined : decodeContinue(query.continue)
    const snap = token ? this.paged.get(token.snapshot) : this.current()
    const limit = query.limit ?? Infinity
    const key = [snap.id, token?.after, limit, query.labelSelector, query.ready, query.fieldSelector].join('\n')
    const made = this.pages.get(key)
    if (made) {
      if (made.continue) this.paged.keep(snap.id, snap)
      return made
    }
    const { entries } = snap
    const matched: CachedView[] = []
    let i = token ? firstAfter(snap.names, token.after) : 0
    let last = -1
    for (; i < entries.length && matched.length < limit; i++) {
      const e = entries[i]!
      if (isEmptyFilter(filter) || matchesFilter(e.view, filter)) {
        matched.push(e)
        last = i
      }
    }
    // A next page only while a further node matches (so the last page has no Link).
    let more = false
    for (; i < entries.length && !more; i++) more = isEmptyFilter(filter) || matchesFilter(entries[i]!.view, filter)
    const body = Buffer.allocUnsafe(matched.reduce((size, e) => size + e.bytes + 1, matched.length ? 1 : 2))
    writeList(matched, body)
    const page: ListPage = { body, count: matched.length }
    if (more) {
      this.paged.keep(snap.id, snap)
      page.continue = encodeContinue({ snapshot: snap.id, after: snap.names[last] ?? token?.after ?? '' })
    }
    this.pages.set(key, page)
    if (this.pages.size > PAGES_KEPT) this.pages.delete(this.pages.keys().next().value!)
    return page
  }

  /**
   * The whole node list as JSON bytes + ETag, built once per snapshot from each node's cached JSON.
   * When a new snapshot renders the same bytes (a heartbeat, a change nothing shows), the previous
   * list is kept: same ETag, and its compressed forms are not made again.
   */
  preparedList(): PreparedList {
    const snap = this.current()
    if (!snap.prepared) {
      // Copied into one buffer from each node's bytes.
      const { entries } = snap
      let size = 2 + Math.max(0, entries.length - 1)
      for (const e of entries) size += e.bytes
      const body = this.listBuffers.take(size)
      writeList(entries, body)
      const etag = `"${createHash('sha1').update(body).digest('base64url')}"`
      const last = this.lastPrepared
      if (last?.etag === etag) {
        this.listBuffers.give(body)
        snap.prepared = last
      } else {
        snap.prepared = this.lastPrepared = { body, etag, holds: 1 }
        if (last) this.release(last)
      }
    }
    return snap.prepared
  }

  /**
   * Keeps `list`'s bytes from being written over until the returned function is called: call it
   * once they are sent (or no longer read). Calling it again does nothing.
   */
  hold(list: PreparedList): () => void {
    list.holds++
    let held = true
    return () => {
      if (!held) return
      held = false
      this.release(list)
    }
  }

  private release(list: PreparedList): void {
    if (--list.holds === 0) this.listBuffers.give(list.body)
  }

  /**
   * `list`'s bytes in `encoding`, compressed off the event loop the first time they are asked for
   * and kept with the list (so once per change of its bytes, however many clients ask).
   */
  encodedList(list: PreparedList, encoding: ListEncoding): Promise<Buffer> {
    const kept = (list.encoded ??= {})
    let done = kept[encoding]
    if (!done) {
      // zlib reads the bytes in place on the thread pool: they stay held until it is done.
      const release = this.hold(list)
      const made = compress(list.body, encoding)
      kept[encoding] = done = made
      // A failure is not kept: the next request tries again (the route answers identity meanwhile).
      made.then(release, () => { release(); if (kept[encoding] === made) delete kept[encoding] })
    }
    return done
  }

  stats(): ClusterStats {
    const snap = this.current()
    snap.stats ??= clusterStats({
      totals: snap.totals,
      nodes: snap.entries,
      stale: this.cache.stale,
      staleSince: this.cache.staleSince,
    })
    return snap.stats
  }

  /**
   * A node's usage samples over the last `window` (90s, 30m, 1h, 1h30m); not_found for an unknown
   * node, invalid for a window that is no duration.
   */
  usageHistory(name: string, window: string): { available: boolean; samples: UsageSample[] } {
    const node = this.cache.nodes.get(name)
    if (!node) throw nodeNotFound(name)
    const windowMs = parseWindow(window)
    if (windowMs <= 0) throw invalid('querystring.window must be longer than 0s')
    const since = this.clock.now() - windowMs
    const samples = (this.cache.metrics?.since(name, since) ?? []).map((u) => ({
      timestamp: new Date(u.at).toISOString(),
      ...usagePercent(u, node.status?.allocatable)!,
      cpu: formatQuantity(parseQuantity(u.cpu)),
      memory: formatQuantity(parseQuantity(u.memory)),
    }))
    return { available: this.cache.metrics?.available ?? false, samples }
  }
}
