// Optional workload controllers (SimOptions.controllers), as kube-controller-manager runs them, with
// the minimal scheduler of scheduler.ts:
// - Deployment: one ReplicaSet per pod template (named <deployment>-<template hash>, labelled
//   pod-template-hash), scaled to spec.replicas, older ones to 0; status summed from them;
// - ReplicaSet: pods created or deleted to match spec.replicas (a pod that starts terminating is
//   replaced at once, so PDBs recover during drains), new pods bound by the scheduler (Pending when
//   nothing fits, bound later when a node turns up); status counted from its pods;
// - garbage collection: dependents (ownerReferences) of a deleted Deployment, ReplicaSet or Session go
//   too; pods of a deleted node go 40 s later (the pod garbage collector).
// On in the demo cluster; tests and generated clusters leave them off unless asked.
import { randomSuffix } from './admission.js'
import { hash, podIsReady } from './objects.js'
import { controllerOf, scheduleNode } from './scheduler.js'
import { lowerBound, objectKey, type Obj, type Store, type StoreEvent } from './store.js'

/** The pod garbage collector's wait before deleting pods of a node that is gone (kube-controller-manager's 40 s). */
const POD_GC_QUARANTINE_MS = 40_000
const DEPLOYMENTS = 'deployments.apps'
const REPLICASETS = 'replicasets.apps'

/** A stable 10-character hash of a pod template, as the Deployment controller's pod-template-hash. */
export function templateHash(template: Obj | undefined): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
  const text = JSON.stringify(template ?? {})
  let h = hash(text)
  let out = ''
  for (let i = 0; i < 10; i++) {
    out += alphabet[h % alphabet.length]
    h = Math.floor(h / alphabet.length) || hash(text + out)
  }
  return out
}

function ownerRef(owner: Obj, kind: string, apiVersion: string): Obj {
  return { apiVersion, kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true }
}

/** The ReplicaSet a Deployment runs for its current template. */
export function replicaSetFor(d: Obj, hashText: string, replicas: number): Obj {
  const template = d.spec?.template ?? {}
  const labels = { ...template.metadata?.labels, 'pod-template-hash': hashText }
  return {
    metadata: {
      name: `${d.metadata.name}-${hashText}`,
      namespace: d.metadata.namespace,
      labels,
      annotations: { 'deployment.kubernetes.io/desired-replicas': String(d.spec?.replicas ?? 1), 'deployment.kubernetes.io/max-replicas': String((d.spec?.replicas ?? 1) + 1), 'deployment.kubernetes.io/revision': '1' },
      ownerReferences: [ownerRef(d, 'Deployment', 'apps/v1')],
    },
    spec: {
      replicas,
      selector: { ...d.spec?.selector, matchLabels: { ...d.spec?.selector?.matchLabels, 'pod-template-hash': hashText } },
      template: { ...template, metadata: { ...template.metadata, labels } },
    },
  }
}

/** A new pod from the ReplicaSet's template, bound by the scheduler (unbound and Pending if nothing fits). */
export function replacementPod(store: Store, rs: Obj): Obj {
  const template = rs.spec?.template ?? {}
  const spec = { ...template.spec }
  const nodeName = scheduleNode(store, spec)
  return {
    metadata: {
      name: `${rs.metadata.name}-${randomSuffix()}`,
      generateName: `${rs.metadata.name}-`,
      namespace: rs.metadata.namespace,
      labels: { ...template.metadata?.labels },
      ownerReferences: [ownerRef(rs, 'ReplicaSet', 'apps/v1')],
    },
    spec: nodeName ? { ...spec, nodeName } : spec,
  }
}

function keysIn(store: Store, id: string, ns: string): string[] {
  const keys = store.collection(id).keys
  const prefix = `${ns}/`
  const out: string[] = []
  for (let i = lowerBound(keys, prefix); i < keys.length && keys[i].startsWith(prefix); i++) out.push(keys[i])
  return out
}

/** Objects of a namespaced resource whose controller is the given owner. */
export function ownedBy(store: Store, id: string, owner: Obj): Obj[] {
  const c = store.collection(id)
  const out: Obj[] = []
  for (const key of keysIn(store, id, owner.metadata.namespace)) {
    const o = c.objects.get(key)!
    if (o.metadata.ownerReferences?.some((r: Obj) => r.uid === owner.metadata.uid)) out.push(o)
  }
  return out
}

const isActive = (pod: Obj) => !pod.metadata.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed'

/** Pods a ReplicaSet should replace now: active (not terminating) pods below spec.replicas. */
export function missingReplicas(store: Store, rs: Obj): number {
  const active = ownedBy(store, 'pods', rs).filter(isActive).length
  return Math.max(0, (rs.spec?.replicas ?? 1) - active)
}

/** What the controllers need of the API: writes as a client makes them (with the server's defaults). */
export interface ControllerApi {
  create(id: string, ns: string, body: Obj): Obj
  /** Deletes as the API does (pods gracefully, or with this grace period). */
  remove(id: string, obj: Obj, grace?: number): void
  /** Binds an unbound pod to a node (the scheduler's Binding). */
  bind(pod: Obj, node: string): void
}

/** Puts changed status only: an unchanged status writes nothing (no event). */
function putStatus(store: Store, id: string, obj: Obj, status: Obj): void {
  if (JSON.stringify(status) !== JSON.stringify(obj.status)) store.put(id, { ...obj, status })
}

export class WorkloadControllers {
  enabled = false
  private gcTimers = new Set<NodeJS.Timeout>()
  private readonly deployments = new Set<string>()
  private readonly replicaSets = new Set<string>()
  /** Unbound pods of ReplicaSets, waiting for a node. */
  private readonly pending = new Set<string>()
  private scheduleAll = false
  private scheduled = false

  constructor(private readonly store: Store, private readonly api: ControllerApi) {}

  onEvent(ev: StoreEvent): void {
    if (!this.enabled) return
    const o = ev.obj
    const ns = o.metadata.namespace
    switch (ev.resource) {
      case 'pods': {
        const owner = controllerOf(o)
        if (owner?.kind === 'ReplicaSet') this.replicaSets.add(objectKey(ns, owner.name))
        const key = objectKey(ns, o.metadata.name)
        if (ev.type !== 'DELETED' && !o.spec?.nodeName && !o.metadata.deletionTimestamp && owner?.kind === 'ReplicaSet') this.pending.add(key)
        else this.pending.delete(key)
        break
      }
      case REPLICASETS: {
        const owner = controllerOf(o)
        if (owner?.kind === 'Deployment') this.deployments.add(objectKey(ns, owner.name))
        if (ev.type === 'DELETED') this.collectDependents(o, ['pods'])
        else this.replicaSets.add(objectKey(ns, o.metadata.name))
        break
      }
      case DEPLOYMENTS:
        if (ev.type === 'DELETED') this.collectDependents(o, [REPLICASETS])
        else this.deployments.add(objectKey(ns, o.metadata.name))
        break
      case 'sessions.stream.space':
        if (ev.type === 'DELETED') this.collectDependents(o, [DEPLOYMENTS])
        break
      case 'nodes':
        if (ev.type === 'DELETED') this.collectPodsOf(o.metadata.name)
        else if (this.pending.size) this.scheduleAll = true
        break
      default:
        return
    }
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.flush())
  }

  private flush(): void {
    this.scheduled = false
    for (const key of [...this.deployments]) {
      this.deployments.delete(key)
      const d = this.store.collection(DEPLOYMENTS).objects.get(key)
      if (d) this.reconcileDeployment(d)
    }
    for (const key of [...this.replicaSets]) {
      this.replicaSets.delete(key)
      const rs = this.store.collection(REPLICASETS).objects.get(key)
      if (rs) this.reconcileReplicaSet(rs)
    }
    if (this.scheduleAll) {
      this.scheduleAll = false
      for (const key of [...this.pending]) {
        const pod = this.store.collection('pods').objects.get(key)
        if (!pod || pod.spec?.nodeName) continue
        const node = scheduleNode(this.store, pod.spec ?? {})
        if (node) this.api.bind(pod, node)
      }
    }
  }

  private reconcileDeployment(d: Obj): void {
    const replicas = d.spec?.replicas ?? 1
    const hashText = templateHash(d.spec?.template)
    const owned = ownedBy(this.store, REPLICASETS, d)
    let current = owned.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hashText)
    if (!current) {
      if (this.store.get(REPLICASETS, d.metadata.namespace, `${d.metadata.name}-${hashText}`)) return // a name taken by someone else
      current = this.api.create(REPLICASETS, d.metadata.namespace, replicaSetFor(d, hashText, replicas))
    } else if (current.spec?.replicas !== replicas) {
      current = this.store.put(REPLICASETS, { ...current, metadata: { ...current.metadata, generation: (current.metadata.generation ?? 1) + 1 }, spec: { ...current.spec, replicas } })
    }
    for (const rs of owned) {
      if (rs !== current && rs.metadata.uid !== current.metadata.uid && (rs.spec?.replicas ?? 0) > 0) {
        this.store.put(REPLICASETS, { ...rs, metadata: { ...rs.metadata, generation: (rs.metadata.generation ?? 1) + 1 }, spec: { ...rs.spec, replicas: 0 } })
      }
    }
    const all = ownedBy(this.store, REPLICASETS, d)
    const sum = (f: string) => all.reduce((n, rs) => n + (rs.status?.[f] ?? 0), 0)
    const available = sum('availableReplicas')
    const updated = this.store.get(REPLICASETS, d.metadata.namespace, current.metadata.name)?.status?.replicas ?? 0
    const done = available >= replicas && updated === replicas && sum('replicas') === replicas
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    const old: Obj[] = d.status?.conditions ?? []
    const condition = (type: string, status: string, reason: string, message: string) => {
      const prev = old.find((c) => c.type === type)
      const same = prev?.status === status && prev?.reason === reason
      return { type, status, lastUpdateTime: same ? prev.lastUpdateTime : now, lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : now, reason, message }
    }
    const status: Obj = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas: sum('replicas'),
      updatedReplicas: updated,
      readyReplicas: sum('readyReplicas'),
      availableReplicas: available,
      ...(replicas - available > 0 ? { unavailableReplicas: replicas - available } : {}),
      conditions: [
        available >= replicas
          ? condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
          : condition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
        done
          ? condition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${current.metadata.name}" has successfully progressed.`)
          : condition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${current.metadata.name}" is progressing.`),
      ],
    }
    for (const f of ['readyReplicas', 'availableReplicas', 'replicas', 'updatedReplicas']) if (status[f] === 0) delete status[f]
    putStatus(this.store, DEPLOYMENTS, d, status)
  }

  private reconcileReplicaSet(rs: Obj): void {
    const replicas = rs.spec?.replicas ?? 1
    const pods = ownedBy(this.store, 'pods', rs).filter(isActive)
    if (pods.length < replicas) {
      for (let n = replicas - pods.length; n > 0; n--) this.api.create('pods', rs.metadata.namespace, replacementPod(this.store, rs))
    } else if (pods.length > replicas) {
      // As the controller ranks them: unbound first, then not ready, then the newest.
      const rank = (p: Obj) => (p.spec?.nodeName ? 2 : 0) + (podIsReady(p) ? 1 : 0)
      const victims = [...pods].sort((a, b) => rank(a) - rank(b) || String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)))
      for (const pod of victims.slice(0, pods.length - replicas)) this.api.remove('pods', pod)
    }
    const current = this.store.get(REPLICASETS, rs.metadata.namespace, rs.metadata.name)
    if (!current) return
    const active = ownedBy(this.store, 'pods', current).filter(isActive)
    const ready = active.filter(podIsReady).length
    const status: Obj = {
      replicas: active.length,
      fullyLabeledReplicas: active.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: current.metadata.generation ?? 1,
    }
    for (const f of ['readyReplicas', 'availableReplicas', 'fullyLabeledReplicas']) if (status[f] === 0) delete status[f]
    putStatus(this.store, REPLICASETS, current, status)
  }

  /** The garbage collector: objects whose owner is gone are deleted (pods gracefully). */
  private collectDependents(owner: Obj, ids: string[]): void {
    setImmediate(() => {
      for (const id of ids) for (const o of ownedBy(this.store, id, owner)) this.api.remove(id, o)
    })
  }

  /** Pod garbage collection: pods bound to a node that is gone are removed after a quarantine. */
  private collectPodsOf(node: string): void {
    const timer = setTimeout(() => {
      this.gcTimers.delete(timer)
      if (this.store.get('nodes', undefined, node)) return
      for (const key of [...(this.store.podsByNode.get(node) ?? [])]) {
        const pod = this.store.collection('pods').objects.get(key)
        if (pod) this.api.remove('pods', pod, 0)
      }
    }, POD_GC_QUARANTINE_MS)
    timer.unref()
    this.gcTimers.add(timer)
  }

  stop(): void {
    for (const t of this.gcTimers) clearTimeout(t)
    this.gcTimers.clear()
  }
}
