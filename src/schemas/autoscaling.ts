// GET P/autoscaling: thresholds, utilization (requests over allocatable, usage beside it), the
// stabilized recommendation and its history.
import { Type, type Static } from 'typebox'

const Action = Type.Union([Type.Literal('scale_up'), Type.Literal('scale_down'), Type.Literal('none')])
const Percent = Type.Number({ description: 'Percent, one decimal' })
const NullablePercent = Type.Union([Percent, Type.Null()], { description: 'Actual usage (metrics.k8s.io), null when metrics do not answer' })

const Recommendation = Type.Object({
  action: Action,
  current_nodes: Type.Integer({ description: 'Ready nodes' }),
  desired_nodes: Type.Integer({ description: 'Clamped to [minNodes, maxNodes]' }),
  reason: Type.String(),
  since: Type.String({ format: 'date-time' }),
})

export const AutoscalingStatus = Type.Object({
  enabled: Type.Boolean({ description: 'enableAutoScaling; false: recommendations are still computed, nothing acts on them' }),
  provider: Type.Literal('none', { description: 'none: recommend only' }),
  leader: Type.Boolean({ description: 'Whether this replica is the leader (only the leader evaluates)' }),
  thresholds: Type.Object({
    scale_up: Percent, scale_down: Percent, min_nodes: Type.Integer(), max_nodes: Type.Integer(),
    scale_up_window_seconds: Type.Number(), scale_down_window_seconds: Type.Number(), interval_seconds: Type.Number(),
  }),
  utilization: Type.Union([Type.Object({
    nodes: Type.Integer({ description: 'Ready nodes counted' }),
    cpu_percent: Percent, memory_percent: Percent,
    utilization_percent: Type.Number({ description: "Per node max(cpu, memory) requested over allocatable (cluster-autoscaler's figure), weighted by allocatable" }),
    usage_cpu_percent: NullablePercent, usage_memory_percent: NullablePercent,
    per_node: Type.Array(Type.Object({
      name: Type.String(), cpu_percent: Percent, memory_percent: Percent, utilization_percent: Percent,
      usage_cpu_percent: NullablePercent, usage_memory_percent: NullablePercent,
    })),
  }), Type.Null()], { description: 'null until the first evaluation' }),
  recommendation: Type.Union([Recommendation, Type.Null()]),
  history: Type.Array(Type.Intersect([Recommendation, Type.Object({ utilization_percent: Percent })]), { description: 'Recommendation changes, newest first (up to 50)' }),
  last_action: Type.Union([Recommendation, Type.Null()], { description: 'The last scale_up or scale_down recommended' }),
})
export type AutoscalingStatus = Static<typeof AutoscalingStatus>
