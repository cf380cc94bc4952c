// The plan of a drain: every pod on the node (matching pod_selector), judged by kubectl's
// filters into evict / skip / refuse, with reasons. A dry run answers with the plan; a real
// drain refuses (422) if anything is refused, else evicts the plan's pods.
import type { V1Pod } from '@kubernetes/client-node'
import { isNotFound, toKubeError } from '../kube/errors.js'
import { listPodDisruptionBudgets, listPodsOnNode, podKey, readDaemonSet } from '../kube/pods.js'
import type { KubeClients } from '../kube/client.js'
import { isFinished, judgePod, refusalText, type FilterContext } from './filters.js'
import { labelSelectorMatches, matches, type Requirement } from '../kube/selector.js'
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
  const daemonSets = new Map<string, Promise<'found' | 'not_found'>>()
  const ctx: FilterContext = {
    options,
    daemonSetExists(namespace, name) {
      const k = `${namespace}/${name}`
      let p = daemonSets.get(k)
      if (!p) {
        p = readDaemonSet(clients, namespace, name).then(
          () => 'found' as const,
          (err) => {
            if (isNotFound(err)) return 'not_found' as const
            throw toKubeError(err, `get daemonsets/${name} -n ${namespace}`)
          },
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

export interface PdbOutlook { pdb: string | null; note: string }

/**
 * What the PodDisruptionBudgets covering each pod would say to its eviction now (dry run):
 * none, allowed, "would wait", or "would fail" for a pod under several budgets. Finished and
 * terminating pods are evicted without consulting budgets, as the API server does.
 */
export async function pdbOutlook(clients: KubeClients, pods: PlannedPod[]): Promise<Map<string, PdbOutlook>> {
  const namespaces = [...new Set(pods.map((p) => p.pod.metadata?.namespace ?? ''))]
  const budgets = new Map(await Promise.all(namespaces.map(async (ns) => {
    try {
      return [ns, await listPodDisruptionBudgets(clients, ns)] as const
    } catch (err) {
      throw toKubeError(err, `list poddisruptionbudgets -n ${ns}`)
    }
  })))
  const out = new Map<string, PdbOutlook>()
  for (const p of pods) {
    const ns = p.pod.metadata?.namespace ?? ''
    const exempt = isFinished(p.pod) || p.pod.metadata?.deletionTimestamp
    const matching = exempt ? [] : (budgets.get(ns) ?? []).filter((b) => labelSelectorMatches(b.spec?.selector, p.pod.metadata?.labels))
    const names = matching.map((b) => b.metadata?.name ?? '').join(', ')
    if (matching.length === 0) out.set(p.key, { pdb: null, note: 'no PodDisruptionBudget' })
    else if (matching.length > 1) out.set(p.key, { pdb: names, note: `would fail: more than one PodDisruptionBudget (${names}) selects the pod, which the eviction API refuses` })
    else {
      const st = matching[0].status
      const allowed = st?.disruptionsAllowed ?? 0
      out.set(p.key, allowed > 0
        ? { pdb: names, note: `PodDisruptionBudget ${names} allows ${allowed} disruption(s) now` }
        : { pdb: names, note: `would wait: PodDisruptionBudget ${names} allows no disruption now (needs ${st?.desiredHealthy ?? '?'} healthy, has ${st?.currentHealthy ?? '?'})` })
    }
  }
  return out
}
