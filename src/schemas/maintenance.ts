// Maintenance plans: request and answer shapes (design: "Maintenance"). snake_case as the contract.
import { Type, type Static } from 'typebox'
import { FitReport } from '../drain/shapes.js'
import { SELECTOR_PATTERN, checkedByDomain } from '../shared/patterns.js'

const Time = (description: string) => Type.String({ format: 'date-time', description })
const NullableTime = (description: string) => Type.Union([Time(description), Type.Null()])

export const MaintenanceDrainOptions = Type.Object({
  grace_period_seconds: Type.Optional(Type.Integer({ minimum: 0, description: "Passed to each eviction; default: each pod's own terminationGracePeriodSeconds" })),
  timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, description: 'Bounds each node\'s drain (default 300); also how long hibernated sessions may take to go' })),
  force: Type.Optional(Type.Boolean({ description: 'Also delete pods that declare no controller' })),
  ignore_daemonsets: Type.Optional(Type.Boolean({ description: 'Leave DaemonSet pods in place (default true)' })),
  delete_emptydir_data: Type.Optional(Type.Boolean({ description: 'Evict pods with emptyDir volumes (their data is lost)' })),
  disable_eviction: Type.Optional(Type.Boolean({ description: 'Delete pods instead of evicting them: PodDisruptionBudgets are NOT checked' })),
  pod_selector: Type.Optional(Type.String({ maxLength: 1024, pattern: SELECTOR_PATTERN, ...checkedByDomain('pattern'), description: 'Only pods matching this label selector' })),
}, { additionalProperties: false, description: 'DrainOptions for each node (dry_run and wait do not apply)' })

export const MaintenanceRequest = Type.Object({
  nodes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { minItems: 1, maxItems: 1000, description: 'Node names (or node_selector)' })),
  node_selector: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, pattern: SELECTOR_PATTERN, ...checkedByDomain('pattern'), description: 'Label selector choosing the nodes (or nodes)', examples: ['pool=desktops'] })),
  reason: Type.String({ minLength: 1, maxLength: 512, description: 'Why: kept as each node\'s cordon reason and in its Events', examples: ['kernel upgrade OPS-1234'] }),
  start_at: Type.Optional(Time('When to start (default now)')),
  session_deadline: Type.Optional(Time('When sessions may no longer be waited for; required for hibernate and evict. With wait, a node whose sessions still run then fails.')),
  session_policy: Type.Optional(Type.Union([Type.Literal('wait'), Type.Literal('hibernate'), Type.Literal('evict')], { default: 'wait', description: 'wait: wait for sessions to end, then drain; hibernate: at the deadline hibernate the remaining sessions through their Session resources, then drain; evict: at the deadline drain them' })),
  max_unavailable: Type.Optional(Type.Integer({ minimum: 1, default: 1, description: 'Nodes in maintenance at once' })),
  drain: Type.Optional(MaintenanceDrainOptions),
  force: Type.Optional(Type.Boolean({ default: false, description: 'Start even when the fit check says pods would find no room' })),
  dry_run: Type.Optional(Type.Boolean({ default: false, description: 'Check only: answer 200 with the nodes chosen and the fit check (pods that would find no room, whose sessions), make nothing' })),
}, { additionalProperties: false, $id: 'MaintenanceRequest' })
export type MaintenanceRequest = Static<typeof MaintenanceRequest>

const SessionOnNode = Type.Object({
  pod: Type.String({ description: 'namespace/name of the session pod' }),
  session: Type.Union([Type.String(), Type.Null()], { description: 'The Session resource (the pod\'s "session" label)' }),
  user: Type.Union([Type.String(), Type.Null()], { description: 'Whose desktop (the pod\'s "user" label)' }),
  hibernated_at: Type.Optional(Time('When the plan hibernated it')),
})

const NodeState = Type.Union([Type.Literal('pending'), Type.Literal('cordoned'), Type.Literal('waiting_for_sessions'), Type.Literal('draining'), Type.Literal('drained'), Type.Literal('failed'), Type.Literal('cancelled')])

export const MaintenanceNode = Type.Object({
  name: Type.String(),
  state: NodeState,
  message: Type.String({ description: 'What happened last; why, for failed and cancelled' }),
  sessions: Type.Array(SessionOnNode, { description: 'Sessions still on the node while it waits' }),
  cordoned_by_plan: Type.Boolean({ description: 'complete uncordons these' }),
  cordoned_at: NullableTime('When the plan cordoned it'),
  waiting_since: NullableTime('When it started waiting for sessions'),
  drain_started_at: NullableTime('When its drain started'),
  finished_at: NullableTime('When it reached drained, failed or cancelled'),
  sessions_ended: Type.Integer({ description: 'Sessions that ended by themselves while waited for' }),
  sessions_hibernated: Type.Integer(),
  pods_evicted: Type.Integer(),
})

export const Maintenance = Type.Object({
  id: Type.String(),
  reason: Type.String(),
  created_by: Type.String(),
  created_at: Time('When it was made'),
  start_at: Time('When it starts'),
  session_deadline: NullableTime('When sessions may no longer be waited for'),
  session_policy: Type.Union([Type.Literal('wait'), Type.Literal('hibernate'), Type.Literal('evict')]),
  max_unavailable: Type.Integer(),
  node_selector: Type.Union([Type.String(), Type.Null()]),
  drain: MaintenanceDrainOptions,
  force: Type.Boolean(),
  state: Type.Union([Type.Literal('scheduled'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled'), Type.Literal('completed')]),
  message: Type.String(),
  updated_at: Time('Last change'),
  finished_at: NullableTime('When it ended'),
  nodes: Type.Array(MaintenanceNode),
  fit: Type.Union([FitReport, Type.Null()]),
}, { $id: 'Maintenance' })

export const MaintenanceCheck = Type.Object({
  dry_run: Type.Literal(true),
  nodes: Type.Array(Type.String(), { description: 'The nodes the plan would take, in order' }),
  fit: Type.Union([FitReport, Type.Null()]),
}, { $id: 'MaintenanceCheck', description: 'What a plan would do, from dry_run: nothing is made' })

export const MaintenanceParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, description: 'Maintenance plan id' }),
})
