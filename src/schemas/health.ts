import { Type, type Static } from 'typebox'

export const HealthCondition = Type.Object({
  type: Type.String({ description: 'Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable, or Unschedulable (cordoned too long)' }),
  status: Type.String({ description: 'The condition status as the node reports it' }),
  reason: Type.String(),
  message: Type.String(),
  since: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the problem began (lastTransitionTime; cordon time), if known' }),
})

export const NodeHealth = Type.Object({
  name: Type.String(),
  phase: Type.Union([Type.Literal('Ready'), Type.Literal('NotReady'), Type.Literal('Unknown')]),
  conditions: Type.Array(HealthCondition),
})

export const HealthAlert = Type.Object({
  alertname: Type.String({ description: 'StreamSpaceNodeNotReady, StreamSpaceNodeCondition or StreamSpaceNodeCordonedTooLong' }),
  node: Type.String(),
  condition: Type.String(),
  severity: Type.String(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('firing'), Type.Literal('resolved')], { description: 'pending: within the grace period, nobody paged yet' }),
  paged: Type.Boolean({ description: 'Notifications went out for it' }),
  summary: Type.String(),
  starts_at: Type.String({ format: 'date-time' }),
  ends_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  ended: Type.Union([Type.Literal('recovered'), Type.Literal('deleted'), Type.Null()]),
})

export const ClusterHealth = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('critical')], { description: 'critical: no Ready node or at least half not Ready; degraded: any other problem' }),
  nodes: Type.Array(NodeHealth, { description: 'Nodes with problems' }),
  alerts: Type.Array(HealthAlert, { description: 'Incidents open now and those resolved in the last 15 minutes: NodeIncident objects, the same on every replica (problems still in their grace period only on the leader, as pending)' }),
  last_check: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'The leader\'s last full check (null on other replicas)' }),
  leader: Type.Object({
    identity: Type.Union([Type.String(), Type.Null()], { description: 'The Lease holder as this replica last saw it' }),
    is_self: Type.Boolean(),
    error: Type.Optional(Type.String({ description: 'Why this replica cannot take part in the election (e.g. RBAC)' })),
  }),
})
export type ClusterHealth = Static<typeof ClusterHealth>
