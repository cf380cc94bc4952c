// Shapes of a maintenance plan, in the contract's snake_case: what is stored in the ConfigMap is
// what GET P/maintenance/:id answers.
import type { DrainOptions } from '../drain/types.js'

export type SessionPolicy = 'wait' | 'hibernate' | 'evict'

export interface MaintenanceRequest {
  nodes?: string[]
  node_selector?: string
  reason: string
  /** RFC 3339; default now. */
  start_at?: string
  /** RFC 3339: when sessions may no longer be waited for. Required for hibernate and evict. */
  session_deadline?: string
  /** Default wait. */
  session_policy?: SessionPolicy
  /** Nodes in maintenance at once. Default 1. */
  max_unavailable?: number
  drain?: Omit<DrainOptions, 'dry_run' | 'wait'>
  /** Start even when the fit check says pods would find no room. */
  force?: boolean
}

export type NodeState = 'pending' | 'cordoned' | 'waiting_for_sessions' | 'draining' | 'drained' | 'failed' | 'cancelled'
export type PlanState = 'scheduled' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'completed'

export const ACTIVE_NODE_STATES: readonly NodeState[] = ['cordoned', 'waiting_for_sessions', 'draining']
export const ACTIVE_PLAN_STATES: readonly PlanState[] = ['scheduled', 'running']

export interface SessionOnNode {
  /** The session pod, namespace/name. */
  pod: string
  /** The Session resource's name (the pod's `session` label), or null if the pod has none. */
  session: string | null
  /** The pod's `user` label, or null. */
  user: string | null
  /** Set once the plan asked StreamSpace to hibernate it. */
  hibernated_at?: string
}

export interface MaintenanceNode {
  name: string
  state: NodeState
  /** What happened last, in words (why, for failed and cancelled). */
  message: string
  /** Sessions still on the node while cordoned or waiting. */
  sessions: SessionOnNode[]
  /** Whether this plan cordoned the node (complete uncordons only those). */
  cordoned_by_plan: boolean
  cordoned_at: string | null
  waiting_since: string | null
  drain_started_at: string | null
  finished_at: string | null
  /** Sessions that ended by themselves while waited for. */
  sessions_ended: number
  sessions_hibernated: number
  /** Pods the drain evicted. */
  pods_evicted: number
}

export interface FitProblem {
  /** namespace/name */
  pod: string
  /** The node it is on now. */
  node: string
  /** Its user, for a session pod. */
  session_user: string | null
  /** The scheduler-style summary, e.g. "0/1 nodes are available: 1 Insufficient cpu." */
  reason: string
}

export interface FitReport {
  /** The nodes that would stay schedulable (a stored plan keeps the first few: see remaining_count). */
  remaining_nodes: string[]
  remaining_count?: number
  pods: number
  fits: boolean
  unplaced: FitProblem[]
  unplaced_count?: number
}

export interface Maintenance {
  id: string
  reason: string
  created_by: string
  created_at: string
  start_at: string
  session_deadline: string | null
  session_policy: SessionPolicy
  max_unavailable: number
  node_selector: string | null
  drain: Omit<DrainOptions, 'dry_run' | 'wait'>
  force: boolean
  state: PlanState
  message: string
  updated_at: string
  finished_at: string | null
  nodes: MaintenanceNode[]
  fit: FitReport | null
}

/** One step of a plan, as streamed on /maintenance/:id/events. */
export interface MaintenanceEvent {
  id: number
  type: 'state' | 'node' | 'finished'
  at: string
  node?: string
  state: string
  message: string
}
