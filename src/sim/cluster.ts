// The API server's storage semantics over the store: get/create/update/patch/delete as the server
// applies them (validation and defaults from admission.ts), wired to the parts that play the rest
// of a cluster: the kubelet, the node lifecycle controller, the disruption controller and the
// optional workload controllers. Each part lives in its own file and reads alone.
import { checkDecodable, checkEventNamespace, defaultsOnCreate, randomSuffix, sameContent, stripTypeMeta, validate } from './admission.js'
import { WorkloadControllers } from './controllers.js'
import { DisruptionController, keysInNamespace } from './disruption.js'
import { apiVersionOf, idOf, type ResourceDef } from './kinds.js'
import { Kubelet } from './kubelet.js'
import { NodeLifecycle } from './node-lifecycle.js'
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js'
import { alreadyExists, ApiError, badRequest, conflict, invalid, notFound } from './status.js'
import { Store, type Obj } from './store.js'

export { idOf } from './kinds.js'

export interface DeleteOptions { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string }; dryRun?: boolean }

export class Cluster {
  readonly store = new Store()
  readonly kubelet = new Kubelet(this.store)
  readonly nodeLifecycle = new NodeLifecycle(this.store)
  readonly disruption = new DisruptionController(this.store, (pod, grace) => this.kubelet.deletePod(pod, grace))
  readonly workloads = new WorkloadControllers(this.store, {
    createPod: (ns, body) => this.create(this.store.collection('pods').def, ns, body),
    deletePod: (pod, grace) => this.kubelet.deletePod(pod, grace),
  })

  constructor() {
    // Controllers react synchronously to every change, in this order.
    this.store.onChange((ev) => this.disruption.onEvent(ev))
    this.store.onChange((ev) => this.workloads.onEvent(ev))
    this.store.onChange((ev) => this.nodeLifecycle.onEvent(ev))
  }

  /** Overrides every pod's grace period (--pod-terminate-seconds). */
  get podTerminateSeconds(): number | undefined {
    return this.kubelet.podTerminateSeconds
  }

  set podTerminateSeconds(seconds: number | undefined) {
    this.kubelet.podTerminateSeconds = seconds
  }

  /** Run the workload controllers (SimOptions.controllers). */
  get replicaSetController(): boolean {
    return this.workloads.enabled
  }

  set replicaSetController(on: boolean) {
    this.workloads.enabled = on
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
    obj = defaultsOnCreate(this.store, def, obj)
    if (id === 'pods') obj = this.kubelet.admit(obj)
    if (dryRun) return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.store.rv) } }
    return this.store.put(id, obj)
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
    validate(def, next)
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
    if (id === 'pods') return this.kubelet.deletePod(old, opts.gracePeriodSeconds)
    if (id === 'namespaces') {
      // The namespace controller empties it at once here.
      for (const c of this.store.collections.values()) {
        if (!c.def.namespaced) continue
        for (const key of keysInNamespace(this.store, c.id, name)) {
          const o = c.objects.get(key)
          if (o) this.store.remove(c.id, name, o.metadata.name)
        }
      }
    }
    return this.store.remove(id, def.namespaced ? ns : undefined, name)!
  }

  // ---- the other parts, by their old names ----

  evict(ns: string, name: string, body: Obj): Obj {
    return this.disruption.evict(ns, name, body)
  }

  deletePod(pod: Obj, requestedGrace?: number): Obj {
    return this.kubelet.deletePod(pod, requestedGrace)
  }

  flushPdbs(): void {
    this.disruption.flush()
  }

  pdbStatus(pdb: Obj): Obj {
    return this.disruption.pdbStatus(pdb)
  }

  recomputeAllPdbs(): void {
    this.disruption.recomputeAll()
  }

  startHeartbeats(periodSeconds: number): void {
    this.kubelet.startHeartbeats(periodSeconds)
  }

  setNodeReady(name: string, ready: boolean | 'Unknown'): void {
    this.nodeLifecycle.setNodeReady(name, ready)
  }

  /** Stops every timer (on close). */
  stop(): void {
    this.kubelet.stop()
    this.workloads.stop()
  }
}
