// POST P/nodes/select: the request (what a session needs) and the answer (the node, and why).
import { Type, type Static } from 'typebox'
import { QUANTITY_PATTERN, checkedByDomain } from '../shared/patterns.js'

const Strategy = Type.Union([Type.Literal('least-sessions'), Type.Literal('most-resources'), Type.Literal('random'), Type.Literal('round-robin')], {
  description: 'least-sessions: fewest sessions (session pods bound to the node and not finished, Pending ones too), ties by most free resources, then name; most-resources: most free CPU and memory after placing the request; random: uniform among eligible nodes; round-robin: by name, the next eligible node after the one handed out last by any replica (a cursor shared through a ConfigMap)',
})

export const Toleration = Type.Object({
  key: Type.Optional(Type.String({ maxLength: 317, description: 'Taint key; empty with operator Exists tolerates every taint' })),
  operator: Type.Optional(Type.Union([Type.Literal('Equal'), Type.Literal('Exists')], { description: 'Default Equal' })),
  value: Type.Optional(Type.String({ maxLength: 63 })),
  effect: Type.Optional(Type.Union([Type.Literal(''), Type.Literal('NoSchedule'), Type.Literal('PreferNoSchedule'), Type.Literal('NoExecute')], { description: 'Empty matches every effect' })),
  tolerationSeconds: Type.Optional(Type.Integer()),
}, { additionalProperties: false, description: 'As a pod\'s spec.tolerations[]' })

export const SelectBody = Type.Object({
  strategy: Type.Optional(Strategy),
  cpu: Type.Optional(Type.String({ maxLength: 64, pattern: QUANTITY_PATTERN, ...checkedByDomain('pattern'), description: 'CPU the session requests, a Kubernetes quantity ("500m", "2")', examples: ['500m'] })),
  memory: Type.Optional(Type.String({ maxLength: 64, pattern: QUANTITY_PATTERN, ...checkedByDomain('pattern'), description: 'Memory the session requests, a Kubernetes quantity ("512Mi", "4Gi")', examples: ['2Gi'] })),
  node_selector: Type.Optional(Type.Record(Type.String(), Type.String(), { description: "The session pod's nodeSelector: every label must match" })),
  tolerations: Type.Optional(Type.Array(Toleration, { maxItems: 100 })),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, description: 'At most this many candidates (the best first) and this many excluded nodes (by name) in the answer; candidates_total and excluded_total count them all. Default 100.' })),
}, { additionalProperties: false, description: 'What the session needs; all optional. strategy overrides nodeSelectionStrategy for this request.' })
export type SelectBody = Static<typeof SelectBody>

export const Candidate = Type.Object({
  node: Type.String(),
  rank: Type.Integer({ minimum: 1 }),
  sessions: Type.Integer({ description: 'StreamSpace session pods bound to the node and not finished nor being deleted (Pending ones too)' }),
  pods: Type.Integer({ description: 'Non-terminated pods on the node' }),
  cpu_free: Type.String({ description: 'Allocatable CPU minus what non-terminated pods request, as kube-scheduler counts requests (init containers, sidecars, overhead) (quantity)' }),
  memory_free: Type.String({ description: 'Allocatable memory minus what non-terminated pods request (quantity)' }),
  cpu_free_percent: Type.Number(),
  memory_free_percent: Type.Number(),
  free_after_percent: Type.Number({ description: 'Share of allocatable CPU and memory (averaged) left free after placing the request, %' }),
})

export const Excluded = Type.Object({
  node: Type.String(),
  reasons: Type.Array(Type.String(), { description: "kube-scheduler's words, e.g. \"Insufficient cpu\"" }),
})

export const Selection = Type.Object({
  node: Type.String({ description: 'The chosen node (its kubernetes.io/hostname label is usually the same)' }),
  strategy: Strategy,
  reason: Type.String(),
  candidates: Type.Array(Candidate, { description: 'Eligible nodes, best first by the strategy: the first `limit` (default 100)' }),
  candidates_total: Type.Integer({ minimum: 1, description: 'How many nodes are eligible' }),
  excluded: Type.Array(Excluded, { description: 'Nodes the filters refused, and why: the first `limit` by name (default 100)' }),
  excluded_total: Type.Integer({ minimum: 0, description: 'How many nodes the filters refused' }),
}, { $id: 'NodeSelection' })
export type Selection = Static<typeof Selection>
