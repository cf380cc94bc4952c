// The read model keeps each node's JSON in parts around `usage` (src/nodes/read-model.ts), so a
// metrics poll re-renders only that part: the parts must make exactly JSON.stringify(view).
import t from 'tap'
import { viewJsonParts } from '../../src/nodes/read-model.js'
import { nodeView } from '../../src/nodes/view.js'
import type { NodeObject, SlimPod } from '../../src/kube/types.js'

const node = (name: string, extra: Partial<NodeObject> = {}): NodeObject => ({
  metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z', labels: { usage: '"usage":{}', 'node-role.kubernetes.io/worker': '', zone: 'a' }, annotations: {}, ...extra.metadata },
  spec: { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }, { key: 'x', effect: 'NoExecute' }], ...extra.spec },
  status: {
    capacity: { cpu: '8', memory: '32Gi' }, allocatable: { cpu: '7910m', memory: '31Gi' },
    conditions: [{ type: 'Ready', status: 'True' }], ...extra.status,
  },
})
const pods: SlimPod[] = [
  { namespace: 'a', name: 'p', node: 'n', phase: 'Running', terminating: false, session: true, cpuRequestMilli: 100, memoryRequestBytes: 1 },
]

t.test('head + usage + tail is JSON.stringify(view)', async (t) => {
  const now = Date.parse('2026-03-01T00:00:00Z')
  const usages = [undefined, { at: 0, cpu: '1', memory: '1Gi', cpuCores: 1.234, memoryBytes: 2 ** 30 }]
  const nodes = [
    node('plain'),
    node('cordoned', { spec: { unschedulable: true } }),
    node('unicode-ünï', { metadata: { name: 'unicode-ünï', labels: { 'a/b': 'ü"}\\' } } }),
    { metadata: { name: 'bare' } },
  ]
  for (const n of nodes) {
    for (const usage of usages) {
      const view = nodeView(n, { pods, usage, now })
      const { head, tail } = viewJsonParts(view)
      t.equal(`${head},"usage":${JSON.stringify(view.usage)}${tail}`, JSON.stringify(view), `${n.metadata?.name}, usage ${usage ? 'set' : 'none'}`)
    }
  }
})
