// Shapes of a drain, in the contract's snake_case so routes pass them through unchanged.

export interface DrainOptions {
  /** Passed to each eviction/deletion; undefined: each pod's own terminationGracePeriodSeconds. */
  grace_period_seconds?: number
  /** Bounds the whole drain (cordon to last pod gone). Default 300. */
  timeout_seconds?: number
  force?: boolean
  /** Default true. */
  ignore_daemonsets?: boolean
  delete_emptydir_data?: boolean
  disable_eviction?: boolean
  pod_selector?: string
  dry_run?: boolean
  /** Default true. Handled by the route: false answers 202 and the drain runs on. */
  wait?: boolean
}

export type ResolvedDrainOptions = Required<Omit<DrainOptions, 'grace_period_seconds' | 'pod_selector' | 'wait'>> &
  Pick<DrainOptions, 'grace_period_seconds' | 'pod_selector'>

export function resolveOptions(o: DrainOptions): ResolvedDrainOptions {
  return {
    grace_period_seconds: o.grace_period_seconds,
    timeout_seconds: o.timeout_seconds ?? 300,
    force: o.force ?? false,
    ignore_daemonsets: o.ignore_daemonsets ?? true,
    delete_emptydir_data: o.delete_emptydir_data ?? false,
    disable_eviction: o.disable_eviction ?? false,
    pod_selector: o.pod_selector || undefined,
    dry_run: o.dry_run ?? false,
  }
}

export interface PodReason { pod: string; reason: string }
export interface PendingPod { pod: string; reason: string; pdb: string | null }
export interface PodError { pod: string; error: string }

export interface DrainResult {
  message: string
  node: string
  pods_deleted: number
  evicted: string[]
  skipped: PodReason[]
  duration_seconds: number
  /** StreamSpace sessions (pods labelled app=streamspace-session) disrupted by this drain. */
  sessions_disrupted: number
  /** "eviction" (PodDisruptionBudgets respected) or "delete" (disable_eviction, or no eviction API). */
  method: 'eviction' | 'delete'
  /** What kubectl would print as warnings: unmanaged pods deleted under force, emptyDir data lost, ... */
  warnings: string[]
  dry_run: boolean
  /** dry_run only: what a real drain would evict (and the PDB covering each), and refuse. */
  would_evict?: Array<PodReason & { pdb: string | null }>
  refused?: PodReason[]
}

export type DrainPhase =
  | 'none' | 'running' | 'succeeded' | 'refused' | 'timed_out' | 'failed' | 'interrupted'

export interface DrainStatus {
  node: string
  phase: DrainPhase
  message: string
  started_at: string | null
  finished_at: string | null
  options: ResolvedDrainOptions | null
  cordoned: boolean
  method: 'eviction' | 'delete' | null
  /** Pods the drain set out to remove. */
  total: number
  evicted: string[]
  pending: PendingPod[]
  skipped: PodReason[]
  refused: PodReason[]
  errors: PodError[]
  warnings: string[]
  /** StreamSpace sessions among the pods evicted so far. */
  sessions_disrupted: number
  /** StreamSpace sessions among all the pods this drain evicts (known once planned). */
  sessions_total: number
  duration_seconds: number | null
}

/** One step of a drain, as streamed on /drain/events (ids increase by one per drain). */
export interface DrainEvent {
  id: number
  type:
    | 'started' | 'cordoned' | 'planned' | 'pod_blocked' | 'pod_evicting' | 'pod_evicted' | 'pod_failed'
    | 'finished'
  at: string
  pod?: string
  reason?: string
  pdb?: string | null
  /** Counters after this step. */
  evicted: number
  pending: number
  total: number
  sessions_disrupted: number
  sessions_total: number
  /** On "planned": counts; on "finished": the final phase and message. */
  phase?: DrainPhase
  message?: string
}

export type { Clock } from '../kube/reflector.js'
