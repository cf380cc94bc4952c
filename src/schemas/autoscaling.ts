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

const Current = Type.Intersect([Recommendation, Type.Object({
  computed_by: Type.Union([Type.Literal('leader'), Type.Literal('follower')], { description: 'leader: its stabilized recommendation; follower: this replica is not the leader and computed the figures now from its own caches' }),
  stabilized: Type.Boolean({ description: 'true: held through the stabilization windows (the leader\'s); false: a follower\'s figures of the moment, not acted on' }),
})])

export const AutoscalingStatus = Type.Object({
  enabled: Type.Boolean({ description: 'enableAutoScaling; false: recommendations are still computed, nothing acts on them' }),
  provider: Type.Union([Type.Literal('none'), Type.Literal('cluster-api')], { description: 'AUTOSCALING_PROVIDER. none: recommend only; cluster-api: the selected MachineDeployments carry cluster-autoscaler\'s annotations and an overprovisioning Deployment keeps headroom' }),
  leader: Type.Boolean({ description: 'Whether this replica is the leader (only the leader holds a stabilized recommendation; a follower answers the figures of the moment from its own caches)' }),
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
  recommendation: Type.Union([Current, Type.Null()], { description: 'null until the leader\'s first evaluation (or, on a follower, until its caches have synced)' }),
  history: Type.Array(Type.Intersect([Recommendation, Type.Object({ utilization_percent: Percent })]), { description: 'Recommendation changes this replica made while it led, newest first (up to 50)' }),
  last_action: Type.Union([Recommendation, Type.Null()], { description: 'The last scale_up or scale_down recommended' }),
  cluster_api: Type.Union([Type.Object({
    enabled: Type.Boolean({ description: 'Whether the last pass applied (enableAutoScaling true) or removed (false) what the provider writes' }),
    selector: Type.String({ description: 'Label selector of the MachineDeployments managed' }),
    last_sync: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the leader last brought the cluster in step' }),
    error: Type.Union([Type.String(), Type.Null()], { description: 'Why the last pass failed (it is retried), else null' }),
    machine_deployments: Type.Array(Type.Object({
      namespace: Type.String(), name: Type.String(),
      replicas: Type.Union([Type.Integer(), Type.Null()], { description: 'spec.replicas as cluster-autoscaler set it (never written by this service)' }),
      min_size: Type.Integer(), max_size: Type.Integer(),
      scale_down_utilization_threshold: Type.Number({ description: 'scaleDownThreshold as a fraction' }),
      managed_elsewhere: Type.Array(Type.String(), { description: 'Annotations another manager (a GitOps tool, a ClusterClass topology) changed after we wrote them: left alone, never re-patched; min_size, max_size and the threshold show the value the group carries' }),
    })),
    overprovisioning: Type.Union([Type.Object({
      replicas: Type.Integer(), cpu: Type.String(), memory: Type.String(), priority_class: Type.String(),
      percent_of_node: Type.Number({ description: 'Each pause pod\'s share of the average node: 100 - scaleUpThreshold, capped at scaleDownThreshold / 2 so a node holding one stays removable for cluster-autoscaler' }),
    }), Type.Null()], { description: 'The pause pods that keep headroom (one per schedulable node); null while disabled' }),
  }), Type.Null()], { description: 'provider cluster-api: what it keeps in the cluster, as the leader last saw it; null for provider none' }),
})
export type AutoscalingStatus = Static<typeof AutoscalingStatus>
