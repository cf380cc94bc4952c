// Will it fit? Before a plan starts (and in drain dry runs): would the pods on the nodes to be
// drained find room on the nodes that stay schedulable, by kube-scheduler's basic filters
// (src/selection/fit.ts), placed greedily as cluster-autoscaler simulates a scale-down. DaemonSet
// and mirror pods are not counted (they do not move); session pods are (a hibernated session is
// resumed on another node).
import type { NodeObject, SlimPod } from '../kube/types.js'
import { isTerminated } from '../nodes/view.js'
import { fitPods, nodeFacts, type PodRequest } from '../selection/fit.js'
import type { FitReport } from './types.js'

/** Pods that a drain moves off a node. */
export function movingPods(pods: Iterable<SlimPod>): SlimPod[] {
  return [...pods].filter((p) => !isTerminated(p) && !p.terminating && p.ownerKind !== 'DaemonSet' && p.ownerKind !== 'Node')
}

export function planFit(allNodes: Iterable<NodeObject>, podsOnNode: (node: string) => Iterable<SlimPod>, draining: string[]): FitReport {
  const out = new Set(draining)
  const remaining = [...allNodes].filter((n) => !out.has(n.metadata?.name ?? ''))
  const facts = remaining.map((n) => nodeFacts(n, podsOnNode(n.metadata?.name ?? '')))
  const moving = draining.flatMap((name) => movingPods(podsOnNode(name)))
  const byName = new Map(moving.map((p) => [`${p.namespace}/${p.name}`, p]))
  const requests: PodRequest[] = moving.map((p) => ({
    name: `${p.namespace}/${p.name}`,
    cpuMilli: Math.ceil(p.cpuRequestMilli),
    memoryBytes: Math.ceil(p.memoryRequestBytes),
    ...(p.nodeSelector ? { nodeSelector: p.nodeSelector } : {}),
    ...(p.tolerations ? { tolerations: p.tolerations } : {}),
  }))
  const result = fitPods(requests, facts)
  const unplaced = result.unplaced.map((u) => {
    const pod = byName.get(u.pod.name!)!
    return { pod: u.pod.name!, node: pod.node, session_user: pod.session ? pod.labels?.user ?? null : null, reason: u.summary }
  }).sort((a, b) => a.pod.localeCompare(b.pod))
  return {
    remaining_nodes: facts.filter((f) => f.ready && !f.unschedulable).map((f) => f.name).sort(),
    pods: moving.length,
    fits: unplaced.length === 0,
    unplaced,
  }
}
