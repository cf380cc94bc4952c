// The plan of a drain: every pod on the node (matching pod_selector), judged by kubectl's
// filters into evict / skip / refuse, with reasons. A dry run answers with the plan; a real
// drain refuses (422) if anything is refused, else evicts the plan's pods.
import type { V1Pod } from '@kubernetes/client-node'
import { isNotFound } from '../kube/errors.js'
import { listPodsOnNode, podKey, readDaemonSet } from '../kube/pods.js'
import type { KubeClients } from '../kube/client.js'
import { judgePod, refusalText, type FilterContext } from './filters.js'
import { matches, type Requirement } from '../kube/selector.js'
import type { PodReason, ResolvedDrainOptions } from './types.js'

export interface PlannedPod {
  pod: V1Pod
  key: string
  uid: string
  session: boolean
}

export interface DrainPlan {
  evict: PlannedPod[]
  skipped: PodReason[]
  refused: PodReason[]
  warnings: string[]
  /** Of the pods to evict, how many are StreamSpace sessions. */
  sessions: number
  resourceVersion: string
}

export async function planDrain(
  clients: KubeClients,
  node: string,
  options: ResolvedDrainOptions,
  sessionSelector: Requirement[],
  pageSize?: number,
): Promise<DrainPlan> {
  const { pods, resourceVersion } = await listPodsOnNode(clients, node, { labelSelector: options.pod_selector, limit: pageSize })

  // One lookup per DaemonSet, however many of its pods are on the node.
  const daemonSets = new Map<string, Promise<'found' | 'not_found' | Error>>()
  const ctx: FilterContext = {
    options,
    daemonSetExists(namespace, name) {
      const k = `${namespace}/${name}`
      let p = daemonSets.get(k)
      if (!p) {
        p = readDaemonSet(clients, namespace, name).then(
          () => 'found' as const,
          (err) => (isNotFound(err) ? ('not_found' as const) : err instanceof Error ? err : new Error(String(err))),
        )
        daemonSets.set(k, p)
      }
      return p
    },
  }

  const verdicts = await Promise.all(pods.map((pod) => judgePod(pod, ctx)))
  const plan: DrainPlan = { evict: [], skipped: [], refused: [], warnings: [], sessions: 0, resourceVersion }
  pods.forEach((pod, i) => {
    const v = verdicts[i]
    const key = podKey(pod)
    if (v.kind === 'error') plan.refused.push({ pod: key, reason: refusalText(v.message) })
    else if (!v.delete) plan.skipped.push({ pod: key, reason: v.message ?? 'skipped' })
    else {
      const session = matches(sessionSelector, pod.metadata?.labels)
      plan.evict.push({ pod, key, uid: pod.metadata?.uid ?? '', session })
      if (session) plan.sessions++
      for (const w of v.warnings) plan.warnings.push(`${w}: ${key}`)
    }
  })
  return plan
}
