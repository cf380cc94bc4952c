// A minimal kube-scheduler, for the pods the sim's controllers create: the Ready, schedulable node
// with the fewest pods whose NoSchedule/NoExecute taints the pod tolerates and whose labels match
// its nodeSelector.
import { nodeIsReady } from './objects.js'
import type { Obj, Store } from './store.js'

export function tolerates(tolerations: Obj[], taint: Obj): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false
    if (t.operator === 'Exists') return !t.key || t.key === taint.key
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '')
  })
}

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

export function controllerOf(obj: Obj | undefined): Obj | undefined {
  return obj?.metadata?.ownerReferences?.find((r: Obj) => r.controller)
}
