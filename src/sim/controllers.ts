// Optional workload controllers (SimOptions.controllers): the ReplicaSet controller with the minimal
// scheduler, so PDBs recover during drains as on a real cluster, and the pod garbage collector for
// pods of deleted nodes. On in the demo cluster; tests and generated clusters leave them off unless asked.
import { randomSuffix } from './admission.js'
import { controllerOf, scheduleNode } from './scheduler.js'
import { lowerBound, type Obj, type Store, type StoreEvent } from './store.js'

/** The pod garbage collector's wait before deleting pods of a node that is gone (kube-controller-manager's 40 s). */
const POD_GC_QUARANTINE_MS = 40_000

/** Pods a ReplicaSet should replace now: active (not terminating) pods below spec.replicas. */
export function missingReplicas(store: Store, rs: Obj): number {
  const pods = store.collection('pods')
  const prefix = `${rs.metadata.namespace}/`
  let active = 0
  for (let i = lowerBound(pods.keys, prefix); i < pods.keys.length && pods.keys[i].startsWith(prefix); i++) {
    const pod = pods.objects.get(pods.keys[i])!
    if (!pod.metadata.deletionTimestamp && controllerOf(pod)?.uid === rs.metadata.uid) active++
  }
  return Math.max(0, (rs.spec?.replicas ?? 1) - active)
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
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: nodeName ? { ...spec, nodeName } : spec,
  }
}

/** What the controllers need of the API: creating a pod as a client would (with the server's defaults). */
export interface ControllerApi {
  createPod(ns: string, body: Obj): Obj
  deletePod(pod: Obj, grace?: number): Obj
}

export class WorkloadControllers {
  enabled = false
  private gcTimers = new Set<NodeJS.Timeout>()

  constructor(private readonly store: Store, private readonly api: ControllerApi) {}

  onEvent(ev: StoreEvent): void {
    if (!this.enabled) return
    if (ev.resource === 'pods') {
      // A ReplicaSet pod that starts terminating (or goes at once) is replaced by its controller.
      const leaving = (ev.type === 'MODIFIED' && ev.obj.metadata.deletionTimestamp && !ev.prev?.metadata.deletionTimestamp) ||
        (ev.type === 'DELETED' && !ev.obj.metadata.deletionTimestamp)
      const owner = controllerOf(ev.obj)
      if (leaving && owner?.kind === 'ReplicaSet') setImmediate(() => this.reconcileReplicaSet(ev.obj.metadata.namespace, owner.name))
    } else if (ev.resource === 'nodes' && ev.type === 'DELETED') {
      // Pod garbage collection: pods bound to a node that is gone are removed after a quarantine.
      const node = ev.obj.metadata.name
      const timer = setTimeout(() => {
        this.gcTimers.delete(timer)
        if (this.store.get('nodes', undefined, node)) return
        for (const key of [...(this.store.podsByNode.get(node) ?? [])]) {
          const pod = this.store.collection('pods').objects.get(key)
          if (pod) this.api.deletePod(pod, 0)
        }
      }, POD_GC_QUARANTINE_MS)
      timer.unref()
      this.gcTimers.add(timer)
    }
  }

  private reconcileReplicaSet(ns: string, name: string): void {
    const rs = this.store.get('replicasets.apps', ns, name)
    if (!rs) return
    for (let n = missingReplicas(this.store, rs); n > 0; n--) this.api.createPod(ns, replacementPod(this.store, rs))
  }

  stop(): void {
    for (const t of this.gcTimers) clearTimeout(t)
    this.gcTimers.clear()
  }
}
