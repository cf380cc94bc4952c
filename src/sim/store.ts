// In-memory object store: one sorted collection per resource, a global resourceVersion, a bounded
// event history per resource for watch resume (like the API server's watch cache), and live watchers. Stored objects are never mutated in place
// (seeded objects share sub-objects), so every change builds a new object.
import { randomUUID } from 'node:crypto'
import { RESOURCES, resourceId, type ResourceDef } from './kinds.js'

export type Obj = Record<string, any>
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED'

export interface StoreEvent {
  rv: number
  type: EventType
  resource: string
  obj: Obj
  /** The object before this change (MODIFIED), so filtered watches can see objects leave their filter. */
  prev?: Obj
}

export interface Watcher {
  namespace?: string
  onEvent(ev: StoreEvent): void
}

export class Collection {
  readonly objects = new Map<string, Obj>()
  /** Keys in sorted order, the order lists and continue tokens follow (as etcd does). */
  keys: string[] = []
  readonly watchers = new Set<Watcher>()
  /** Recent events, oldest first; per resource, so busy Leases do not push out Node events. */
  history: StoreEvent[] = []
  /** Watches (and continue tokens) from a resourceVersion below this get 410: their events are gone. */
  compactedRv = 0
  constructor(readonly def: ResourceDef, readonly id: string) {}
}

const jsonCache = new WeakMap<Obj, string>()

/** JSON of a stored object, kept with it: stored objects never change, so lists and watches
 *  serialize each object once however often it is sent. */
export function jsonOf(obj: Obj): string {
  let json = jsonCache.get(obj)
  if (json === undefined) {
    json = JSON.stringify(obj)
    jsonCache.set(obj, json)
  }
  return json
}

/** JSON of a stored object with its kind and apiVersion first, as single objects are sent. */
export function typedJsonOf(kind: string, apiVersion: string, obj: Obj): string {
  return `{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(apiVersion)},${jsonOf(obj).slice(1)}`
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name
}

/** First index in sorted keys whose key is >= k. */
export function lowerBound(keys: string[], k: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid] < k) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class Store {
  rv = 0
  readonly collections = new Map<string, Collection>()
  /** Pod keys per spec.nodeName, for fieldSelector=spec.nodeName and per-node counts. */
  readonly podsByNode = new Map<string, Set<string>>()
  private listeners: ((ev: StoreEvent) => void)[] = []

  constructor(readonly historySize = 10000) {
    for (const def of RESOURCES) {
      if (def.readOnly) continue
      const id = resourceId(def.group, def.plural)
      this.collections.set(id, new Collection(def, id))
    }
  }

  collection(id: string): Collection {
    const c = this.collections.get(id)
    if (!c) throw new Error(`unknown resource ${id}`)
    return c
  }

  get(id: string, namespace: string | undefined, name: string): Obj | undefined {
    return this.collection(id).objects.get(objectKey(namespace, name))
  }

  /** Called synchronously after every change (controllers: PDB status, kubelet). */
  onChange(fn: (ev: StoreEvent) => void): void {
    this.listeners.push(fn)
  }

  /** Fills in what the server sets on create: uid, creationTimestamp, and generation for kinds
   *  whose spec the server tracks (apps and policy; core kinds such as Node and ConfigMap have none). */
  static initMetadata(obj: Obj, tracksGeneration: boolean, now = new Date()): Obj {
    const metadata = { ...obj.metadata }
    metadata.uid = randomUUID()
    // Unlike a real server, a creationTimestamp given on create is kept: tests use it to make old objects.
    metadata.creationTimestamp ??= now.toISOString().replace(/\.\d+Z$/, 'Z')
    if (tracksGeneration) metadata.generation = 1
    else delete metadata.generation
    return { ...obj, metadata }
  }

  /** Adds freshly built objects (it sets their resourceVersion in place) without events, for
   *  seeding: keys are sorted once at the end. */
  bulkInsert(id: string, objs: Obj[]): void {
    const c = this.collection(id)
    for (const obj of objs) {
      obj.metadata.resourceVersion = String(++this.rv)
      const key = objectKey(obj.metadata.namespace, obj.metadata.name)
      c.objects.set(key, obj)
      c.keys.push(key)
      if (id === 'pods') this.indexPod(key, undefined, obj)
    }
    c.keys.sort()
    this.compactAll()
  }

  /** Forgets every event so far: older resourceVersions now get 410 (seeding; tests of expiry). */
  compactAll(): void {
    for (const c of this.collections.values()) {
      c.history = []
      c.compactedRv = this.rv
    }
  }

  /** Stores obj (new or replacing prev) under a new resourceVersion and emits the event. */
  put(id: string, obj: Obj): Obj {
    const c = this.collection(id)
    const rv = ++this.rv
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } }
    const key = objectKey(stored.metadata.namespace, stored.metadata.name)
    const prev = c.objects.get(key)
    // A replaced object lives on only in the event history: its JSON need not (memory stays bounded).
    if (prev) jsonCache.delete(prev)
    c.objects.set(key, stored)
    if (!prev) c.keys.splice(lowerBound(c.keys, key), 0, key)
    if (id === 'pods') this.indexPod(key, prev, stored)
    this.emit({ rv, type: prev ? 'MODIFIED' : 'ADDED', resource: id, obj: stored, prev })
    return stored
  }

  remove(id: string, namespace: string | undefined, name: string): Obj | undefined {
    const c = this.collection(id)
    const key = objectKey(namespace, name)
    const prev = c.objects.get(key)
    if (!prev) return undefined
    const rv = ++this.rv
    jsonCache.delete(prev)
    c.objects.delete(key)
    const at = lowerBound(c.keys, key)
    if (c.keys[at] === key) c.keys.splice(at, 1)
    if (id === 'pods') this.indexPod(key, prev, undefined)
    // The DELETED event carries the last state with a fresh resourceVersion, as the server sends it.
    const gone = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rv) } }
    this.emit({ rv, type: 'DELETED', resource: id, obj: gone })
    return gone
  }

  private indexPod(key: string, prev: Obj | undefined, next: Obj | undefined): void {
    const before = prev?.spec?.nodeName
    const after = next?.spec?.nodeName
    if (before === after) return
    if (before) {
      const set = this.podsByNode.get(before)
      set?.delete(key)
      if (set && set.size === 0) this.podsByNode.delete(before)
    }
    if (after) {
      let set = this.podsByNode.get(after)
      if (!set) this.podsByNode.set(after, (set = new Set()))
      set.add(key)
    }
  }

  private emit(ev: StoreEvent): void {
    const c = this.collection(ev.resource)
    c.history.push(ev)
    if (c.history.length > this.historySize * 1.25) {
      const drop = c.history.length - this.historySize
      c.compactedRv = c.history[drop - 1].rv
      c.history.splice(0, drop)
    }
    for (const w of c.watchers) {
      if (w.namespace && ev.obj.metadata.namespace !== w.namespace) continue
      w.onEvent(ev)
    }
    for (const fn of this.listeners) fn(ev)
  }

  /** Events of one resource after rv, or undefined when rv is older than its kept history. */
  eventsSince(id: string, rv: number): StoreEvent[] | undefined {
    const c = this.collection(id)
    if (rv < c.compactedRv) return undefined
    let lo = 0
    let hi = c.history.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (c.history[mid].rv <= rv) lo = mid + 1
      else hi = mid
    }
    return c.history.slice(lo)
  }
}
