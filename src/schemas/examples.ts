// Examples for the OpenAPI document (what Swagger UI at /docs and client generators show): one
// small, consistent cluster (two workers of the demo). test/openapi.test.ts checks each against its
// schema, so an example that drifts from its shape fails the suite.
import type { Static } from 'typebox'
import type { ClusterStats, NodeDetail, NodeMetricsHistory, NodeView } from '../nodes/shapes.js'
import type { DrainResult, DrainStatus, FitReport } from '../drain/shapes.js'
import type { CompatClusterStats, CompatNodeInfo } from '../nodes/streamspace-shape.js'
import type { AutoscalingStatus } from './autoscaling.js'
import type { EffectiveOptions } from './config.js'
import type { ClusterHealth } from './health.js'
import type { Maintenance } from './maintenance.js'
import type { Selection } from './selection.js'

type Options = Static<typeof EffectiveOptions>
type Plan = Static<typeof Maintenance>

const CREATED = '2026-11-30T09:12:00Z'
const NOW = '2026-12-05T14:03:21Z'

export const nodeViewExample: NodeView = {
  name: 'worker-1',
  labels: { 'kubernetes.io/hostname': 'worker-1', 'node-role.kubernetes.io/worker': '', 'topology.kubernetes.io/zone': 'zone-a', pool: 'desktops' },
  taints: [],
  status: { ready: true, phase: 'Ready' },
  capacity: { cpu: '16', memory: '64Gi' },
  allocatable: { cpu: '15800m', memory: '62Gi' },
  usage: { cpu_percent: 41.3, memory_percent: 57.9 },
  pods: 14,
  age: '5d4h',
  unschedulable: false,
  cordon: null,
  sessions: 6,
  roles: ['worker'],
  created_at: CREATED,
}

export const cordonedNodeExample: NodeView = {
  ...nodeViewExample,
  taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }],
  unschedulable: true,
  cordon: { by: 'alice', reason: 'kernel upgrade, ticket OPS-1234', at: NOW },
}

export const nodeListExample: NodeView[] = [
  nodeViewExample,
  {
    ...nodeViewExample, name: 'worker-2', labels: { ...nodeViewExample.labels, 'kubernetes.io/hostname': 'worker-2' },
    status: { ready: false, phase: 'NotReady' }, usage: null, pods: 9, sessions: 0,
    taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }],
  },
]

export const nodeDetailExample: NodeDetail = {
  ...nodeViewExample,
  annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
  conditions: [
    { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', last_transition_time: CREATED },
    { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available', last_transition_time: CREATED },
  ],
  addresses: [{ type: 'InternalIP', address: '10.0.1.11' }, { type: 'Hostname', address: 'worker-1' }],
  node_info: { kubeletVersion: 'v1.31.2', osImage: 'Ubuntu 24.04.1 LTS', kernelVersion: '6.8.0-49-generic', containerRuntimeVersion: 'containerd://1.7.22' },
  allocated: { cpu: '9200m', memory: '38Gi' },
  pod_list: [
    { namespace: 'streamspace', name: 'session-alice-firefox-7c9d', phase: 'Running', session: true, terminating: false },
    { namespace: 'kube-system', name: 'kube-proxy-x2b7q', phase: 'Running', session: false, terminating: false },
  ],
}

export const clusterStatsExample: ClusterStats = {
  total_nodes: 2, ready_nodes: 1, not_ready_nodes: 1,
  total_capacity: { cpu: '32', memory: '128Gi' },
  total_allocatable: { cpu: '31600m', memory: '124Gi' },
  schedulable_nodes: 1, total_pods: 23, total_sessions: 6,
  usage: { cpu_percent: 41.3, memory_percent: 57.9 },
  stale: false, stale_since: null,
}

export const metricsHistoryExample: NodeMetricsHistory = {
  node: 'worker-1', window: '1h', interval_seconds: 30, available: true,
  samples: [
    { timestamp: '2026-12-05T14:02:51Z', cpu_percent: 40.8, memory_percent: 57.6, cpu: '6446m', memory: '36572Mi' },
    { timestamp: '2026-12-05T14:03:21Z', cpu_percent: 41.3, memory_percent: 57.9, cpu: '6525m', memory: '36762Mi' },
  ],
}

export const taintChangeExample = {
  ...nodeViewExample,
  taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
}

export const drainResultExample: DrainResult = {
  message: 'Node drained successfully',
  node: 'worker-1',
  pods_deleted: 2,
  evicted: ['streamspace/session-alice-firefox-7c9d', 'default/web-5d8f7-abcde'],
  skipped: [{ pod: 'kube-system/kube-proxy-x2b7q', reason: 'DaemonSet-managed' }],
  duration_seconds: 12.4,
  sessions_disrupted: 1,
  method: 'eviction',
  warnings: [],
  dry_run: false,
}

export const drainAcceptedExample = {
  message: 'Drain of node worker-1 started',
  node: 'worker-1',
  status_url: '/api/plugins/streamspace-node-manager/nodes/worker-1/drain',
  events_url: '/api/plugins/streamspace-node-manager/nodes/worker-1/drain/events',
}

export const drainStatusExample: DrainStatus = {
  node: 'worker-1',
  phase: 'running',
  message: 'Evicting 2 pods',
  started_at: NOW,
  finished_at: null,
  options: { timeout_seconds: 300, force: false, ignore_daemonsets: true, delete_emptydir_data: false, disable_eviction: false, dry_run: false },
  cordoned: true,
  method: 'eviction',
  total: 2,
  evicted: ['default/web-5d8f7-abcde'],
  pending: [{ pod: 'streamspace/session-alice-firefox-7c9d', reason: 'Cannot evict pod as it would violate the pod\'s disruption budget.', pdb: 'streamspace/sessions' }],
  skipped: [{ pod: 'kube-system/kube-proxy-x2b7q', reason: 'DaemonSet-managed' }],
  refused: [],
  errors: [],
  warnings: [],
  sessions_disrupted: 0,
  sessions_total: 1,
  duration_seconds: null,
}

export const drainEventsExample = [
  `event: status\ndata: ${JSON.stringify({ node: 'worker-1', phase: 'running', message: 'Evicting 2 pods' })}`,
  `id: 4\nevent: pod_evicted\ndata: ${JSON.stringify({ id: 4, type: 'pod_evicted', at: NOW, pod: 'default/web-5d8f7-abcde', evicted: 1, pending: 1, total: 2, sessions_disrupted: 0, sessions_total: 1 })}`,
  '',
].join('\n\n')

export const clusterHealthExample: ClusterHealth = {
  status: 'degraded',
  nodes: [{
    name: 'worker-2', phase: 'NotReady',
    conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'container runtime is down', since: '2026-12-05T13:58:02Z' }],
  }],
  alerts: [{
    alertname: 'StreamSpaceNodeNotReady', node: 'worker-2', condition: 'Ready', severity: 'critical', state: 'firing', paged: true,
    summary: 'worker-2: Ready=False (KubeletNotReady)', starts_at: '2026-12-05T13:58:02Z', ends_at: null, ended: null,
  }],
  last_check: NOW,
  leader: { identity: 'streamspace-node-manager-6f7c9-2xk4p', is_self: true },
}

export const selectionExample: Selection = {
  node: 'worker-1',
  strategy: 'least-sessions',
  reason: 'fewest sessions (6) among 1 eligible node',
  candidates: [{
    node: 'worker-1', rank: 1, sessions: 6, pods: 14, cpu_free: '6600m', memory_free: '24Gi',
    cpu_free_percent: 41.8, memory_free_percent: 38.7, free_after_percent: 36.5,
  }],
  candidates_total: 1,
  excluded: [{ node: 'worker-2', reasons: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'] }],
  excluded_total: 1,
}

export const optionsExample: Options = {
  // (the strategy's literal union is typed as never: Strategies.map loses the literals)
  enableAutoScaling: false, scaleUpThreshold: 80, scaleDownThreshold: 20, nodeSelectionStrategy: 'least-sessions' as never,
  healthCheckInterval: 60, metricsEnabled: true, alertOnNodeFailure: true, minNodes: 1, maxNodes: 10,
}

export const fitExample: Static<typeof FitReport> = { remaining_nodes: ['worker-1'], remaining_count: 1, pods: 9, fits: true, unplaced: [] }

export const maintenanceExample: Plan = {
  id: 'mnt-20261205-7f3a',
  reason: 'kernel upgrade OPS-1234',
  created_by: 'alice',
  created_at: '2026-12-05T13:00:00Z',
  start_at: '2026-12-05T13:00:00Z',
  session_deadline: '2026-12-05T18:00:00Z',
  session_policy: 'hibernate',
  max_unavailable: 1,
  node_selector: null,
  drain: {},
  force: false,
  state: 'running',
  message: 'worker-2: waiting for 1 session',
  updated_at: NOW,
  finished_at: null,
  nodes: [{
    name: 'worker-2', state: 'waiting_for_sessions', message: 'waiting for 1 session (deadline 2026-12-05T18:00:00Z)',
    sessions: [{ pod: 'streamspace/session-bob-gimp-4b1e', session: 'session-bob-gimp', user: 'bob' }],
    cordoned_by_plan: true, cordoned_at: '2026-12-05T13:00:01Z', waiting_since: '2026-12-05T13:00:01Z',
    drain_started_at: null, finished_at: null, sessions_ended: 2, sessions_hibernated: 0, pods_evicted: 0,
  }],
  fit: fitExample,
}

export const maintenanceEventsExample = [
  `event: status\ndata: ${JSON.stringify({ id: maintenanceExample.id, state: 'running' })}`,
  `id: 3\nevent: node\ndata: ${JSON.stringify({ id: 3, type: 'node', at: NOW, node: 'worker-2', state: 'draining', message: 'draining' })}`,
  '',
].join('\n\n')

export const autoscalingExample: AutoscalingStatus = {
  enabled: false,
  provider: 'none',
  leader: true,
  thresholds: { scale_up: 80, scale_down: 20, min_nodes: 1, max_nodes: 10, scale_up_window_seconds: 0, scale_down_window_seconds: 600, interval_seconds: 60 },
  utilization: {
    nodes: 1, cpu_percent: 58.2, memory_percent: 61.3, utilization_percent: 61.3, usage_cpu_percent: 41.3, usage_memory_percent: 57.9,
    per_node: [{ name: 'worker-1', cpu_percent: 58.2, memory_percent: 61.3, utilization_percent: 61.3, usage_cpu_percent: 41.3, usage_memory_percent: 57.9 }],
  },
  recommendation: {
    action: 'none', current_nodes: 1, desired_nodes: 1, reason: 'utilization 61.3% is between 20% and 80%', since: '2026-12-05T12:00:00Z',
    computed_by: 'leader', stabilized: true,
  },
  history: [],
  last_action: null,
  cluster_api: null,
}

export const compatNodeInfoExample: CompatNodeInfo = {
  name: 'worker-1',
  labels: nodeViewExample.labels,
  taints: [],
  status: 'Ready',
  capacity: { cpu: '16', memory: '64Gi', pods: '110' },
  allocatable: { cpu: '15800m', memory: '62Gi', pods: '110' },
  usage: { cpu: '6525m', memory: '36762Mi', cpuPercent: 41.3, memoryPercent: 57.9 },
  info: { osImage: 'Ubuntu 24.04.1 LTS', kernelVersion: '6.8.0-49-generic', kubeletVersion: 'v1.31.2', containerRuntime: 'containerd://1.7.22' },
  conditions: [{ type: 'Ready', status: 'True', message: 'kubelet is posting ready status' }],
  pods: 14,
  age: '5d4h',
  zone: 'zone-a',
  unschedulable: false,
  sessions: 6,
}

export const compatStatsExample: CompatClusterStats = {
  totalNodes: 2, readyNodes: 1, notReadyNodes: 1,
  totalCapacity: { cpu: '32', memory: '128Gi', pods: 220 },
  totalAllocatable: { cpu: '31600m', memory: '124Gi', pods: 220 },
  totalUsage: { cpu: '6525m', memory: '36762Mi', cpuPercent: 41.3, memoryPercent: 57.9 },
}
