// The shapes StreamSpace's own admin Nodes page reads (ui/src/pages/admin/Nodes.tsx in
// streamspace-dev/streamspace): camelCase, status as a string, pods in capacity, percents as numbers.
import { Type, type Static } from 'typebox'

const Quantity = Type.String({ description: 'Kubernetes quantity' })

export const CompatResources = Type.Object({
  cpu: Quantity,
  memory: Quantity,
  pods: Type.String({ description: 'Pod capacity, as the node reports it' }),
  'nvidia.com/gpu': Type.Optional(Quantity),
})

export const CompatUsage = Type.Object({
  cpu: Quantity,
  memory: Quantity,
  cpuPercent: Type.Number({ description: '% of allocatable (as kubectl top)' }),
  memoryPercent: Type.Number({ description: '% of allocatable (as kubectl top)' }),
})

export const CompatNodeInfo = Type.Object({
  name: Type.String(),
  labels: Type.Record(Type.String(), Type.String()),
  taints: Type.Array(Type.Object({ key: Type.String(), value: Type.String(), effect: Type.String() })),
  status: Type.Union([Type.Literal('Ready'), Type.Literal('NotReady'), Type.Literal('Unknown')]),
  capacity: CompatResources,
  allocatable: CompatResources,
  usage: Type.Optional(CompatUsage),
  info: Type.Object({
    osImage: Type.String(),
    kernelVersion: Type.String(),
    kubeletVersion: Type.String(),
    containerRuntime: Type.String(),
  }),
  conditions: Type.Array(Type.Object({ type: Type.String(), status: Type.String(), message: Type.String() })),
  pods: Type.Integer({ description: 'Non-terminated pods on the node' }),
  age: Type.String(),
  provider: Type.Optional(Type.String({ description: 'From spec.providerID (aws, gce, azure, ...)' })),
  region: Type.Optional(Type.String({ description: 'topology.kubernetes.io/region' })),
  zone: Type.Optional(Type.String({ description: 'topology.kubernetes.io/zone' })),
  unschedulable: Type.Boolean({ description: 'Not read by StreamSpace\'s page (it looks at taints); here for other clients' }),
  sessions: Type.Integer({ description: 'Running StreamSpace session pods (not read by StreamSpace\'s page)' }),
}, { $id: 'StreamSpaceNodeInfo', description: 'NodeInfo as StreamSpace\'s admin Nodes page reads it' })
export type CompatNodeInfo = Static<typeof CompatNodeInfo>

const CompatTotals = Type.Object({ cpu: Quantity, memory: Quantity, pods: Type.Integer() })

export const CompatClusterStats = Type.Object({
  totalNodes: Type.Integer(),
  readyNodes: Type.Integer(),
  notReadyNodes: Type.Integer(),
  totalCapacity: CompatTotals,
  totalAllocatable: CompatTotals,
  totalUsage: Type.Optional(CompatUsage),
}, { $id: 'StreamSpaceClusterStats', description: 'ClusterStats as StreamSpace\'s admin Nodes page reads it' })
export type CompatClusterStats = Static<typeof CompatClusterStats>

export const CompatError = Type.Object({ message: Type.String() }, { description: 'StreamSpace\'s error shape' })

export const CompatLabelBody = Type.Object({
  key: Type.String({ minLength: 1 }),
  value: Type.String(),
}, { additionalProperties: false })

export const CompatTaintBody = Type.Object({
  key: Type.String({ minLength: 1 }),
  value: Type.Optional(Type.String()),
  effect: Type.String({ description: 'NoSchedule, PreferNoSchedule or NoExecute' }),
}, { additionalProperties: false })

export const CompatDrainBody = Type.Object({
  grace_period_seconds: Type.Optional(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false })

export const CompatNodeParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 253 }) })
/** StreamSpace's page puts the key into the path unencoded: "example.com/team" arrives as two segments. */
export const CompatKeyParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 253 }), '*': Type.String({ minLength: 1 }) })
