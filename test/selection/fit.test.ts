// The scheduler's filters and its "0/N nodes are available" wording, and fitPods placing several
// pods at once. Pure functions over node objects as the API sends them.
import t from 'tap'
import type { NodeObject, SlimPod } from '../../src/kube/types.js'
import { fitPods, nodeFacts, unavailableSummary, unfitReasons, type NodeFacts } from '../../src/selection/fit.js'

function node(name: string, o: { cpu?: string; memory?: string; pods?: string; ready?: 'True' | 'False' | 'Unknown'; unschedulable?: boolean; labels?: Record<string, string>; taints?: { key: string; value?: string; effect: string }[] } = {}): NodeObject {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { unschedulable: o.unschedulable, taints: o.taints },
    status: {
      allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' },
      conditions: [{ type: 'Ready', status: o.ready ?? 'True' }],
    },
  }
}

function pod(name: string, nodeName: string, cpuMilli: number, memoryBytes: number, extra: Partial<SlimPod> = {}): SlimPod {
  return { namespace: 'apps', name, node: nodeName, phase: 'Running', terminating: false, session: false, cpuRequestMilli: cpuMilli, memoryRequestBytes: memoryBytes, ...extra }
}

const GI = 1024 ** 3

t.test('node facts: requests of non-terminated pods, sessions, lifecycle taints', async (t) => {
  const f = nodeFacts(node('a', { cpu: '3800m', memory: '16393652Ki' }), [
    pod('web', 'a', 250, 256 * 1024 ** 2),
    pod('s1', 'a', 500, GI, { session: true }),
    pod('s2', 'a', 500, GI, { session: true, phase: 'Pending' }),
    pod('done', 'a', 1000, GI, { phase: 'Succeeded' }),
    pod('going', 'a', 100, 0, { terminating: true }),
    pod('s3', 'a', 0, 0, { session: true, terminating: true }),
    pod('s4', 'a', 0, 0, { session: true, phase: 'Failed' }),
  ])
  t.equal(f.allocatableCpuMilli, 3800)
  t.equal(f.allocatableMemoryBytes, 16393652 * 1024)
  t.equal(f.requestedCpuMilli, 250 + 500 + 500 + 100, 'terminating pods still hold their requests; finished ones do not')
  t.equal(f.requestedMemoryBytes, 256 * 1024 ** 2 + 2 * GI)
  t.equal(f.pods, 5)
  t.equal(f.sessions, 2, 'sessions bound and not finished count, Pending too; not those being deleted or finished')
  t.same(nodeFacts(node('b', { ready: 'False' }), []).taints, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }])
  t.same(nodeFacts(node('c', { ready: 'Unknown' }), []).taints, [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }])
  t.same(nodeFacts(node('d', { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }, { key: 'x', value: 'y', effect: 'NoExecute' }] }), []).taints,
    [{ key: 'x', value: 'y', effect: 'NoExecute' }], 'PreferNoSchedule does not filter')
})

t.test('each filter, in the scheduler\'s words and order', async (t) => {
  const req = { cpuMilli: 1000, memoryBytes: GI }
  t.same(unfitReasons(nodeFacts(node('a'), []), req), [], 'fits')
  t.same(unfitReasons(nodeFacts(node('a', { ready: 'False', unschedulable: true }), []), req), ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'])
  t.same(unfitReasons(nodeFacts(node('a', { ready: 'False' }), []), { ...req, tolerations: [{ operator: 'Exists' }] }),
    ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'], 'NotReady is never eligible, tolerated or not')
  t.same(unfitReasons(nodeFacts(node('a', { unschedulable: true, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }), []), req), ['node(s) were unschedulable'])
  t.same(unfitReasons(nodeFacts(node('a', { unschedulable: true }), []), { ...req, tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }), [],
    'as the NodeUnschedulable plugin: tolerating the unschedulable taint lets it through')
  const gpu = nodeFacts(node('a', { labels: { gpu: 'true' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }), [])
  t.same(unfitReasons(gpu, req), ['node(s) had untolerated taint {dedicated: gpu}'])
  t.same(unfitReasons(gpu, { ...req, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }], nodeSelector: { gpu: 'false' } }), ["node(s) didn't match Pod's node affinity/selector"])
  t.same(unfitReasons(gpu, { ...req, tolerations: [{ key: 'dedicated', operator: 'Exists' }], nodeSelector: { gpu: 'true' } }), [])
  const full = nodeFacts(node('a', { cpu: '2', memory: '2Gi', pods: '2' }), [pod('p1', 'a', 1500, 1.5 * GI), pod('p2', 'a', 0, 0)])
  t.same(unfitReasons(full, req), ['Too many pods', 'Insufficient cpu', 'Insufficient memory'], 'NodeResourcesFit gives every reason')
  t.same(unfitReasons(nodeFacts(node('a', { cpu: '2', memory: '2Gi' }), [pod('p1', 'a', 1000, GI)]), req), [], 'exactly the room left fits')
  t.same(unfitReasons(nodeFacts(node('a', { cpu: '1' }), [pod('p1', 'a', 3000, 0)]), { cpuMilli: 0, memoryBytes: 0 }), [], 'no request fits an overcommitted node')
})

t.test('summary as kube-scheduler writes it', async (t) => {
  t.equal(unavailableSummary(5, [
    { name: 'a', reasons: ['Insufficient cpu'] }, { name: 'b', reasons: ['Insufficient cpu', 'Insufficient memory'] },
    { name: 'c', reasons: ['node(s) had untolerated taint {dedicated: gpu}'] }, { name: 'd', reasons: ['node(s) had untolerated taint {dedicated: gpu}'] },
    { name: 'e', reasons: ['node(s) had untolerated taint {dedicated: gpu}'] },
  ]), '0/5 nodes are available: 1 Insufficient memory, 2 Insufficient cpu, 3 node(s) had untolerated taint {dedicated: gpu}.',
  'sorted as Go sorts the "<count> <reason>" strings')
  t.equal(unavailableSummary(0, []), '0/0 nodes are available.')
})

t.test('fitPods: greedy placement that uses up room', async (t) => {
  const nodes: NodeFacts[] = [
    nodeFacts(node('a', { cpu: '2', memory: '4Gi' }), [pod('x', 'a', 1000, GI)]),
    nodeFacts(node('b', { cpu: '2', memory: '4Gi' }), []),
    nodeFacts(node('c', { cpu: '8', memory: '16Gi', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }), []),
  ]
  const pods = [
    { name: 'apps/p1', cpuMilli: 1000, memoryBytes: GI },
    { name: 'apps/p2', cpuMilli: 1000, memoryBytes: GI },
    { name: 'apps/p3', cpuMilli: 1000, memoryBytes: GI },
    { name: 'apps/big', cpuMilli: 1500, memoryBytes: GI },
  ]
  const r = fitPods(pods, nodes)
  t.same(r.placements.map((p) => [p.pod.name, p.node]), [['apps/big', 'b'], ['apps/p1', 'a']], 'largest first, each on the emptiest node left')
  t.same(r.unplaced.map((u) => u.pod.name), ['apps/p2', 'apps/p3'])
  t.equal(r.unplaced[0].summary, '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu.')
  t.same(r.unplaced[0].nodes.map((n) => n.name), ['a', 'b'].concat('c').sort())
  t.equal(nodes[0].requestedCpuMilli, 1000, 'the nodes given are left as they were')
  t.equal(r.nodes.find((n) => n.name === 'a')!.requestedCpuMilli, 2000, 'the result holds what was used')

  const tolerant = fitPods(pods.map((p) => ({ ...p, tolerations: [{ key: 'dedicated', operator: 'Exists' }] })), nodes, { order: 'given' })
  t.equal(tolerant.unplaced.length, 0, 'with the taint tolerated, the big node takes the rest')
  t.same(tolerant.placements.map((p) => p.node), ['c', 'c', 'c', 'c'], 'given order; the emptiest node stays the 8-core one')
})
