// The service's picture of the cluster, kept current by watches instead of a LIST per request:
// nodes as the API sends them, and a slim index of pods by node. Every read route answers from
// here. The node list is also kept as prepared JSON bytes with an ETag, rebuilt at most once per
// change (and not more often than every rebuildIntervalMs under churn).
import { createHash } from 'node:crypto'
import type { KubeConfig } from '@kubernetes/client-node'
import { Reflector, systemClock, type Clock, type RawObject, type ReflectorLog } from './reflector.js'
import { NodeMetricsStore, type NodeUsage } from './node-metrics.js'
import { matches, parseSelector, type Requirement } from './selector.js'
import type { NodeObject, SlimPod, Toleration } from './types.js'
import { clusterStats, nodeDetail, nodeView } from '../nodes/view.js'
import { ageStableForMs } from '../nodes/age.js'
import type { ClusterStats, NodeDetail, NodeView } from '../schemas/node.js'
import { quantityToNumber } from './quantity.js'

export interface ClusterCacheOptions {
  kc: KubeConfig
  log: ReflectorLog
  sessionSelector: string
  metricsEnabled: boolean
  metricsPollMs: number
  metricsHistorySamples: number
  clock?: Clock
  rebuildIntervalMs?: number
}

export interface PreparedList {
  body: Buffer
  etag: string
}

interface RawPod extends RawObject {
  metadata?: RawObject['metadata'] & { labels?: Record<string, string>; deletionTimestamp?: string; ownerReferences?: { kind: string; name: string; controller?: boolean }[] }
  spec?: { nodeName?: string; tolerations?: Toleration[]; containers?: { resources?: { requests?: Record<string, string> } }[] }
  status?: { phase?: string }
}

/**
 * One node's view and its JSON, reused while its inputs are the same objects: the node as last
 * watched, its pods (per-node version), its latest usage sample, and an unchanged AGE text.
 * Under pod churn at 150,000 pods, a rebuild then re-renders only the nodes whose pods changed.
 */
interface CachedView {
  node: NodeObject
  podsVersion: number
  usage: NodeUsage | undefined
  validUntil: number
  view: NodeView
  json: string
}

/** Views of one cache version, and what is derived from them. */
interface Snapshot {
  version: number
  builtAt: number
  /** When the first node's AGE text changes: the views must be rebuilt then. */
  validUntil: number
  entries: CachedView[]
  views: NodeView[]
  stats?: ClusterStats
  prepared?: PreparedList
}

export class ClusterCache {
  readonly nodes = new Map<string, NodeObject>()
  private readonly pods = new Map<string, SlimPod>()
  private readonly podsByNode = new Map<string, Map<string, SlimPod>>()
  /** Bumped whenever the pods on a node change: keys the node's cached view. */
  private readonly podsVersion = new Map<string, number>()
  private podsSeq = 0
  private readonly nodeDeletedListeners: ((name: string) => void)[] = []
  private readonly viewCache = new Map<string, CachedView>()
  readonly nodeReflector: Reflector<NodeObject>
  readonly podReflector: Reflector<SlimPod>
  readonly metrics: NodeMetricsStore | undefined
  private readonly sessionSelector: Requirement[]
  private readonly clock: Clock
  /** Bumped on every change a view could show. */
  private version = 0
  private snapshot: Snapshot | undefined

  constructor(private readonly opts: ClusterCacheOptions) {
    this.clock = opts.clock ?? systemClock
    this.sessionSelector = parseSelector(opts.sessionSelector)
    const bump = () => { this.version++ }
    this.nodeReflector = new Reflector<NodeObject>({
      kc: opts.kc, path: '/api/v1/nodes', log: opts.log, clock: this.clock, onState: bump,
      transform: (raw) => raw as NodeObject,
      sink: {
        replace: (items) => {
          const before = [...this.nodes.keys()]
          this.nodes.clear()
          for (const n of items) this.nodes.set(n.metadata!.name!, n)
          for (const name of before) if (!this.nodes.has(name)) this.removeNode(name)
          bump()
          this.nodeChanged(undefined)
        },
        upsert: (n) => { this.nodes.set(n.metadata!.name!, n); bump(); this.nodeChanged(n.metadata!.name!) },
        remove: (n) => { this.removeNode(n.metadata!.name!); bump(); this.nodeChanged(n.metadata!.name!) },
      },
    })
    this.podReflector = new Reflector<SlimPod>({
      kc: opts.kc, path: '/api/v1/pods', log: opts.log, clock: this.clock, onState: bump,
      transform: (raw) => this.slimPod(raw as RawPod),
      sink: {
        replace: (items) => { this.replacePods(items); bump() },
        upsert: (p) => { this.putPod(p); bump() },
        remove: (p) => { this.dropPod(`${p.namespace}/${p.name}`); bump() },
      },
    })
    if (opts.metricsEnabled) {
      this.metrics = new NodeMetricsStore({
        kc: opts.kc, log: opts.log, clock: this.clock, onChange: bump,
        intervalMs: opts.metricsPollMs, historySamples: opts.metricsHistorySamples,
      })
    }
  }

  /** Called with the name of each node that is deleted (also one found gone by a relist). */
  onNodeDeleted(listener: (name: string) => void): void {
    this.nodeDeletedListeners.push(listener)
  }

  private removeNode(name: string): void {
    this.nodes.delete(name)
    this.podsVersion.delete(name)
    for (const l of this.nodeDeletedListeners) l(name)
  }

  private readonly nodeListeners = new Set<(name: string | undefined) => void>()

  /** Calls `listener` with a node's name when it changes or goes, with undefined after a relist. */
  onNodeChange(listener: (name: string | undefined) => void): () => void {
    this.nodeListeners.add(listener)
    return () => { this.nodeListeners.delete(listener) }
  }

  private nodeChanged(name: string | undefined): void {
    for (const l of this.nodeListeners) l(name)
  }

  start(): void {
    this.nodeReflector.start()
    this.podReflector.start()
    this.metrics?.start()
  }

  async stop(): Promise<void> {
    await Promise.all([this.nodeReflector.stop(), this.podReflector.stop(), this.metrics?.stop()])
  }

  /** Why the caches are not current, as the API server said it (e.g. an RBAC refusal). */
  get lastError(): string | undefined {
    return this.nodeReflector.lastError ?? this.podReflector.lastError
  }

  get synced(): boolean { return this.nodeReflector.synced && this.podReflector.synced }
  get stale(): boolean { return this.nodeReflector.stale || this.podReflector.stale }
  get staleSince(): number | undefined {
    const times = [this.nodeReflector.staleSince, this.podReflector.staleSince].filter((t): t is number => t !== undefined)
    return times.length ? Math.min(...times) : undefined
  }

  private slimPod(raw: RawPod): SlimPod {
    const meta = raw.metadata ?? {}
    const owner = meta.ownerReferences?.find((o) => o.controller) ?? meta.ownerReferences?.[0]
    let cpu = 0, memory = 0
    for (const c of raw.spec?.containers ?? []) {
      const req = c.resources?.requests
      if (req?.cpu) cpu += quantityToNumber(req.cpu) * 1000
      if (req?.memory) memory += quantityToNumber(req.memory)
    }
    const labels = meta.labels ?? {}
    const session = matches(this.sessionSelector, labels)
    return {
      namespace: meta.namespace ?? '',
      name: meta.name ?? '',
      uid: meta.uid ?? '',
      node: raw.spec?.nodeName ?? '',
      phase: raw.status?.phase ?? 'Pending',
      terminating: meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
      session,
      ...(session ? { labels } : {}),
      ...(owner ? { ownerKind: owner.kind, ownerName: owner.name } : {}),
      cpuRequestMilli: cpu,
      memoryRequestBytes: memory,
      ...(raw.spec?.tolerations?.length ? { tolerations: raw.spec.tolerations } : {}),
    }
  }

  /** Versions come from one sequence, so a dropped entry can never come back with a value a cached view holds. */
  private touchNode(name: string): void {
    if (name) this.podsVersion.set(name, ++this.podsSeq)
  }

  /**
   * A full pod list (after a relist): every node that had pods, or has them now, is touched, so
   * a node whose pods vanished while we were not watching is rendered anew.
   */
  private replacePods(items: SlimPod[]): void {
    const before = [...this.podsByNode.keys()]
    this.pods.clear()
    this.podsByNode.clear()
    for (const p of items) this.putPod(p)
    for (const name of before) this.touchNode(name)
    // Only nodes that exist or still have pods keep a version: deleted nodes' entries go.
    for (const name of this.podsVersion.keys()) if (!this.nodes.has(name) && !this.podsByNode.has(name)) this.podsVersion.delete(name)
  }

  private putPod(p: SlimPod): void {
    const key = `${p.namespace}/${p.name}`
    const old = this.pods.get(key)
    if (old && old.node !== p.node) this.podsByNode.get(old.node)?.delete(key)
    if (old) this.touchNode(old.node)
    this.touchNode(p.node)
    this.pods.set(key, p)
    if (!p.node) return
    let onNode = this.podsByNode.get(p.node)
    if (!onNode) this.podsByNode.set(p.node, (onNode = new Map()))
    onNode.set(key, p)
  }

  private dropPod(key: string): void {
    const old = this.pods.get(key)
    if (!old) return
    this.pods.delete(key)
    this.touchNode(old.node)
    const onNode = this.podsByNode.get(old.node)
    onNode?.delete(key)
    if (onNode?.size === 0) this.podsByNode.delete(old.node)
  }

  podsOnNode(name: string): SlimPod[] {
    return [...(this.podsByNode.get(name)?.values() ?? [])]
  }

  /** Changes whenever the pods on the node change (0 before any): what is derived from them can be kept until then. */
  podsVersionOf(name: string): number {
    return this.podsVersion.get(name) ?? 0
  }

  get podCount(): number { return this.pods.size }

  getNode(name: string): NodeObject | undefined {
    return this.nodes.get(name)
  }

  usage(name: string): NodeUsage | undefined {
    return this.metrics?.latest(name)
  }

  /** NodeView of any node object, e.g. one a patch just returned. */
  viewOf(node: NodeObject): NodeView {
    const name = node.metadata?.name ?? ''
    return nodeView(node, { pods: this.podsByNode.get(name)?.values() ?? [], usage: this.usage(name), now: this.clock.now() })
  }

  detail(name: string): NodeDetail | undefined {
    const node = this.nodes.get(name)
    return node && nodeDetail(node, { pods: this.podsOnNode(name), usage: this.usage(name), now: this.clock.now() })
  }

  private cachedView(node: NodeObject, now: number): CachedView {
    const name = node.metadata?.name ?? ''
    const podsVersion = this.podsVersion.get(name) ?? 0
    const usage = this.usage(name)
    const e = this.viewCache.get(name)
    if (e && e.node === node && e.podsVersion === podsVersion && e.usage === usage && now < e.validUntil) return e
    const view = this.viewOf(node)
    const created = node.metadata?.creationTimestamp
    const validUntil = created === undefined ? Infinity : now + ageStableForMs(Math.max(0, now - new Date(created).getTime()))
    const entry = { node, podsVersion, usage, validUntil, view, json: JSON.stringify(view) }
    this.viewCache.set(name, entry)
    return entry
  }

  /** All node views, sorted by name, for one cache version (and as long as no AGE text changes). */
  private current(): Snapshot {
    const now = this.clock.now()
    const s = this.snapshot
    const fresh = s && now < s.validUntil
    // Under watch churn, a new version is built at most every rebuildIntervalMs.
    if (fresh && (s.version === this.version || now - s.builtAt < (this.opts.rebuildIntervalMs ?? 0))) return s
    const version = this.version
    const names = [...this.nodes.keys()].sort()
    const entries = names.map((name) => this.cachedView(this.nodes.get(name)!, now))
    for (const name of this.viewCache.keys()) if (!this.nodes.has(name)) this.viewCache.delete(name)
    const validUntil = entries.reduce((min, e) => Math.min(min, e.validUntil), Infinity)
    this.snapshot = { version, builtAt: now, validUntil, entries, views: entries.map((e) => e.view) }
    return this.snapshot
  }

  views(filter?: { selector?: Requirement[]; ready?: boolean }): NodeView[] {
    const views = this.current().views
    if (!filter?.selector && filter?.ready === undefined) return views
    return views.filter((v) =>
      (!filter.selector || matches(filter.selector, v.labels)) && (filter.ready === undefined || v.status.ready === filter.ready))
  }

  /** The whole node list as JSON bytes + ETag, built once per snapshot from each node's cached JSON. */
  preparedList(): PreparedList {
    const snap = this.current()
    if (!snap.prepared) {
      const body = Buffer.from(`[${snap.entries.map((e) => e.json).join(',')}]`)
      snap.prepared = { body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` }
    }
    return snap.prepared
  }

  stats(): ClusterStats {
    const snap = this.current()
    snap.stats ??= clusterStats({
      nodes: [...this.nodes.values()],
      views: snap.views,
      usage: (n) => this.usage(n),
      stale: this.stale,
      staleSince: this.staleSince,
    })
    return snap.stats
  }
}
