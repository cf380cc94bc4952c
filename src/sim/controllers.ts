// Optional ReplicaSet controller with a minimal scheduler: when a ReplicaSet's pod starts terminating,
// a replacement is created and bound to a schedulable node, so PDBs recover during drains as on a
// real cluster. On in the demo cluster; tests and generated clusters leave it off unless asked.
import { randomBytes } from 'node:crypto'
import { nodeIsReady } from './objects.js'
import { lowerBound, type Obj, type Store } from './store.js'

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('')
}

function tolerates(tolerations: Obj[], taint: Obj): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false
    if (t.operator === 'Exists') return !t.key || t.key === taint.key
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '')
  })
}

/** The Ready, schedulable node with the fewest pods whose NoSchedule/NoExecute taints the pod tolerates. */
export function scheduleNode(store: Store, podSpec: Obj): string | undefined {
  const nodes = store.collection('nodes')
  let best: { name: string; pods: number } | undefined
  for (const key of nodes.keys) {
    const node = nodes.objects.get(key)!
    if (!nodeIsReady(node) || node.spec?.unschedulable) continue
    const taints: Obj[] = (node.spec?.taints ?? []).filter((t: Obj) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')
    if (!taints.every((t) => tolerates(podSpec.tolerations ?? [], t))) continue
    const selector: Record<string, string> = podSpec.nodeSelector ?? {}
    if (!Object.entries(selector).every(([k, v]) => node.metadata.labels?.[k] === v)) continue
    const pods = store.podsByNode.get(node.metadata.name)?.size ?? 0
    if (!best || pods < best.pods) best = { name: node.metadata.name, pods }
  }
  return best?.name
}

export function controllerOf(pod: Obj | undefined): Obj | undefined {
  return pod?.metadata?.ownerReferences?.find((r: Obj) => r.controller)
}

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
