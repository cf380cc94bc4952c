// The watch caches: the service's picture of the cluster, kept current by watches instead of a
// LIST per request: nodes as the API sends them, a slim index of pods by node, and the latest usage
// samples. It says what changed (a version bumped on every change, and a version per node's pods)
// so the read model above it (src/nodes/read-model.ts) re-renders only what did.
import type { KubeConfig } from '@kubernetes/client-node'
import { Reflector, systemClock, type Clock, type RawObject } from './reflector.js'
import { NodeMetricsStore, type NodeUsage } from './node-metrics.js'
import { matches, parseSelector, type Requirement } from './selector.js'
import type { NodeObject, SlimPod, Toleration } from './types.js'
import { Interner, NODE_FIELDS, POD_REQUEST_FIELDS, podRequests, slimNode, type RawPodSpec } from './slim.js'
import type { FieldMask } from './raw.js'
import type { Log } from '../shared/log.js'

export interface ClusterCacheOptions {
  kc: KubeConfig
  log: Log
  sessionSelector: string
  metricsEnabled: boolean
  metricsPollMs: number
  metricsHistorySamples: number
  clock?: Clock
}

interface RawPod extends RawObject {
  metadata?: RawObject['metadata'] & { labels?: Record<string, string>; deletionTimestamp?: string; ownerReferences?: { kind: string; name: string; controller?: boolean }[] }
  spec?: RawPodSpec & { nodeName?: string; tolerations?: Toleration[]; nodeSelector?: Record<string, string> }
  status?: { phase?: string }
}

/** The members of a pod that slimPod reads (a list page parses only these): RawPod's. */
const POD_FIELDS: FieldMask = {
  metadata: { name: true, namespace: true, labels: true, deletionTimestamp: true, ownerReferences: true },
  spec: { nodeName: true, tolerations: true, nodeSelector: true, ...POD_REQUEST_FIELDS },
  status: { phase: true },
}

export class ClusterCache {
  readonly nodes = new Map<string, NodeObject>()
  /** Pods by namespace, then name (no "namespace/name" key strings: 150,000 of them would cost ~10 MB). */
  private readonly pods = new Map<string, Map<string, SlimPod>>()
  private podTotal = 0
  private readonly podsByNode = new Map<string, Set<SlimPod>>()
  /** Bumped whenever the pods on a node change: keys the node's cached view in the read model. */
  private readonly podsVersion = new Map<string, number>()
  private podsSeq = 0
  /**
   * Strings and small records shared between cached nodes, and between cached pods (src/kube/slim.ts).
   * Each full list starts a new pool for its items: values that only gone objects used go with it.
   */
  private nodeStrings = new Interner()
  private podStrings = new Interner()
  private readonly nodeDeletedListeners: ((name: string) => void)[] = []
  readonly nodeReflector: Reflector<NodeObject>
  readonly podReflector: Reflector<SlimPod>
  /** The NodeMetrics poller while metricsEnabled (setMetricsEnabled turns it on and off at run time). */
  metrics: NodeMetricsStore | undefined
  private started = false
  private readonly sessionSelector: Requirement[]
  private readonly clock: Clock
  /** Bumped on every change a view could show. */
  private changes = 0
  private readonly firstSync: Promise<void>

  constructor(private readonly opts: ClusterCacheOptions) {
    this.clock = opts.clock ?? systemClock
    this.sessionSelector = parseSelector(opts.sessionSelector)
    let markSynced!: () => void
    this.firstSync = new Promise<void>((resolve) => { markSynced = resolve })
    const bump = () => {
      this.changes++
      if (this.synced) markSynced()
    }
    this.nodeReflector = new Reflector<NodeObject>({
      kc: opts.kc, path: '/api/v1/nodes', log: opts.log, clock: this.clock, onState: bump,
      // Only the fields NodeObject declares are kept (src/kube/slim.ts): a node's images and the rest are dropped here.
      transform: (raw) => slimNode(raw, this.nodeStrings),
      fields: NODE_FIELDS,
      sink: {
        startList: () => { this.nodeStrings = new Interner() },
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
      fields: POD_FIELDS,
      sink: {
        startList: () => { this.podStrings = new Interner() },
        replace: (items) => { this.replacePods(items); bump(); this.podsChanged() },
        upsert: (p) => { this.putPod(p); bump(); this.podsChanged() },
        remove: (p) => { this.dropPod(p.namespace, p.name); bump(); this.podsChanged() },
      },
    })
    this.bump = bump
    if (opts.metricsEnabled) this.metrics = this.newMetricsStore()
  }

  private readonly bump: () => void

  private newMetricsStore(): NodeMetricsStore {
    const o = this.opts
    return new NodeMetricsStore({
      kc: o.kc, log: o.log, clock: this.clock, onChange: () => { this.viewInputChanged(undefined, true); this.bump() },
      intervalMs: o.metricsPollMs, historySamples: o.metricsHistorySamples,
    })
  }

  /** metricsEnabled changed at run time (PUT P/config): start polling NodeMetrics, or stop and forget usage. */
  async setMetricsEnabled(enabled: boolean): Promise<void> {
    if (enabled && !this.metrics) {
      this.metrics = this.newMetricsStore()
      if (this.started) this.metrics.start()
    } else if (!enabled && this.metrics) {
      const old = this.metrics
      this.metrics = undefined
      await old.stop()
    } else return
    this.viewInputChanged(undefined, true)
    this.bump()
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

  private readonly viewInputListeners = new Set<(name: string | undefined, usageOnly?: boolean) => void>()

  /**
   * Calls `listener` with a node's name when something its view shows may have changed: the node
   * object, the pods on it; with undefined when any node's may have (a relist; a metrics poll,
   * with usageOnly: the nodes and pods are as they were).
   */
  onViewInput(listener: (name: string | undefined, usageOnly?: boolean) => void): () => void {
    this.viewInputListeners.add(listener)
    return () => { this.viewInputListeners.delete(listener) }
  }

  private viewInputChanged(name: string | undefined, usageOnly = false): void {
    for (const l of this.viewInputListeners) l(name, usageOnly)
  }

  private readonly nodeListeners = new Set<(name: string | undefined) => void>()

  /** Calls `listener` with a node's name when it changes or goes, with undefined after a relist. */
  onNodeChange(listener: (name: string | undefined) => void): () => void {
    this.nodeListeners.add(listener)
    return () => { this.nodeListeners.delete(listener) }
  }

  private nodeChanged(name: string | undefined): void {
    this.viewInputChanged(name)
    for (const l of this.nodeListeners) l(name)
    this.podsChanged()
  }

  private readonly changeListeners = new Set<() => void>()

  /** Calls `listener` after every change to the nodes or pods the watches see (e.g. a session pod gone). */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener)
    return () => { this.changeListeners.delete(listener) }
  }

  private podsChanged(): void {
    for (const l of this.changeListeners) l()
  }

  start(): void {
    this.started = true
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
  /** Resolves once both caches have first synced. */
  whenSynced(): Promise<void> { return this.firstSync }
  get stale(): boolean { return this.nodeReflector.stale || this.podReflector.stale }
  get staleSince(): number | undefined {
    const times = [this.nodeReflector.staleSince, this.podReflector.staleSince].filter((t): t is number => t !== undefined)
    return times.length ? Math.min(...times) : undefined
  }

  private slimPod(raw: RawPod): SlimPod {
    const meta = raw.metadata ?? {}
    const owner = meta.ownerReferences?.find((o) => o.controller) ?? meta.ownerReferences?.[0]
    // As NodeResourcesFit counts them (init containers, sidecars, overhead): every reader of the cache sums these.
    const { cpuMilli: cpu, memoryBytes: memory } = podRequests(raw.spec)
    const labels = meta.labels ?? {}
    const session = matches(this.sessionSelector, labels)
    return this.pooled({
      namespace: meta.namespace ?? '',
      name: meta.name ?? '',
      node: raw.spec?.nodeName ?? '',
      phase: raw.status?.phase ?? 'Pending',
      terminating: meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
      session,
      ...(session ? { labels } : {}),
      ...(owner ? { ownerKind: owner.kind, ownerName: owner.name } : {}),
      cpuRequestMilli: cpu,
      memoryRequestBytes: memory,
      ...(raw.spec?.tolerations?.length ? { tolerations: raw.spec.tolerations } : {}),
      ...(raw.spec?.nodeSelector && Object.keys(raw.spec.nodeSelector).length ? { nodeSelector: raw.spec.nodeSelector } : {}),
    })
  }

  /** The pod with its repeated strings and lists shared through the pod pool (namespace, node, owner, tolerations...). */
  private pooled(p: SlimPod): SlimPod {
    const i = this.podStrings
    const out: SlimPod = {
      namespace: i.str(p.namespace),
      name: p.name,
      node: i.str(p.node),
      phase: i.str(p.phase),
      terminating: p.terminating,
      session: p.session,
      cpuRequestMilli: p.cpuRequestMilli,
      memoryRequestBytes: p.memoryRequestBytes,
    }
    if (p.labels) out.labels = i.values(p.labels)
    if (p.ownerKind !== undefined) out.ownerKind = i.str(p.ownerKind)
    if (p.ownerName !== undefined) out.ownerName = i.str(p.ownerName)
    if (p.tolerations) out.tolerations = i.tolerations(p.tolerations)
    if (p.nodeSelector) out.nodeSelector = i.record(p.nodeSelector)
    return out
  }

  /** Versions come from one sequence, so a dropped entry can never come back with a value a cached view holds. */
  private touchNode(name: string): void {
    if (!name) return
    this.podsVersion.set(name, ++this.podsSeq)
    this.viewInputChanged(name)
  }

  /**
   * A full pod list (after a relist): every node that had pods, or has them now, is touched, so
   * a node whose pods vanished while we were not watching is rendered anew.
   */
  private replacePods(items: SlimPod[]): void {
    const before = [...this.podsByNode.keys()]
    this.pods.clear()
    this.podTotal = 0
    this.podsByNode.clear()
    for (const p of items) this.putPod(p)
    for (const name of before) this.touchNode(name)
    // Only nodes that exist or still have pods keep a version: deleted nodes' entries go.
    for (const name of this.podsVersion.keys()) if (!this.nodes.has(name) && !this.podsByNode.has(name)) this.podsVersion.delete(name)
  }

  private putPod(p: SlimPod): void {
    let inNamespace = this.pods.get(p.namespace)
    if (!inNamespace) this.pods.set(p.namespace, (inNamespace = new Map()))
    const old = inNamespace.get(p.name)
    if (old) {
      this.podsByNode.get(old.node)?.delete(old)
      this.touchNode(old.node)
    } else this.podTotal++
    this.touchNode(p.node)
    inNamespace.set(p.name, p)
    if (!p.node) return
    let onNode = this.podsByNode.get(p.node)
    if (!onNode) this.podsByNode.set(p.node, (onNode = new Set()))
    onNode.add(p)
  }

  private dropPod(namespace: string, name: string): void {
    const inNamespace = this.pods.get(namespace)
    const old = inNamespace?.get(name)
    if (!inNamespace || !old) return
    inNamespace.delete(name)
    if (inNamespace.size === 0) this.pods.delete(namespace)
    this.podTotal--
    this.touchNode(old.node)
    const onNode = this.podsByNode.get(old.node)
    onNode?.delete(old)
    if (onNode?.size === 0) this.podsByNode.delete(old.node)
  }

  podsOnNode(name: string): SlimPod[] {
    return [...(this.podsByNode.get(name)?.values() ?? [])]
  }

  get podCount(): number { return this.podTotal }

  getNode(name: string): NodeObject | undefined {
    return this.nodes.get(name)
  }

  usage(name: string): NodeUsage | undefined {
    return this.metrics?.latest(name)
  }

  /** Bumped on every change a view could show (nodes, pods, usage, sync state). */
  get version(): number { return this.changes }

  /** Changes whenever the pods on this node change (0: none seen). */
  podsVersionOf(name: string): number {
    return this.podsVersion.get(name) ?? 0
  }

  /** The pods on a node without copying them (for renders that only iterate). */
  podsOn(name: string): Iterable<SlimPod> {
    return this.podsByNode.get(name)?.values() ?? []
  }
}
