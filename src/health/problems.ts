// What is wrong with a node, read from the Node object alone: the problems an incident is made of.
// Pure functions: every replica computes the same answer from the same object.
import type { NodeObject } from '../kube/types.js'

export type ProblemKind = 'Ready' | 'MemoryPressure' | 'DiskPressure' | 'PIDPressure' | 'NetworkUnavailable' | 'Unschedulable'

export type AlertName = 'StreamSpaceNodeNotReady' | 'StreamSpaceNodeCondition' | 'StreamSpaceNodeCordonedTooLong'

export interface Problem {
  node: string
  /** The node condition (or Unschedulable for a cordon): also the alert's `condition` label. */
  condition: ProblemKind
  /** The condition's status as the node reports it (False/Unknown for Ready, True for the others). */
  status: string
  reason: string
  message: string
  /** When the problem began as the object says (lastTransitionTime; the cordon time), ms. */
  since: number | undefined
  alertname: AlertName
  severity: 'critical' | 'warning'
}

export const PRESSURE_CONDITIONS = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'] as const

/** Annotation the maintenance feature sets when it cordons (ISO time). */
export const CORDONED_AT_ANNOTATION = 'streamspace.io/cordoned-at'

function ms(t: string | Date | undefined | null): number | undefined {
  if (t === undefined || t === null) return undefined
  const v = t instanceof Date ? t.getTime() : Date.parse(t)
  return Number.isFinite(v) ? v : undefined
}

export type Phase = 'Ready' | 'NotReady' | 'Unknown'

export function nodePhase(node: NodeObject): Phase {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')
  return ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown'
}

/** When the node was cordoned, if anything on it says so. */
export function cordonedSince(node: NodeObject): number | undefined {
  const annotated = ms(node.metadata?.annotations?.[CORDONED_AT_ANNOTATION])
  if (annotated !== undefined) return annotated
  const taint = node.spec?.taints?.find((t) => t.key === 'node.kubernetes.io/unschedulable')
  return ms(taint?.timeAdded)
}

/**
 * The node's problems now. Cordons are reported whatever their age: the monitor decides when a
 * cordon has lasted too long (it also knows when it first saw one without a recorded time).
 */
export function nodeProblems(node: NodeObject): Problem[] {
  const name = node.metadata?.name ?? ''
  const out: Problem[] = []
  const conditions = node.status?.conditions ?? []
  const ready = conditions.find((c) => c.type === 'Ready')
  if (!ready || ready.status !== 'True') {
    out.push({
      node: name, condition: 'Ready', status: ready?.status ?? 'Unknown',
      reason: ready?.reason ?? 'NoReadyCondition', message: ready?.message ?? 'the node reports no Ready condition',
      since: ms(ready?.lastTransitionTime), alertname: 'StreamSpaceNodeNotReady', severity: 'critical',
    })
  }
  for (const type of PRESSURE_CONDITIONS) {
    const c = conditions.find((x) => x.type === type)
    if (c?.status !== 'True') continue
    out.push({
      node: name, condition: type, status: 'True', reason: c.reason ?? type, message: c.message ?? '',
      since: ms(c.lastTransitionTime), alertname: 'StreamSpaceNodeCondition', severity: 'warning',
    })
  }
  if (node.spec?.unschedulable) {
    const reason = node.metadata?.annotations?.['streamspace.io/cordon-reason']
    const by = node.metadata?.annotations?.['streamspace.io/cordoned-by']
    out.push({
      node: name, condition: 'Unschedulable', status: 'True', reason: 'Cordoned',
      message: [reason ? `reason: ${reason}` : 'cordoned', by ? `by ${by}` : ''].filter(Boolean).join(' '),
      since: cordonedSince(node), alertname: 'StreamSpaceNodeCordonedTooLong', severity: 'warning',
    })
  }
  return out
}
