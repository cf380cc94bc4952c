// Shapes of a drain, in the contract's snake_case so routes pass them through unchanged. One
// TypeBox definition each: the drain's types are Static<> of them (src/drain/types.ts), and the
// routes validate, serialize and document with the same objects (src/schemas/drain.ts).
import { Type, type Static } from 'typebox'
import { SELECTOR_PATTERN, checkedByDomain } from '../shared/patterns.js'

export const DrainOptions = Type.Object({
  grace_period_seconds: Type.Optional(Type.Integer({ minimum: 0, description: "Passed to each eviction; default: each pod's own terminationGracePeriodSeconds" })),
  timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, default: 300, description: 'Bounds the whole drain; on expiry 504 with the pods still there' })),
  force: Type.Optional(Type.Boolean({ default: false, description: 'Also delete pods that declare no controller, and orphans of deleted DaemonSets' })),
  ignore_daemonsets: Type.Optional(Type.Boolean({ default: true, description: 'Leave DaemonSet pods in place; false refuses the drain when there are any' })),
  delete_emptydir_data: Type.Optional(Type.Boolean({ default: false, description: 'Evict pods with emptyDir volumes (their data is lost)' })),
  disable_eviction: Type.Optional(Type.Boolean({ default: false, description: 'Delete pods instead of evicting them: PodDisruptionBudgets are NOT checked' })),
  pod_selector: Type.Optional(Type.String({ maxLength: 1024, pattern: SELECTOR_PATTERN, ...checkedByDomain('pattern'), description: 'Only pods matching this label selector (kubectl --pod-selector syntax)' })),
  dry_run: Type.Optional(Type.Boolean({ default: false, description: 'Change nothing; answer with the pods it would evict, skip and refuse' })),
  wait: Type.Optional(Type.Boolean({ default: true, description: 'false: answer 202 at once; follow GET .../drain or .../drain/events' })),
}, { additionalProperties: false, $id: 'DrainOptions' })
export type DrainOptions = Static<typeof DrainOptions>

/** The options a drain ran with, defaults applied (`wait` belongs to the request, not the drain). */
export const ResolvedDrainOptions = Type.Object({
  grace_period_seconds: Type.Optional(Type.Integer({ minimum: 0, description: "Absent: each pod's own terminationGracePeriodSeconds" })),
  timeout_seconds: Type.Integer({ minimum: 1 }),
  force: Type.Boolean(),
  ignore_daemonsets: Type.Boolean(),
  delete_emptydir_data: Type.Boolean(),
  disable_eviction: Type.Boolean(),
  pod_selector: Type.Optional(Type.String({ description: 'Absent: every pod on the node' })),
  dry_run: Type.Boolean(),
}, { description: 'The options the drain ran with, defaults applied' })
export type ResolvedDrainOptions = Static<typeof ResolvedDrainOptions>

export const PodReason = Type.Object({
  pod: Type.String({ description: 'namespace/name' }),
  reason: Type.String(),
})
export type PodReason = Static<typeof PodReason>

export const PendingPod = Type.Object({
  pod: Type.String({ description: 'namespace/name' }),
  reason: Type.String(),
  pdb: Type.Union([Type.String(), Type.Null()], { description: 'The PodDisruptionBudget holding the pod, if one does' }),
})
export type PendingPod = Static<typeof PendingPod>

export const PodError = Type.Object({ pod: Type.String(), error: Type.String() })
export type PodError = Static<typeof PodError>

/** Will the pods that would move fit on the nodes that stay schedulable? (dry runs, maintenance plans) */
export const FitReport = Type.Object({
  remaining_nodes: Type.Array(Type.String(), { description: 'The nodes that stay schedulable, by name: the first 100 (a stored plan keeps the first 20); remaining_count counts them all' }),
  remaining_count: Type.Optional(Type.Integer({ description: 'How many nodes stay schedulable' })),
  pods: Type.Integer({ description: 'Pods that would move' }),
  fits: Type.Boolean(),
  unplaced: Type.Array(Type.Object({
    pod: Type.String({ description: 'namespace/name' }),
    node: Type.String({ description: 'Where it runs now' }),
    session_user: Type.Union([Type.String(), Type.Null()], { description: 'Whose session, for a session pod' }),
    reason: Type.String({ description: "The scheduler's words, e.g. \"0/2 nodes are available: 2 Insufficient cpu.\"" }),
  }), { description: 'Pods that would find no room (a stored plan keeps the first 100: see unplaced_count)' }),
  unplaced_count: Type.Optional(Type.Integer({ description: 'How many pods would find no room (in a stored plan)' })),
}, { $id: 'FitReport', description: "Whether the pods that would move fit on the nodes that stay schedulable (the scheduler's basic filters, placed greedily)" })

export const DrainResult = Type.Object({
  message: Type.String({ examples: ['Node drained successfully'] }),
  node: Type.String(),
  pods_deleted: Type.Integer({ description: 'Pods evicted (or deleted) and gone' }),
  evicted: Type.Array(Type.String()),
  skipped: Type.Array(PodReason),
  duration_seconds: Type.Number(),
  sessions_disrupted: Type.Integer({ description: 'StreamSpace sessions among the evicted pods (dry run: that would be)' }),
  method: Type.Union([Type.Literal('eviction'), Type.Literal('delete')]),
  warnings: Type.Array(Type.String()),
  dry_run: Type.Boolean(),
  would_evict: Type.Optional(Type.Array(PendingPod, { description: 'Dry run: the pods it would evict, with the PodDisruptionBudget covering each and what it would say now' })),
  refused: Type.Optional(Type.Array(PodReason)),
  fit: Type.Optional(FitReport),
}, { $id: 'DrainResult' })
export type DrainResult = Static<typeof DrainResult>

export const DrainPhase = Type.Union([
  Type.Literal('none'), Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('refused'),
  Type.Literal('timed_out'), Type.Literal('failed'), Type.Literal('interrupted'),
])
export type DrainPhase = Static<typeof DrainPhase>

export const DrainStatus = Type.Object({
  node: Type.String(),
  phase: DrainPhase,
  message: Type.String(),
  started_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  options: Type.Union([ResolvedDrainOptions, Type.Null()]),
  cordoned: Type.Boolean(),
  method: Type.Union([Type.Literal('eviction'), Type.Literal('delete'), Type.Null()]),
  total: Type.Integer({ description: 'Pods the drain set out to remove' }),
  evicted: Type.Array(Type.String()),
  pending: Type.Array(PendingPod),
  skipped: Type.Array(PodReason),
  refused: Type.Array(PodReason),
  errors: Type.Array(PodError),
  warnings: Type.Array(Type.String()),
  sessions_disrupted: Type.Integer({ description: 'StreamSpace sessions among the pods evicted so far' }),
  sessions_total: Type.Integer({ description: 'StreamSpace sessions among all the pods this drain evicts' }),
  duration_seconds: Type.Union([Type.Number(), Type.Null()]),
}, { $id: 'DrainStatus' })
export type DrainStatus = Static<typeof DrainStatus>

/** One step of a drain, as streamed on /drain/events (ids increase by one per drain). */
export const DrainEvent = Type.Object({
  id: Type.Integer(),
  type: Type.Union([
    Type.Literal('started'), Type.Literal('cordoned'), Type.Literal('planned'), Type.Literal('pod_blocked'),
    Type.Literal('pod_evicting'), Type.Literal('pod_evicted'), Type.Literal('pod_failed'), Type.Literal('finished'),
  ]),
  at: Type.String({ format: 'date-time' }),
  pod: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  pdb: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  /** Counters after this step. */
  evicted: Type.Integer(),
  pending: Type.Integer(),
  total: Type.Integer(),
  sessions_disrupted: Type.Integer(),
  sessions_total: Type.Integer(),
  /** On "finished": the final phase and message. */
  phase: Type.Optional(DrainPhase),
  message: Type.Optional(Type.String()),
})
export type DrainEvent = Static<typeof DrainEvent>
