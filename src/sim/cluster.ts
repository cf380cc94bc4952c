// The API server's storage semantics over the store: get/create/update/patch/delete as the server
// applies them (validation and defaults from admission.ts), wired to the parts that play the rest
// of a cluster: the kubelet, the node lifecycle controller, the disruption controller and the
// optional workload controllers. Each part lives in its own file and reads alone.
import { checkCreate, checkDecodable, checkEventNamespace, checkFieldValidation, checkUpdate, defaultsOnCreate, defaultsOnWrite, randomSuffix, sameContent, scaleOf, stripTypeMeta, validate } from './admission.js'
import { WorkloadControllers } from './controllers.js'
import { DisruptionController, keysInNamespace } from './disruption.js'
import { apiVersionOf, idOf, tracksGeneration, type ResourceDef } from './kinds.js'
import { Kubelet } from './kubelet.js'
import { NodeLifecycle } from './node-lifecycle.js'
import { SessionController } from './sessions.js'
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
    create: (id, ns, body) => this.create(this.store.collection(id).def, ns, body),
    remove: (id, obj, grace) => {
      if (id === 'pods') this.kubelet.deletePod(obj, grace)
      else if (this.store.get(id, obj.metadata.namespace, obj.metadata.name)) this.delete(this.store.collection(id).def, obj.metadata.namespace, obj.metadata.name)
    },
    bind: (pod, node) => {
      const current = this.store.get('pods', pod.metadata.namespace, pod.metadata.name)
      if (current && !current.spec?.nodeName) this.store.put('pods', this.kubelet.admit({ ...current, spec: { ...current.spec, nodeName: node } }))
    },
  })
  readonly sessions = new SessionController(this.store, {
    createDeployment: (ns, body) => this.create(this.store.collection('deployments.apps').def, ns, body),
    deleteDeployment: (d) => this.delete(this.store.collection('deployments.apps').def, d.metadata.namespace, d.metadata.name),
  })

  constructor() {
    // Controllers react synchronously to every change, in this order.
    this.store.onChange((ev) => this.disruption.onEvent(ev))
    this.store.onChange((ev) => this.workloads.onEvent(ev))
    this.store.onChange((ev) => this.sessions.onEvent(ev))
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
    this.sessions.enabled = on
  }

  // ---- reads ----

  get(def: ResourceDef, ns: string | undefined, name: string): Obj {
    const obj = this.store.get(idOf(def), def.namespaced ? ns : undefined, name)
    if (!obj) throw notFound(def.plural, name, def.group)
    return obj
  }

  // ---- writes ----

  /** fieldValidation: the request's query parameter (Strict refuses fields a CRD schema would prune). */
  create(def: ResourceDef, ns: string | undefined, body: Obj, dryRun = false, fieldValidation?: string): Obj {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body of the request was in an unknown format')
    if (body.kind && body.kind !== def.kind) throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(def)})`)
    checkFieldValidation(def, body, fieldValidation)
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
    checkCreate(this.store, def, { ...body, metadata })
    let obj = Store.initMetadata({ ...stripTypeMeta(body), metadata }, tracksGeneration(def))
    obj = defaultsOnCreate(this.store, def, obj)
    // With the workload controllers running, a new Deployment or ReplicaSet starts without status: they report it.
    if (this.workloads.enabled && (id === 'deployments.apps' || id === 'replicasets.apps')) obj = { ...obj, status: {} }
    if (id === 'pods') obj = this.kubelet.admit(obj)
    if (dryRun) return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.store.rv) } }
    return this.store.put(id, obj)
  }

  /** PUT of the main resource (subresource undefined), of its status, or of its scale (answered as a Scale). */
  update(def: ResourceDef, ns: string | undefined, name: string, body: Obj, subresource?: string, dryRun = false, fieldValidation?: string): Obj {
    const old = this.get(def, ns, name)
    if (subresource === 'scale') return this.updateScale(def, old, body, dryRun)
    if (!body || typeof body !== 'object') throw badRequest('the body of the request was in an unknown format')
    checkFieldValidation(def, body, fieldValidation)
    if (body.metadata?.name && body.metadata.name !== name) throw badRequest('the name of the object does not match the name on the URL')
    if (body.metadata?.resourceVersion && body.metadata.resourceVersion !== old.metadata.resourceVersion) throw conflict(def.plural, name, def.group)
    return this.replace(def, old, stripTypeMeta(body), subresource, dryRun)
  }

  patch(def: ResourceDef, ns: string | undefined, name: string, body: any, contentType: string, subresource?: string, dryRun = false, fieldValidation?: string): Obj {
    // The media type is checked before the object is looked up, as the server does.
    if (def.custom && subresource !== 'scale' && contentType.startsWith('application/strategic-merge-patch+json')) {
      throw new ApiError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml')
    }
    const old = this.get(def, ns, name)
    let patched: Obj
    const current = { kind: def.kind, apiVersion: apiVersionOf(def), ...old }
    if (subresource === 'scale') return this.patchScale(def, old, body, contentType, dryRun)
    if (contentType.startsWith('application/json-patch+json')) patched = applyJsonPatch(current, body)
    else if (contentType.startsWith('application/merge-patch+json')) patched = applyMergePatch(current, body)
    else if (contentType.startsWith('application/strategic-merge-patch+json')) patched = applyStrategicMergePatch(current, body)
    else if (contentType.startsWith('application/apply-patch')) throw new ApiError(415, 'UnsupportedMediaType', 'server-side apply is not supported by the simulator')
    else throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`)
    checkFieldValidation(def, patched, fieldValidation)
    // A resourceVersion in the patch is a precondition, as on the real server.
    const wanted = patched.metadata?.resourceVersion
    if (wanted !== undefined && wanted !== old.metadata.resourceVersion) throw conflict(def.plural, name, def.group)
    if (patched.metadata?.name !== name) throw badRequest('metadata.name: Invalid value: the name of the object may not change')
    return this.replace(def, old, stripTypeMeta(patched), subresource, dryRun)
  }

  private replace(def: ResourceDef, old: Obj, next: Obj, subresource: string | undefined, dryRun: boolean): Obj {
    // What a write may change (the strategies' PrepareForUpdate): the status subresource status alone, the
    // main resource all but a status subresource's status. Defaults (a CRD schema's pruning too) and
    // validation then see the object as it would be stored.
    if (subresource === 'status') next = { ...old, status: next.status }
    else if (def.status) {
      next = { ...next, status: old.status }
      if (old.status === undefined) delete next.status
    }
    next = defaultsOnWrite(def, next)
    validate(def, next)
    if (subresource !== 'status') checkUpdate(def, old, next)
    let obj: Obj
    if (subresource === 'status') {
      obj = next
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
      if (idOf(def) === 'pods' && old.spec?.nodeName && next.spec?.nodeName !== old.spec.nodeName) {
        throw invalid('Pod', m.name, 'spec', 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations), `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)')
      }
      if (m.generation !== undefined && JSON.stringify(obj.spec) !== JSON.stringify(old.spec)) metadata.generation = m.generation + 1
    }
    // An update that changes nothing keeps the resourceVersion and sends no event, as on the real server.
    if (sameContent(obj, old) || dryRun) return dryRun ? obj : old
    return this.store.put(idOf(def), obj)
  }

  // ---- the scale subresource: autoscaling/v1 Scale over spec.replicas ----

  getScale(def: ResourceDef, ns: string | undefined, name: string): Obj {
    return scaleOf(def, this.get(def, ns, name))
  }

  private updateScale(def: ResourceDef, old: Obj, body: Obj, dryRun: boolean): Obj {
    if (!body || typeof body !== 'object') throw badRequest('the body of the request was in an unknown format')
    const name = old.metadata.name
    if (body.metadata?.resourceVersion && body.metadata.resourceVersion !== old.metadata.resourceVersion) throw conflict(def.plural, name, def.group)
    const replicas = body.spec?.replicas ?? 0
    if (!Number.isInteger(replicas) || replicas < 0) {
      if (def.custom) {
        const message = `Invalid value: ${JSON.stringify(replicas)}: should be a non-negative integer`
        throw new ApiError(422, 'Invalid', `${def.kind}.${def.group} "${name}" is invalid: .spec.replicas: ${message}`, { name, group: def.group, kind: def.kind, causes: [{ reason: 'FieldValueInvalid', message, field: '.spec.replicas' }] })
      }
      const message = `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`
      throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: ${message}`, { name, group: 'autoscaling', kind: 'Scale', causes: [{ reason: 'FieldValueInvalid', message, field: 'spec.replicas' }] })
    }
    const next = { ...old, spec: { ...old.spec, replicas } }
    return scaleOf(def, this.replace(def, old, next, undefined, dryRun))
  }

  private patchScale(def: ResourceDef, old: Obj, body: any, contentType: string, dryRun: boolean): Obj {
    const current = scaleOf(def, old)
    let patched: Obj
    if (contentType.startsWith('application/json-patch+json')) patched = applyJsonPatch(current, body)
    else if (contentType.startsWith('application/merge-patch+json')) patched = applyMergePatch(current, body)
    else if (contentType.startsWith('application/strategic-merge-patch+json')) patched = applyStrategicMergePatch(current, body)
    else throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`)
    return this.updateScale(def, old, patched, dryRun)
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
