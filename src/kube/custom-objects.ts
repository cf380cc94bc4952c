// Cluster-scoped custom resources of our own group (nodes.stream.space/v1alpha1: NodeMaintenance,
// NodeDrain, NodeIncident): an informer (list, then watch, into a map every replica reads) and the
// writes. Spec is written by any replica; status only by the leader, through the status
// subresource and conditional on the resourceVersion it last saw (a 409 means someone changed the
// object meanwhile: read it again, then decide).
import type { KubeConfig } from '@kubernetes/client-node'
import { Reflector } from './reflector.js'
import { requestJson } from './raw.js'
import { isNotFound, toKubeError } from './errors.js'
import type { Clock } from '../clock.js'
import type { Log } from '../shared/log.js'

export const NODES_GROUP = 'nodes.stream.space'
export const NODES_VERSION = 'v1alpha1'

export interface ObjectMeta {
  name: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export interface CustomObject<Spec, Status> {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  spec: Spec
  status?: Status
}

/** A condition as Kubernetes API conventions write them. */
export interface Condition {
  type: string
  status: 'True' | 'False' | 'Unknown'
  reason: string
  message: string
  lastTransitionTime: string
  observedGeneration?: number
}

export interface CustomObjectsOptions {
  kc: KubeConfig
  kind: string
  plural: string
  log: Log
  clock?: Clock
}

type Listener<O> = (obj: O, deleted: boolean) => void

export class ClusterObjects<Spec, Status> {
  private readonly byName = new Map<string, CustomObject<Spec, Status>>()
  private readonly listeners = new Set<Listener<CustomObject<Spec, Status>>>()
  private readonly reflector: Reflector<CustomObject<Spec, Status>>
  private readonly base: string
  private syncedWaiters: Array<() => void> = []
  readonly kind: string

  constructor(private readonly opts: CustomObjectsOptions) {
    this.kind = opts.kind
    this.base = `/apis/${NODES_GROUP}/${NODES_VERSION}/${opts.plural}`
    this.reflector = new Reflector<CustomObject<Spec, Status>>({
      kc: opts.kc,
      path: this.base,
      log: opts.log,
      clock: opts.clock,
      transform: (raw) => raw as CustomObject<Spec, Status>,
      sink: {
        replace: (items) => {
          const gone = [...this.byName.values()].filter((o) => !items.some((i) => i.metadata.name === o.metadata.name))
          this.byName.clear()
          for (const o of items) this.byName.set(o.metadata.name, o)
          for (const o of gone) this.emit(o, true)
          for (const o of items) this.emit(o, false)
        },
        upsert: (o) => { if (this.newer(o)) { this.byName.set(o.metadata.name, o); this.emit(o, false) } },
        remove: (o) => { this.byName.delete(o.metadata.name); this.emit(o, true) },
      },
      onState: () => {
        if (!this.reflector.synced) return
        for (const w of this.syncedWaiters.splice(0)) w()
      },
    })
  }

  private emit(o: CustomObject<Spec, Status>, deleted: boolean): void {
    for (const l of [...this.listeners]) l(o, deleted)
  }

  /** `<plural>.<group>/<name>`, as errors and logs name it. */
  what(name?: string): string {
    return `${this.opts.plural}.${NODES_GROUP}${name ? `/${name}` : ''}`
  }

  start(): void { this.reflector.start() }
  stop(): Promise<void> { return this.reflector.stop() }
  get synced(): boolean { return this.reflector.synced }
  /** The informer's own state, for readiness and metrics. */
  get informer(): Reflector<CustomObject<Spec, Status>> { return this.reflector }

  whenSynced(): Promise<void> {
    if (this.reflector.synced) return Promise.resolve()
    return new Promise((resolve) => this.syncedWaiters.push(resolve))
  }

  get(name: string): CustomObject<Spec, Status> | undefined { return this.byName.get(name) }
  list(): CustomObject<Spec, Status>[] { return [...this.byName.values()] }
  get size(): number { return this.byName.size }

  /** Every change the informer sees (after the map holds it). Returns unsubscribe. */
  onChange(listener: Listener<CustomObject<Spec, Status>>): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Until `pred` holds for the named object as this replica sees it (undefined: deleted), or the signal aborts. */
  waitFor(name: string, pred: (o: CustomObject<Spec, Status> | undefined) => boolean, signal: AbortSignal): Promise<CustomObject<Spec, Status> | undefined> {
    return new Promise((resolve) => {
      const check = () => {
        const o = this.byName.get(name)
        if (!pred(o) && !signal.aborted) return
        unsubscribe()
        signal.removeEventListener('abort', check)
        resolve(o)
      }
      const unsubscribe = this.onChange((o) => { if (o.metadata.name === name) check() })
      signal.addEventListener('abort', check, { once: true })
      check()
    })
  }

  private url(name: string, sub = ''): string {
    return `${this.base}/${encodeURIComponent(name)}${sub}`
  }

  async read(name: string): Promise<CustomObject<Spec, Status> | undefined> {
    try {
      return await requestJson<CustomObject<Spec, Status>>(this.opts.kc, 'GET', this.url(name))
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw toKubeError(err, `get ${this.what(name)}`)
    }
  }

  /** Creates it; a name taken is 409 (AlreadyExists) from the API server, kept as a KubeError. */
  async create(name: string, spec: Spec, labels?: Record<string, string>): Promise<CustomObject<Spec, Status>> {
    const body = { apiVersion: `${NODES_GROUP}/${NODES_VERSION}`, kind: this.opts.kind, metadata: { name, ...(labels ? { labels } : {}) }, spec }
    try {
      return this.seen(await requestJson<CustomObject<Spec, Status>>(this.opts.kc, 'POST', this.base, body))
    } catch (err) {
      throw toKubeError(err, `create ${this.what(name)}`)
    }
  }

  /** A JSON merge patch of spec; with `resourceVersion`, conditional on it (409 when stale). */
  async patchSpec(name: string, spec: Partial<Spec>, resourceVersion?: string): Promise<CustomObject<Spec, Status>> {
    try {
      const body = { metadata: resourceVersion ? { resourceVersion } : {}, spec }
      return this.seen(await requestJson<CustomObject<Spec, Status>>(this.opts.kc, 'PATCH', this.url(name), body))
    } catch (err) {
      throw toKubeError(err, `patch ${this.what(name)}`)
    }
  }

  /** Replaces status through the status subresource, conditional on obj's resourceVersion (409 when stale). */
  async writeStatus(obj: CustomObject<Spec, Status>, status: Status): Promise<CustomObject<Spec, Status>> {
    const name = obj.metadata.name
    const body = { apiVersion: `${NODES_GROUP}/${NODES_VERSION}`, kind: this.opts.kind, metadata: { name, resourceVersion: obj.metadata.resourceVersion }, spec: obj.spec, status }
    try {
      return this.seen(await requestJson<CustomObject<Spec, Status>>(this.opts.kc, 'PUT', this.url(name, '/status'), body))
    } catch (err) {
      throw toKubeError(err, `update ${this.what(name)}/status`)
    }
  }

  /** Deletes it; with `uid`, only that object (not a new one of the same name). Absent: done. */
  async delete(name: string, uid?: string): Promise<void> {
    try {
      await requestJson(this.opts.kc, 'DELETE', this.url(name), uid ? { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid } } : undefined)
    } catch (err) {
      if (isNotFound(err)) return
      throw toKubeError(err, `delete ${this.what(name)}`)
    }
  }

  /**
   * What a write answered is newer than what the watch has delivered: keep it, so a read right
   * after a write here sees it (the watch's own event for it changes nothing then).
   */
  private seen(o: CustomObject<Spec, Status>): CustomObject<Spec, Status> {
    if (this.newer(o)) {
      this.byName.set(o.metadata.name, o)
      this.emit(o, false)
    }
    return o
  }

  /** Whether `o` is newer than what the map holds (etcd's resourceVersions grow; both backends' are numbers). */
  private newer(o: CustomObject<Spec, Status>): boolean {
    const have = this.byName.get(o.metadata.name)
    return !have || Number(have.metadata.resourceVersion) < Number(o.metadata.resourceVersion)
  }
}
