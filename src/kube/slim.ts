// What the watch caches keep of each object, cut at the reflector boundary. At 5,000 nodes and
// 150,000 pods the raw objects would cost hundreds of MB (a node's status.images alone is most of
// its 7 KB; each pod repeats its namespace, owner and default tolerations as separate strings):
// nodes keep exactly the fields of NodeObject (src/kube/types.ts), which is all that every reader
// of the cache (read model, health, drain, selection, maintenance, autoscaling, metrics) can see;
// pods keep SlimPod, with the strings and lists that repeat across pods shared through an Interner.
import type { NodeObject, Taint, Toleration } from './types.js'
import type { FieldMask } from './raw.js'
import { parseQuantity } from './quantity.js'

type Raw = Record<string, unknown> | undefined

/** A field in a hand-built sharing key: absent is not the string "undefined". */
const part = (v: string | number | undefined): string => (v === undefined ? '\u0002' : String(v))

const obj = (x: unknown): Raw => (x && typeof x === 'object' && !Array.isArray(x) ? x as Record<string, unknown> : undefined)
const arr = (x: unknown): unknown[] | undefined => (Array.isArray(x) ? x : undefined)

/** Copies the listed keys that are present (undefined ones are left out, as JSON would). */
function pick<T>(from: Raw, keys: readonly string[]): T | undefined {
  if (!from) return undefined
  const out: Record<string, unknown> = {}
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k]
  return out as T
}

type Condition = NonNullable<NonNullable<NodeObject['status']>['conditions']>[number]

const CONDITION_KEYS = ['type', 'status', 'reason', 'message', 'lastTransitionTime', 'lastHeartbeatTime'] as const
const TAINT_KEYS = ['key', 'value', 'effect', 'timeAdded'] as const

/** The members of a node that slimNode reads (a list page parses only these). */
export const NODE_FIELDS: FieldMask = {
  metadata: { name: true, uid: true, creationTimestamp: true, resourceVersion: true, labels: true, annotations: true },
  spec: { unschedulable: true, podCIDR: true, providerID: true, taints: true },
  status: { capacity: true, allocatable: true, conditions: true, addresses: true, nodeInfo: true },
}

/**
 * A node as the cache keeps it: the fields NodeObject declares and nothing else (no status.images,
 * volumesInUse, daemonEndpoints, managedFields, ...). Works on raw API JSON and client-node models.
 */
export function slimNode(raw: unknown, intern: Interner = new Interner()): NodeObject {
  const r = obj(raw) ?? {}
  const meta = obj(r.metadata)
  const spec = obj(r.spec)
  const status = obj(r.status)
  const out: NodeObject = {}
  if (meta) {
    out.metadata = pick(meta, ['name', 'uid', 'creationTimestamp', 'resourceVersion'])!
    const labels = obj(meta.labels)
    if (labels) out.metadata.labels = intern.values(labels as Record<string, string>)
    const annotations = obj(meta.annotations)
    if (annotations) out.metadata.annotations = intern.values(annotations as Record<string, string>)
  }
  if (spec) {
    out.spec = pick(spec, ['unschedulable', 'podCIDR', 'providerID'])!
    const taints = arr(spec.taints)
    if (taints) out.spec.taints = taints.map((t) => pick<Taint>(obj(t), TAINT_KEYS)!)
  }
  if (status) {
    out.status = {}
    const capacity = obj(status.capacity)
    if (capacity) out.status.capacity = intern.record(capacity as Record<string, string>)
    const allocatable = obj(status.allocatable)
    if (allocatable) out.status.allocatable = intern.record(allocatable as Record<string, string>)
    const conditions = arr(status.conditions)
    if (conditions) {
      out.status.conditions = conditions.map((raw) => {
        const c = pick<Condition>(obj(raw), CONDITION_KEYS)!
        c.type = intern.str(c.type)
        c.status = intern.str(c.status)
        if (c.reason !== undefined) c.reason = intern.str(c.reason)
        if (c.message !== undefined) c.message = intern.str(c.message)
        // Heartbeats renew every node's conditions at about the same second: shared texts.
        if (typeof c.lastHeartbeatTime === 'string') c.lastHeartbeatTime = intern.str(c.lastHeartbeatTime)
        if (typeof c.lastTransitionTime === 'string') c.lastTransitionTime = intern.str(c.lastTransitionTime)
        return c
      })
    }
    const addresses = arr(status.addresses)
    if (addresses) out.status.addresses = addresses.map((a) => pick<{ type: string; address: string }>(obj(a), ['type', 'address'])!)
    const nodeInfo = obj(status.nodeInfo)
    if (nodeInfo) out.status.nodeInfo = intern.values(nodeInfo as Record<string, string>)
  }
  return out
}

/**
 * Shares equal strings, and equal small records and lists, between the objects of a cache: one
 * copy of "kube-system", of a ReplicaSet's name, of the default not-ready/unreachable tolerations.
 * Values handed out are shared, so callers must not mutate them (nothing in the caches does).
 * A cache starts a new pool on each full list, so no pool holds values no object uses any more.
 */
export class Interner {
  private readonly strings = new Map<string, string>()
  private readonly shared = new Map<string, unknown>()

  /** Strings longer than this are not pooled (names of one object only: nothing to share). */
  static readonly MAX_STRING = 128

  str<T extends string | undefined>(s: T): T {
    if (s === undefined || s.length > Interner.MAX_STRING) return s
    const have = this.strings.get(s)
    if (have !== undefined) return have as T
    this.strings.set(s, s)
    return s
  }

  /** A copy of a string-valued record (labels) with its keys and values pooled: for records that differ per object. */
  values(r: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(r)) out[this.str(k)] = typeof v === 'string' ? this.str(v) : v
    return out
  }

  /** A string-valued record (capacity, nodeSelector), shared when another has the same entries. */
  record(r: Record<string, string>): Record<string, string> {
    const key = JSON.stringify(r)
    if (key.length > 4096) return r
    const have = this.shared.get(key)
    if (have) return have as Record<string, string>
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(r)) out[this.str(k)] = typeof v === 'string' ? this.str(v) : v
    this.shared.set(key, out)
    return out
  }

  /** A pod's tolerations, shared with every pod that has the same ones. */
  tolerations(ts: Toleration[]): Toleration[] {
    // Built by hand: JSON.stringify of every pod's tolerations was a twentieth of a 150,000-pod sync.
    let key = 'tolerations'
    for (const t of ts) key += `\u0000${part(t.key)}\u0001${part(t.operator)}\u0001${part(t.value)}\u0001${part(t.effect)}\u0001${part(t.tolerationSeconds)}`
    const have = this.shared.get(key)
    if (have) return have as Toleration[]
    const out = ts.map((t) => {
      const c: Toleration = {}
      if (t.key !== undefined) c.key = this.str(t.key)
      if (t.operator !== undefined) c.operator = this.str(t.operator)
      if (t.value !== undefined) c.value = this.str(t.value)
      if (t.effect !== undefined) c.effect = this.str(t.effect)
      if (t.tolerationSeconds !== undefined) c.tolerationSeconds = t.tolerationSeconds
      return c
    })
    this.shared.set(key, out)
    return out
  }
}

interface RawContainer { resources?: { requests?: Record<string, string> }; restartPolicy?: string }
/** The members of a pod spec that podRequests reads. */
export interface RawPodSpec { containers?: RawContainer[]; initContainers?: RawContainer[]; overhead?: Record<string, string> }

/** What podRequests reads of a pod, for list pages (a FieldMask under spec). */
export const POD_REQUEST_FIELDS: { readonly [member: string]: FieldMask } = {
  containers: { resources: { requests: true } },
  initContainers: { resources: { requests: true }, restartPolicy: true },
  overhead: true,
}

/** Nano units of a quantity; one the API server let through but we cannot read counts 0. */
function nano(q: string | undefined): bigint {
  if (!q) return 0n
  try { return parseQuantity(q).nano } catch { return 0n }
}
const maxOf = (a: bigint, b: bigint) => (a > b ? a : b)

/**
 * A pod's CPU (millicores) and memory (bytes) requests as kube-scheduler's NodeResourcesFit counts
 * them, for the pod being placed and for the pods already on a node alike (k8s.io/component-helpers
 * resource/helpers.go, PodRequests and AggregateContainerRequests, v0.33): per resource, the larger
 * of the app containers plus the sidecars (init containers with restartPolicy Always) and the
 * largest regular init container together with the sidecars started before it; then plus
 * spec.overhead. Summed exactly, then rounded up once per pod as Quantity.MilliValue and Value do
 * (pkg/scheduler/framework/types.go, Resource.Add / SetMaxResource).
 */
export function podRequests(spec: RawPodSpec | undefined): { cpuMilli: number; memoryBytes: number } {
  let cpu = 0n, memory = 0n
  for (const c of spec?.containers ?? []) {
    cpu += nano(c.resources?.requests?.cpu)
    memory += nano(c.resources?.requests?.memory)
  }
  // Sidecars started so far, and the most any init step needs while it runs.
  let sideCpu = 0n, sideMemory = 0n, initCpu = 0n, initMemory = 0n
  for (const c of spec?.initContainers ?? []) {
    const cCpu = nano(c.resources?.requests?.cpu), cMemory = nano(c.resources?.requests?.memory)
    if (c.restartPolicy === 'Always') {
      cpu += cCpu; memory += cMemory
      sideCpu += cCpu; sideMemory += cMemory
      initCpu = maxOf(initCpu, sideCpu); initMemory = maxOf(initMemory, sideMemory)
    } else {
      initCpu = maxOf(initCpu, cCpu + sideCpu); initMemory = maxOf(initMemory, cMemory + sideMemory)
    }
  }
  cpu = maxOf(cpu, initCpu) + nano(spec?.overhead?.cpu)
  memory = maxOf(memory, initMemory) + nano(spec?.overhead?.memory)
  return { cpuMilli: Number((cpu + 999_999n) / 1_000_000n), memoryBytes: Number((memory + 999_999_999n) / 1_000_000_000n) }
}
