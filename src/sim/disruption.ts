// The eviction subresource and kube-controller-manager's disruption controller: PodDisruptionBudget
// status recomputed whenever a matching pod changes, and evictions checked against it.
import { PDBS } from './admission.js'
import { controllerOf } from './scheduler.js'
import { isoSeconds, podIsReady } from './objects.js'
import { labelSelectorObjectMatcher } from './selectors.js'
import { ApiError, badRequest, notFound } from './status.js'
import { lowerBound, objectKey, type Obj, type Store, type StoreEvent } from './store.js'

/** Keys of a namespaced collection's objects in one namespace. */
export function keysInNamespace(store: Store, id: string, ns: string): string[] {
  const keys = store.collection(id).keys
  const prefix = `${ns}/`
  const out: string[] = []
  for (let i = lowerBound(keys, prefix); i < keys.length && keys[i].startsWith(prefix); i++) out.push(keys[i])
  return out
}

export class DisruptionController {
  private dirtyPdbs = new Set<string>()
  private flushScheduled = false

  /** deletePod: the kubelet's graceful deletion, which an allowed eviction performs. */
  constructor(private readonly store: Store, private readonly deletePod: (pod: Obj, grace?: number) => Obj) {}

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
    this.flush()
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
    for (const key of keysInNamespace(this.store, PDBS, pod.metadata.namespace)) {
      const pdb = c.objects.get(key)!
      const sel = pdb.spec?.selector
      if (!sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)) continue
      if (labelSelectorObjectMatcher(sel)(pod)) out.push(pdb)
    }
    return out
  }

  /** Store listener: a pod change dirties the budgets that cover it; a budget's new spec dirties it. */
  onEvent(ev: StoreEvent): void {
    if (ev.resource === 'pods') {
      for (const o of [ev.obj, ev.prev]) {
        if (!o) continue
        for (const pdb of this.pdbsFor(o)) this.mark(objectKey(pdb.metadata.namespace, pdb.metadata.name))
      }
    } else if (ev.resource === PDBS && ev.type !== 'DELETED' && ev.obj.status?.observedGeneration !== ev.obj.metadata.generation) {
      this.mark(objectKey(ev.obj.metadata.namespace, ev.obj.metadata.name))
    }
  }

  private mark(key: string): void {
    this.dirtyPdbs.add(key)
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(() => this.flush())
  }

  /** Recomputes the status of changed PDBs now. */
  flush(): void {
    this.flushScheduled = false
    const keys = [...this.dirtyPdbs]
    this.dirtyPdbs.clear()
    for (const key of keys) {
      const pdb = this.store.collection(PDBS).objects.get(key)
      if (!pdb) continue
      const status = this.pdbStatus(pdb)
      if (JSON.stringify(status) !== JSON.stringify(pdb.status)) this.store.put(PDBS, { ...pdb, status })
    }
  }

  /** Recomputes every PDB now (after seeding). */
  recomputeAll(): void {
    for (const key of this.store.collection(PDBS).keys) this.dirtyPdbs.add(key)
    this.flush()
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
    for (const key of keysInNamespace(this.store, 'pods', ns)) {
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
}
