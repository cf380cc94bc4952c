// What the nodes domain answers with: NodeView (seed fields first, then ours), NodeDetail,
// ClusterStats, usage history. One TypeBox definition per shape gives the domain its types
// (Static) and the routes their validation, serialization and OpenAPI (src/schemas/node.ts
// re-exports these). Plain data: no Fastify here.
import { Type, type Static } from 'typebox'

export const Quantity = Type.String({ description: 'Kubernetes quantity, exact (e.g. "16Gi", "3800m")', examples: ['16Gi'] })

export const Resources = Type.Object({ cpu: Quantity, memory: Quantity })

export const Usage = Type.Object({
  cpu_percent: Type.Number({ description: 'CPU in use, % of allocatable (as kubectl top)' }),
  memory_percent: Type.Number({ description: 'Memory in use, % of allocatable (as kubectl top)' }),
})

export const TaintView = Type.Object({
  key: Type.String(),
  value: Type.Optional(Type.String()),
  effect: Type.String(),
})

export const CordonInfo = Type.Object({
  by: Type.Union([Type.String(), Type.Null()], { description: 'Who cordoned it (StreamSpace username, from annotation streamspace.io/cordoned-by); null when cordoned by someone else, e.g. kubectl cordon: unknown' }),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'Why (streamspace.io/cordon-reason); null when none was given or unknown' }),
  at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When (streamspace.io/cordoned-at); for a cordon made elsewhere, when the node.kubernetes.io/unschedulable taint was added, if known' }),
}, { description: 'Who cordoned the node, why and when' })

export const NodeView = Type.Object({
  name: Type.String(),
  labels: Type.Record(Type.String(), Type.String()),
  taints: Type.Array(TaintView),
  status: Type.Object({
    ready: Type.Boolean(),
    phase: Type.Union([Type.Literal('Ready'), Type.Literal('NotReady'), Type.Literal('Unknown')], { description: 'From the Ready condition' }),
  }),
  capacity: Resources,
  allocatable: Resources,
  usage: Type.Union([Usage, Type.Null()], { description: 'null when metrics-server gives nothing for this node' }),
  pods: Type.Integer({ description: 'Non-terminated pods on the node' }),
  age: Type.String({ description: "As kubectl's AGE column, e.g. 5d3h" }),
  unschedulable: Type.Boolean(),
  cordon: Type.Union([CordonInfo, Type.Null()], { description: 'null while the node is schedulable' }),
  sessions: Type.Integer({ description: 'Running StreamSpace session pods on the node' }),
  roles: Type.Array(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
}, { $id: 'NodeView' })
export type NodeView = Static<typeof NodeView>

export const NodeDetail = Type.Intersect([
  NodeView,
  Type.Object({
    annotations: Type.Record(Type.String(), Type.String()),
    conditions: Type.Array(Type.Object({
      type: Type.String(),
      status: Type.String(),
      reason: Type.Optional(Type.String()),
      message: Type.Optional(Type.String()),
      last_transition_time: Type.Optional(Type.String()),
    })),
    addresses: Type.Array(Type.Object({ type: Type.String(), address: Type.String() })),
    node_info: Type.Record(Type.String(), Type.String()),
    allocated: Type.Object({
      cpu: Quantity,
      memory: Quantity,
    }, { description: 'Sum of the requests of non-terminated pods on the node (kubectl describe: Allocated resources)' }),
    pod_list: Type.Array(Type.Object({
      namespace: Type.String(),
      name: Type.String(),
      phase: Type.String(),
      session: Type.Boolean(),
      terminating: Type.Boolean(),
    })),
  }),
], { $id: 'NodeDetail' })
export type NodeDetail = Static<typeof NodeDetail>

export const ClusterStats = Type.Object({
  total_nodes: Type.Integer(),
  ready_nodes: Type.Integer(),
  not_ready_nodes: Type.Integer(),
  total_capacity: Resources,
  total_allocatable: Resources,
  schedulable_nodes: Type.Integer({ description: 'Ready and not cordoned' }),
  total_pods: Type.Integer(),
  total_sessions: Type.Integer(),
  usage: Type.Union([Usage, Type.Null()], { description: 'Allocatable-weighted over nodes with metrics, or null' }),
  stale: Type.Boolean({ description: 'true while the Kubernetes API is unreachable and these figures are the last known' }),
  stale_since: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
}, { $id: 'ClusterStats' })
export type ClusterStats = Static<typeof ClusterStats>

export const UsageSample = Type.Object({
  timestamp: Type.String({ format: 'date-time' }),
  cpu_percent: Type.Number(),
  memory_percent: Type.Number(),
  cpu: Quantity,
  memory: Quantity,
})
export type UsageSample = Static<typeof UsageSample>

export const NodeMetricsHistory = Type.Object({
  node: Type.String(),
  window: Type.String(),
  interval_seconds: Type.Number({ description: 'How often samples are taken' }),
  available: Type.Boolean({ description: 'false when metrics.k8s.io is not served (no metrics-server)' }),
  samples: Type.Array(UsageSample),
}, { $id: 'NodeMetricsHistory' })
export type NodeMetricsHistory = Static<typeof NodeMetricsHistory>
