// The API semantics over the store: create/update/patch/delete as the API server applies them,
// plus what the kubelet and the disruption controller do, enough for drains to be real.
import { randomBytes } from 'node:crypto'
import { apiVersionOf, type ResourceDef } from './kinds.js'
import { isoSeconds, nodeInternalIP, nodeIsReady, podIsReady, qosClass, runningStatus, withPodReady } from './objects.js'
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js'
import { controllerOf, missingReplicas, replacementPod } from './controllers.js'
import { labelSelectorObjectMatcher } from './selectors.js'
import { alreadyExists, ApiError, badRequest, conflict, invalid, notFound } from './status.js'
import { lowerBound, objectKey, Store, type Obj, type StoreEvent } from './store.js'

const PDBS = 'poddisruptionbudgets.policy'
const KUBELET_REASONS: Record<string, string> = {
  MemoryPressure: 'KubeletHasSufficientMemory', DiskPressure: 'KubeletHasNoDiskPressure', PIDPressure: 'KubeletHasSufficientPID',
}
/** The pod garbage collector's wait before deleting pods of a node that is gone (kube-controller-manager's 40 s). */
const POD_GC_QUARANTINE_MS = 40_000

export function idOf(def: ResourceDef): string {
  return def.group ? `${def.plural}.${def.group}` : def.plural
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('')
}

function stripTypeMeta(obj: Obj): Obj {
  const { kind: _k, apiVersion: _a, ...rest } = obj
  return rest
}

function sameContent(a: Obj, b: Obj): boolean {
  const strip = (o: Obj) => JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } })
  return strip(a) === strip(b)
}

/** Fields of type metav1.MicroTime: the server parses them with exactly six fractional digits. */
const MICRO_TIME_FIELDS: Record<string, string[][]> = {
  'leases.coordination.k8s.io': [['spec', 'acquireTime'], ['spec', 'renewTime']],
  events: [['eventTime']],
}
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/

/** Rejects what the server's decoder would not accept, as a 400 like its decode errors. */
function checkDecodable(def: ResourceDef, obj: Obj): void {
  for (const path of MICRO_TIME_FIELDS[idOf(def)] ?? []) {
    const value = path.reduce<any>((o, k) => o?.[k], obj)
    if (value === undefined || value === null) continue
    if (typeof value !== 'string' || !MICRO_TIME.test(value)) {
      const rest = typeof value === 'string' ? value.slice(19) : String(value)
      throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: parsing time "${value}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${rest}" as ".000000"`)
    }
  }
}

/** core/v1 Event validation: the event lives in its object's namespace ("default" for cluster-scoped objects). */
function checkEventNamespace(event: Obj, namespace: string): void {
  const objectNs = event.involvedObject?.namespace ?? ''
  const ok = objectNs === '' ? namespace === 'default' || namespace === '' : objectNs === namespace
  if (!ok) throw invalid('Event', event.metadata?.name ?? '', 'involvedObject.namespace', `Invalid value: "${objectNs}": does not match event.namespace`)
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute']

/** Node validation that patches can trip: each taint needs a key and a known effect, unique per (key, effect). */
function validateNode(node: Obj): void {
  const name = node.metadata?.name ?? ''
  const fail = (field: string, reason: string, message: string) => {
    throw new ApiError(422, 'Invalid', `Node "${name}" is invalid: ${field}: ${message}`, { name, kind: 'Node', causes: [{ reason, message, field }] })
  }
  const seen = new Set<string>()
  const taints: Obj[] = node.spec?.taints ?? []
  taints.forEach((taint, i) => {
    // The real server reports taint fields under "metadata.taints" (sic).
    if (!taint?.key) fail(`metadata.taints[${i}].key`, 'FieldValueRequired', 'Required value')
    if (!taint.effect) fail(`metadata.taints[${i}].effect`, 'FieldValueRequired', 'Required value')
    if (!TAINT_EFFECTS.includes(taint.effect)) {
      fail(`metadata.taints[${i}].effect`, 'FieldValueNotSupported', `Unsupported value: "${taint.effect}": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`)
    }
    const id = `${taint.key}:${taint.effect}`
    if (seen.has(id)) fail(`spec.taints[${i}]`, 'FieldValueDuplicate', 'Duplicate value: taints must be unique by key and effect pair')
    seen.add(id)
  })
}

/** What the API server's defaulting and admission add to a new pod. */
function defaultPod(pod: Obj): Obj {
  const spec = pod.spec ?? {}
  const containers = (spec.containers ?? []).map((c: Obj) => ({
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: /:[^/]+$/.test(c.image ?? '') && !String(c.image).endsWith(':latest') ? 'IfNotPresent' : 'Always',
    ...c,
  }))
  const tolerations: Obj[] = [...(spec.tolerations ?? [])]
  // DefaultTolerationSeconds admission: tolerate not-ready and unreachable nodes for 300 s.
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((t) => t.key === key || (t.operator === 'Exists' && !t.key && (!t.effect || t.effect === 'NoExecute')))) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 })
    }
  }
  return {
    ...pod,
    metadata: { ...pod.metadata, generation: 1 },
    spec: {
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      securityContext: {},
      schedulerName: 'default-scheduler',
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      ...spec,
      containers,
      tolerations,
    },
  }
}

export interface DeleteOptions { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string }; dryRun?: boolean }

export class Cluster {
  readonly store = new Store()
  /** Overrides every pod's grace period (--pod-terminate-seconds). */
  podTerminateSeconds?: number
  /** Recreate ReplicaSet pods that go, on a schedulable node (SimOptions.controllers). */
  replicaSetController = false
  private terminationTimers = new Map<string, NodeJS.Timeout>()
  private gcTimers = new Set<NodeJS.Timeout>()
  private heartbeatTimer?: NodeJS.Timeout
  private dirtyPdbs = new Set<string>()
  private pdbFlushScheduled = false

  constructor() {
    this.store.onChange((ev) => this.react(ev))
  }

  // ---- reads ----

  get(def: ResourceDef, ns: string | undefined, name: string): Obj {
    const obj = this.store.get(idOf(def), def.namespaced ? ns : undefined, name)
    if (!obj) throw notFound(def.plural, name, def.group)
    return obj
  }

  // ---- writes ----

  create(def: ResourceDef, ns: string | undefined, body: Obj, dryRun = false): Obj {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body of the request was in an unknown format')
    if (body.kind && body.kind !== def.kind) throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(def)})`)
    const metadata = { ...(body.metadata ?? {}) }
    delete metadata.resourceVersion
    if (!metadata.name) {
      if (!metadata.generateName) throw invalid(def.kind, '', 'metadata.name', 'Required value: name or generateName is required')
      metadata.name = `${metadata.generateName}${randomSuffix()}`
    }
    if (def.namespaced) {
      if (metadata.namespace && ns && metadata.namespace !== ns) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
      }
      metadata.namespace = ns ?? metadata.namespace ?? 'default'
      if (!this.store.get('namespaces', undefined, metadata.namespace)) throw notFound('namespaces', metadata.namespace)
    } else {
      delete metadata.namespace
    }
    const id = idOf(def)
    if (this.store.get(id, metadata.namespace, metadata.name)) throw alreadyExists(def.plural, metadata.name, def.group)
    checkDecodable(def, body)
    if (def.plural === 'events' && def.group === '') checkEventNamespace(body, metadata.namespace)
    let obj = Store.initMetadata({ ...stripTypeMeta(body), metadata }, def.group === 'apps' || def.group === 'policy')
    obj = this.defaultsOnCreate(def, obj)
    if (dryRun) return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.store.rv) } }
    return this.store.put(id, obj)
  }

  private defaultsOnCreate(def: ResourceDef, obj: Obj): Obj {
    switch (idOf(def)) {
      case 'namespaces':
        return {
          ...obj,
          metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name } },
          spec: { finalizers: ['kubernetes'], ...obj.spec },
          status: { phase: 'Active' },
        }
      case 'nodes': {
        validateNode(obj)
        const status = obj.status ?? {}
        const nodeInfo = { machineID: '', systemUUID: '', bootID: '', kernelVersion: '', osImage: '', containerRuntimeVersion: '', kubeletVersion: '', kubeProxyVersion: '', operatingSystem: '', architecture: '', ...status.nodeInfo }
        return { ...obj, status: { ...status, daemonEndpoints: status.daemonEndpoints ?? { kubeletEndpoint: { Port: 0 } }, nodeInfo } }
      }
      case 'pods': {
        const pod: Obj = { ...defaultPod(obj) }
        pod.status = { phase: 'Pending', qosClass: qosClass(pod.spec) }
        const spec = pod.spec
        // The kubelet of a bound pod starts it at once (the sim has no scheduler: unbound pods stay Pending).
        if (spec.nodeName) pod.status = runningStatus(pod, nodeInternalIP(this.store.get('nodes', undefined, spec.nodeName)), new Date())
        return pod
      }
      case 'deployments.apps':
      case 'replicasets.apps':
      case 'statefulsets.apps': {
        const replicas = obj.spec?.replicas ?? 1
        return { ...obj, spec: { replicas, ...obj.spec }, status: { observedGeneration: 1, replicas, readyReplicas: replicas, availableReplicas: replicas } }
      }
      case 'daemonsets.apps': {
        const n = this.store.collection('nodes').objects.size
        return { ...obj, status: { observedGeneration: 1, currentNumberScheduled: n, desiredNumberScheduled: n, numberReady: n, numberAvailable: n, numberMisscheduled: 0, updatedNumberScheduled: n } }
      }
      case PDBS:
        return { ...obj, status: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 } }
      default:
        return obj
    }
  }

  /** PUT of the main resource (subresource undefined) or of its status. */
  update(def: ResourceDef, ns: string | undefined, name: string, body: Obj, subresource?: string, dryRun = false): Obj {
    const old = this.get(def, ns, name)
    if (!body || typeof body !== 'object') throw badRequest('the body of the request was in an unknown format')
    if (body.metadata?.name && body.metadata.name !== name) throw badRequest('the name of the object does not match the name on the URL')
    if (body.metadata?.resourceVersion && body.metadata.resourceVersion !== old.metadata.resourceVersion) throw conflict(def.plural, name, def.group)
    return this.replace(def, old, stripTypeMeta(body), subresource, dryRun)
  }

  patch(def: ResourceDef, ns: string | undefined, name: string, body: any, contentType: string, subresource?: string, dryRun = false): Obj {
    const old = this.get(def, ns, name)
    let patched: Obj
    const current = { kind: def.kind, apiVersion: apiVersionOf(def), ...old }
    if (contentType.startsWith('application/json-patch+json')) patched = applyJsonPatch(current, body)
    else if (contentType.startsWith('application/merge-patch+json')) patched = applyMergePatch(current, body)
    else if (contentType.startsWith('application/strategic-merge-patch+json')) patched = applyStrategicMergePatch(current, body)
    else if (contentType.startsWith('application/apply-patch')) throw new ApiError(415, 'UnsupportedMediaType', 'server-side apply is not supported by the simulator')
    else throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`)
    // A resourceVersion in the patch is a precondition, as on the real server.
    const wanted = patched.metadata?.resourceVersion
    if (wanted !== undefined && wanted !== old.metadata.resourceVersion) throw conflict(def.plural, name, def.group)
    if (patched.metadata?.name !== name) throw badRequest('metadata.name: Invalid value: the name of the object may not change')
    return this.replace(def, old, stripTypeMeta(patched), subresource, dryRun)
  }

  private replace(def: ResourceDef, old: Obj, next: Obj, subresource: string | undefined, dryRun: boolean): Obj {
    checkDecodable(def, next)
    if (idOf(def) === 'nodes') validateNode(next)
    let obj: Obj
    if (subresource === 'status') {
      obj = { ...old, status: next.status }
    } else {
      const m = old.metadata
      const metadata = {
        ...next.metadata,
        name: m.name,
        ...(m.namespace ? { namespace: m.namespace } : {}),
        uid: m.uid,
        creationTimestamp: m.creationTimestamp,
        ...(m.generation !== undefined ? { generation: m.generation } : {}),
        ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp, deletionGracePeriodSeconds: m.deletionGracePeriodSeconds } : {}),
      }
      obj = { ...next, metadata }
      if (def.status) obj.status = old.status
      if (idOf(def) === 'pods' && old.spec?.nodeName && next.spec?.nodeName !== old.spec.nodeName) {
        throw invalid('Pod', m.name, 'spec', 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations), `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)')
      }
      if (m.generation !== undefined && JSON.stringify(obj.spec) !== JSON.stringify(old.spec)) metadata.generation = m.generation + 1
    }
    // An update that changes nothing keeps the resourceVersion and sends no event, as on the real server.
    if (sameContent(obj, old) || dryRun) return dryRun ? obj : old
    return this.store.put(idOf(def), obj)
  }

  delete(def: ResourceDef, ns: string | undefined, name: string, opts: DeleteOptions = {}): Obj {
    const old = this.get(def, ns, name)
    const pre = opts.preconditions
    if ((pre?.uid && pre.uid !== old.metadata.uid) || (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion)) {
      throw conflict(def.plural, name, def.group)
    }
    if (opts.dryRun) return old
    const id = idOf(def)
    if (id === 'pods') return this.deletePod(old, opts.gracePeriodSeconds)
    if (id === 'namespaces') {
      for (const c of this.store.collections.values()) {
        if (!c.def.namespaced) continue
        for (const key of this.keysInNamespace(c.id, name)) {
          const o = c.objects.get(key)
          if (o) this.store.remove(c.id, name, o.metadata.name)
        }
      }
    }
    return this.store.remove(id, def.namespaced ? ns : undefined, name)!
  }

  keysInNamespace(id: string, ns: string): string[] {
    const keys = this.store.collection(id).keys
    const prefix = `${ns}/`
    const out: string[] = []
    for (let i = lowerBound(keys, prefix); i < keys.length && keys[i].startsWith(prefix); i++) out.push(keys[i])
    return out
  }

  /** Graceful deletion: deletionTimestamp now, gone after the grace period (the kubelet's part). */
  deletePod(pod: Obj, requestedGrace?: number): Obj {
    const key = objectKey(pod.metadata.namespace, pod.metadata.name)
    let grace = requestedGrace ?? pod.spec?.terminationGracePeriodSeconds ?? 30
    // Unbound and finished pods have no kubelet to wait for: the server deletes them at once.
    if (!pod.spec?.nodeName || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') grace = 0
    if (grace <= 0) {
      this.clearTimer(key)
      return this.store.remove('pods', pod.metadata.namespace, pod.metadata.name)!
    }
    if (pod.metadata.deletionTimestamp) {
      // Already terminating: a shorter grace period may bring the end closer, a longer one is ignored.
      if (grace >= (pod.metadata.deletionGracePeriodSeconds ?? Infinity)) return pod
    }
    const now = Date.now()
    const terminating = this.store.put('pods', {
      ...pod,
      metadata: {
        ...pod.metadata,
        ...(pod.metadata.generation !== undefined ? { generation: pod.metadata.generation + 1 } : {}),
        deletionTimestamp: isoSeconds(new Date(now + grace * 1000)),
        deletionGracePeriodSeconds: grace,
      },
    })
    const delaySeconds = this.podTerminateSeconds ?? grace
    this.clearTimer(key)
    const uid = pod.metadata.uid
    const timer = setTimeout(() => {
      this.terminationTimers.delete(key)
      const current = this.store.get('pods', pod.metadata.namespace, pod.metadata.name)
      if (current && current.metadata.uid === uid) this.store.remove('pods', pod.metadata.namespace, pod.metadata.name)
    }, delaySeconds * 1000)
    timer.unref()
    this.terminationTimers.set(key, timer)
    return terminating
  }

  private clearTimer(key: string): void {
    const t = this.terminationTimers.get(key)
    if (t) clearTimeout(t)
    this.terminationTimers.delete(key)
  }

  /** Stops the kubelet's pending deletions (on close). */
  stop(): void {
    for (const t of this.terminationTimers.values()) clearTimeout(t)
    this.terminationTimers.clear()
    for (const t of this.gcTimers) clearTimeout(t)
    this.gcTimers.clear()
    clearInterval(this.heartbeatTimer)
  }

  // ---- eviction and the disruption controller ----

  evict(ns: string, name: string, body: Obj): Obj {
    const pod = this.store.get('pods', ns, name)
    if (!pod) throw notFound('pods', name)
    if (body?.metadata?.name && body.metadata.name !== name) throw badRequest(`name in URL does not match name in Eviction object`)
    const grace = body?.deleteOptions?.gracePeriodSeconds
    const dryRun = Array.isArray(body?.deleteOptions?.dryRun) && body.deleteOptions.dryRun.includes('All')
    const done = () => {
      if (!dryRun) this.deletePod(pod, grace)
      return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }
    }
    // Terminating or not running pods are evicted without consulting budgets, as the server does.
    if (pod.metadata.deletionTimestamp || pod.status?.phase !== 'Running') return done()
    const pdbs = this.pdbsFor(pod)
    if (pdbs.length > 1) {
      throw new ApiError(500, 'InternalError', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.')
    }
    if (pdbs.length === 0) return done()
    this.flushPdbs()
    const pdb = this.store.get(PDBS, ns, pdbs[0].metadata.name)!
    const st = pdb.status ?? {}
    // An unready pod does not count against a budget that is already met (policy IfHealthyBudget).
    if (!podIsReady(pod) && (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow' || st.currentHealthy >= st.desiredHealthy)) return done()
    if (!(st.disruptionsAllowed > 0)) {
      throw new ApiError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
        causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${pdb.metadata.name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently` }],
      })
    }
    if (!dryRun) {
      this.store.put(PDBS, {
        ...pdb,
        status: { ...st, disruptionsAllowed: st.disruptionsAllowed - 1, disruptedPods: { ...st.disruptedPods, [name]: new Date().toISOString() } },
      })
    }
    return done()
  }

  private pdbsFor(pod: Obj): Obj[] {
    const out: Obj[] = []
    const c = this.store.collection(PDBS)
    for (const key of this.keysInNamespace(PDBS, pod.metadata.namespace)) {
      const pdb = c.objects.get(key)!
      const sel = pdb.spec?.selector
      if (!sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)) continue
      if (labelSelectorObjectMatcher(sel)(pod)) out.push(pdb)
    }
    return out
  }

  private react(ev: StoreEvent): void {
    if (ev.resource === 'pods') {
      for (const o of [ev.obj, ev.prev]) {
        if (!o) continue
        for (const pdb of this.pdbsFor(o)) this.markPdb(objectKey(pdb.metadata.namespace, pdb.metadata.name))
      }
      // A ReplicaSet pod that starts terminating (or goes at once) is replaced by its controller.
      const leaving = (ev.type === 'MODIFIED' && ev.obj.metadata.deletionTimestamp && !ev.prev?.metadata.deletionTimestamp) ||
        (ev.type === 'DELETED' && !ev.obj.metadata.deletionTimestamp)
      const owner = controllerOf(ev.obj)
      if (this.replicaSetController && leaving && owner?.kind === 'ReplicaSet') {
        setImmediate(() => this.reconcileReplicaSet(ev.obj.metadata.namespace, owner.name))
      }
    } else if (ev.resource === 'nodes' && ev.type === 'DELETED' && this.replicaSetController) {
      // Pod garbage collection: pods bound to a node that is gone are removed after a quarantine.
      const node = ev.obj.metadata.name
      const timer = setTimeout(() => {
        this.gcTimers.delete(timer)
        if (this.store.get('nodes', undefined, node)) return
        for (const key of [...(this.store.podsByNode.get(node) ?? [])]) {
          const pod = this.store.collection('pods').objects.get(key)
          if (pod) this.deletePod(pod, 0)
        }
      }, POD_GC_QUARANTINE_MS)
      timer.unref()
      this.gcTimers.add(timer)
    } else if (ev.resource === PDBS && ev.type !== 'DELETED' && ev.obj.status?.observedGeneration !== ev.obj.metadata.generation) {
      this.markPdb(objectKey(ev.obj.metadata.namespace, ev.obj.metadata.name))
    }
  }

  private reconcileReplicaSet(ns: string, name: string): void {
    const rs = this.store.get('replicasets.apps', ns, name)
    if (!rs) return
    for (let n = missingReplicas(this.store, rs); n > 0; n--) {
      this.create(this.store.collection('pods').def, ns, replacementPod(this.store, rs))
    }
  }

  private markPdb(key: string): void {
    this.dirtyPdbs.add(key)
    if (this.pdbFlushScheduled) return
    this.pdbFlushScheduled = true
    setImmediate(() => this.flushPdbs())
  }

  /** Recomputes the status of changed PDBs as the disruption controller does. */
  flushPdbs(): void {
    this.pdbFlushScheduled = false
    const keys = [...this.dirtyPdbs]
    this.dirtyPdbs.clear()
    for (const key of keys) {
      const pdb = this.store.collection(PDBS).objects.get(key)
      if (!pdb) continue
      const status = this.pdbStatus(pdb)
      if (JSON.stringify(status) !== JSON.stringify(pdb.status)) this.store.put(PDBS, { ...pdb, status })
    }
  }

  pdbStatus(pdb: Obj): Obj {
    const ns = pdb.metadata.namespace
    const match = labelSelectorObjectMatcher(pdb.spec?.selector)
    const pods = this.store.collection('pods').objects
    const nowMs = Date.now()
    const old = pdb.status ?? {}
    const disrupted: Record<string, string> = {}
    let podCount = 0
    let healthy = 0
    // Controllers of the matching pods: their replicas are the expected count for percentages and maxUnavailable.
    const controllers = new Map<string, number | undefined>()
    let unmanaged = false
    for (const key of this.keysInNamespace('pods', ns)) {
      const pod = pods.get(key)!
      if (!match(pod)) continue
      podCount++
      const owner = controllerOf(pod)
      const ownerId = owner ? `${owner.kind}/${owner.name}` : undefined
      if (!owner || (owner.kind !== 'ReplicaSet' && owner.kind !== 'StatefulSet')) unmanaged = true
      else if (!controllers.has(ownerId!)) {
        const ctrl = this.store.get(owner.kind === 'ReplicaSet' ? 'replicasets.apps' : 'statefulsets.apps', ns, owner.name)
        controllers.set(ownerId!, ctrl && ctrl.metadata.uid === owner.uid ? (ctrl.spec?.replicas ?? 1) : undefined)
      }
      const since = old.disruptedPods?.[pod.metadata.name]
      // A pod evicted in the last 2 minutes that is not yet terminating is expected to go: not healthy.
      if (since && !pod.metadata.deletionTimestamp && nowMs - Date.parse(since) < 120_000) {
        disrupted[pod.metadata.name] = since
        continue
      }
      if (!pod.metadata.deletionTimestamp && podIsReady(pod)) healthy++
    }
    // As the disruption controller: an integer minAvailable counts the pods; otherwise the controllers'
    // scale (the real one fails for pods without a scalable controller; the sim counts the pods then).
    const byScale = pdb.spec?.minAvailable === undefined || typeof pdb.spec.minAvailable === 'string'
    const scales = [...controllers.values()]
    const expected = byScale && !unmanaged && scales.length && scales.every((n) => n !== undefined)
      ? scales.reduce((a, n) => a! + n!, 0)!
      : podCount
    const scaled = (v: number | string, roundUp: boolean) => {
      if (typeof v === 'number') return v
      const m = /^(\d+)%$/.exec(v)
      if (!m) return Number(v) || 0
      const x = (expected * Number(m[1])) / 100
      return roundUp ? Math.ceil(x) : Math.floor(x)
    }
    let desired = 0
    if (pdb.spec?.minAvailable !== undefined) desired = scaled(pdb.spec.minAvailable, true)
    else if (pdb.spec?.maxUnavailable !== undefined) desired = Math.max(0, expected - scaled(pdb.spec.maxUnavailable, true))
    const allowed = Math.max(0, healthy - desired)
    const generation = pdb.metadata.generation ?? 1
    const condStatus = allowed > 0 ? 'True' : 'False'
    const oldCond = (old.conditions ?? []).find((c: Obj) => c.type === 'DisruptionAllowed')
    return {
      ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy: desired,
      expectedPods: expected,
      observedGeneration: generation,
      conditions: [{
        type: 'DisruptionAllowed',
        status: condStatus,
        reason: allowed > 0 ? 'SufficientPods' : 'InsufficientPods',
        message: '',
        observedGeneration: generation,
        lastTransitionTime: oldCond?.status === condStatus ? oldCond.lastTransitionTime : isoSeconds(new Date()),
      }],
    }
  }

  /** Recomputes every PDB now (after seeding). */
  recomputeAllPdbs(): void {
    for (const key of this.store.collection(PDBS).keys) this.dirtyPdbs.add(key)
    this.flushPdbs()
  }

  /** Kubelet node status reports: every Ready node's heartbeat times (and its kube-node-lease Lease) are renewed once per period,
   *  spread evenly over it, which is the steady node MODIFIED churn of a real cluster. */
  startHeartbeats(periodSeconds: number): void {
    const nodes = this.store.collection('nodes')
    const tickMs = 100
    let cursor = 0
    let carry = 0
    let last = Date.now()
    this.heartbeatTimer = setInterval(() => {
      // By elapsed time, not ticks, so a busy event loop does not slow the rate down.
      const nowMs = Date.now()
      carry = Math.min(carry + (nodes.keys.length * (nowMs - last)) / (periodSeconds * 1000), nodes.keys.length)
      last = nowMs
      const now = isoSeconds(new Date())
      for (; carry >= 1; carry--) {
        if (nodes.keys.length === 0) break
        cursor = cursor % nodes.keys.length
        const node = nodes.objects.get(nodes.keys[cursor++])
        if (!node || !nodeIsReady(node)) continue
        const conditions = (node.status?.conditions ?? []).map((c: Obj) => ({ ...c, lastHeartbeatTime: now }))
        this.store.put('nodes', { ...node, status: { ...node.status, conditions } })
        const lease = this.store.get('leases.coordination.k8s.io', 'kube-node-lease', node.metadata.name)
        if (lease) this.store.put('leases.coordination.k8s.io', { ...lease, spec: { ...lease.spec, renewTime: new Date().toISOString().replace('Z', '000Z') } })
      }
    }, tickMs)
    this.heartbeatTimer.unref()
  }

  setNodeReady(name: string, ready: boolean | 'Unknown'): void {
    const node = this.store.get('nodes', undefined, name)
    if (!node) throw notFound('nodes', name)
    const status = ready === 'Unknown' ? 'Unknown' : ready ? 'True' : 'False'
    const now = isoSeconds(new Date())
    const current: Obj[] = node.status?.conditions ?? []
    const old = current.find((c: Obj) => c.type === 'Ready')
    if (old?.status === status) return
    const conditions: Obj[] = current.filter((c: Obj) => c.type !== 'Ready').map((c: Obj): Obj => {
      // A silent kubelet: the node lifecycle controller turns every condition Unknown; a kubelet back reports them again.
      if (status === 'Unknown') return { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: now }
      if (c.status === 'Unknown') return { ...c, status: 'False', reason: KUBELET_REASONS[c.type] ?? 'KubeletReady', message: '', lastHeartbeatTime: now, lastTransitionTime: now }
      return { ...c, lastHeartbeatTime: now }
    })
    conditions.push({
      type: 'Ready',
      status,
      // The controller keeps the kubelet's last heartbeat; a posting kubelet renews it.
      lastHeartbeatTime: status === 'Unknown' ? (old?.lastHeartbeatTime ?? now) : now,
      lastTransitionTime: now,
      reason: status === 'True' ? 'KubeletReady' : status === 'False' ? 'KubeletNotReady' : 'NodeStatusUnknown',
      message: status === 'True' ? 'kubelet is posting ready status' : status === 'False' ? 'container runtime is down' : 'Kubelet stopped posting node status.',
    })
    this.store.put('nodes', { ...node, status: { ...node.status, conditions } })
    // The node lifecycle controller marks the node's pods not ready; a kubelet back makes them ready again.
    const at = new Date()
    const pods = this.store.collection('pods').objects
    for (const key of [...(this.store.podsByNode.get(name) ?? [])]) {
      const pod = pods.get(key)
      if (!pod || pod.status?.phase !== 'Running') continue
      const next = withPodReady(pod, status === 'True', at)
      if (next !== pod) this.store.put('pods', next)
    }
  }
}
