// Will it fit? Before a plan starts (and in drain dry runs): would the pods on the nodes to be
// drained find room on the nodes that stay schedulable, by kube-scheduler's basic filters
// (src/selection/fit.ts), placed greedily as cluster-autoscaler simulates a scale-down. DaemonSet
// and mirror pods are not counted (they do not move); session pods are (a hibernated session is
// resumed on another node).
import type { SlimPod } from '../kube/types.js'
import { isTerminated } from '../nodes/view.js'
import { fitPods, type NodeFacts, type PodRequest } from '../selection/fit.js'
import type { FitReport } from './types.js'

/** Pods that a drain moves off a node. */
export function movingPods(pods: Iterable<SlimPod>): SlimPod[] {
  return [...pods].filter((p) => !isTerminated(p) && !p.terminating && p.ownerKind !== 'DaemonSet' && p.ownerKind !== 'Node')
}

/** How many of the nodes that stay schedulable a report names (remaining_count counts them all). */
export const REMAINING_NAMES_LISTED = 100

/**
 * `allFacts`: every node's facts sorted by name (FactsIndex.all; not changed here). The report
 * names the first REMAINING_NAMES_LISTED nodes that stay schedulable, by name, and counts them all.
 */
export function planFit(allFacts: readonly NodeFacts[], podsOnNode: (node: string) => Iterable<SlimPod>, draining: string[]): FitReport {
  const out = new Set(draining)
  const facts = allFacts.filter((f) => !out.has(f.name))
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
  const remaining: string[] = []
  let remainingCount = 0
  for (const f of facts) {
    if (!f.ready || f.unschedulable) continue
    if (remainingCount++ < REMAINING_NAMES_LISTED) remaining.push(f.name)
  }
  return {
    remaining_nodes: remaining,
    remaining_count: remainingCount,
    pods: moving.length,
    fits: unplaced.length === 0,
    unplaced,
  }
}
