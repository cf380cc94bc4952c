// A plan as a NodeMaintenance object (nodes.stream.space/v1alpha1, named by the plan's id): spec
// is the request in Kubernetes' camelCase plus cancel/complete, status is the plan as the leader
// last wrote it. The HTTP contract's snake_case Maintenance is read from the two.
import type { Condition, CustomObject } from '../kube/custom-objects.js'
import { camelKeys, snakeKeys } from '../shared/case.js'
import {
  ACTIVE_PLAN_STATES, type FitReport, type Maintenance, type MaintenanceNode, type MaintenanceRequest, type PlanState, type SessionPolicy,
} from './types.js'

export interface PlanSpec {
  nodes?: string[]
  nodeSelector?: string
  reason: string
  startAt?: string
  sessionDeadline?: string
  sessionPolicy?: SessionPolicy
  maxUnavailable?: number
  drain?: Record<string, unknown>
  force?: boolean
  cancel?: boolean
  cancelledBy?: string
  complete?: boolean
  completedBy?: string
  requestedBy?: string
  ttlSecondsAfterFinished?: number
}

export interface PlanStatus {
  observedGeneration?: number
  state?: PlanState
  message?: string
  /** For kubectl's NODES column: "1/3 drained". */
  progress?: string
  updatedAt?: string
  finishedAt?: string | null
  nodes?: unknown[]
  fit?: unknown
  conditions?: Condition[]
}

export type PlanObject = CustomObject<PlanSpec, PlanStatus>

export const FINAL_PLAN_STATES: readonly PlanState[] = ['succeeded', 'failed', 'cancelled', 'completed']

/** Bounds what a plan keeps of its fit check: the stranded pods and the counts, not every remaining node. */
const FIT_NAMES_KEPT = 20
const FIT_UNPLACED_KEPT = 100

export function boundFit(fit: FitReport | null): FitReport | null {
  if (!fit) return fit
  return {
    ...fit,
    remaining_nodes: fit.remaining_nodes.slice(0, FIT_NAMES_KEPT),
    remaining_count: fit.remaining_count ?? fit.remaining_nodes.length,
    unplaced: fit.unplaced.slice(0, FIT_UNPLACED_KEPT),
    unplaced_count: fit.unplaced_count ?? fit.unplaced.length,
  }
}

export function pendingNode(name: string): MaintenanceNode {
  return {
    name, state: 'pending', message: 'not started', sessions: [], cordoned_by_plan: false, cordoned_at: null, waiting_since: null,
    drain_started_at: null, finished_at: null, sessions_ended: 0, sessions_hibernated: 0, pods_evicted: 0,
  }
}

/** The spec of a request made over HTTP (names already checked), by `actor`. */
export function specOf(req: MaintenanceRequest, actor: string): PlanSpec {
  return camelKeys<PlanSpec>({ ...req, requested_by: actor })
}

/** The request a spec makes (the same checks apply to a NodeMaintenance applied with kubectl). */
export function requestOf(spec: PlanSpec): MaintenanceRequest {
  const { cancel: _c, cancelledBy: _cb, complete: _d, completedBy: _db, requestedBy: _r, ttlSecondsAfterFinished: _t, ...rest } = spec
  return snakeKeys<MaintenanceRequest>(rest)
}

/** The plan as the contract shows it: spec, then status as the leader wrote it (or "not yet accepted"). */
export function planOf(obj: PlanObject): Maintenance {
  const spec = obj.spec ?? ({} as PlanSpec)
  const created = obj.metadata.creationTimestamp ?? new Date(0).toISOString()
  const st = obj.status
  const plan: Maintenance = {
    id: obj.metadata.name,
    reason: spec.reason,
    created_by: spec.requestedBy ?? 'unknown',
    created_at: created,
    start_at: spec.startAt ?? created,
    session_deadline: spec.sessionDeadline ?? null,
    session_policy: spec.sessionPolicy ?? 'wait',
    max_unavailable: spec.maxUnavailable ?? 1,
    node_selector: spec.nodeSelector ?? null,
    drain: snakeKeys(spec.drain ?? {}),
    force: spec.force ?? false,
    state: st?.state ?? 'scheduled',
    message: st?.message ?? 'waiting for the leader to accept it',
    updated_at: st?.updatedAt ?? created,
    finished_at: st?.finishedAt ?? null,
    nodes: st?.nodes ? snakeKeys<MaintenanceNode[]>(st.nodes) : (spec.nodes ?? []).map(pendingNode),
    fit: st?.fit ? snakeKeys<FitReport>(st.fit) : null,
  }
  if (spec.cancel && ACTIVE_PLAN_STATES.includes(plan.state)) plan.message = `cancel requested by ${spec.cancelledBy ?? 'unknown'}; ${plan.message}`
  return plan
}

/** The status the leader writes for `plan`, with the object's generation it saw and its conditions. */
export function statusOf(plan: Maintenance, generation: number | undefined, conditions: Condition[]): PlanStatus {
  const drained = plan.nodes.filter((n) => n.state === 'drained').length
  return {
    observedGeneration: generation,
    state: plan.state,
    message: plan.message,
    progress: `${drained}/${plan.nodes.length} drained`,
    updatedAt: plan.updated_at,
    finishedAt: plan.finished_at,
    nodes: camelKeys(plan.nodes),
    fit: camelKeys(boundFit(plan.fit)),
    conditions,
  }
}

/** Conditions with `type` set (its transition time kept while its status stays). */
export function withCondition(conditions: Condition[] | undefined, c: Omit<Condition, 'lastTransitionTime'>, now: string): Condition[] {
  const rest = (conditions ?? []).filter((x) => x.type !== c.type)
  const before = (conditions ?? []).find((x) => x.type === c.type)
  return [...rest, { ...c, lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : now }]
}
