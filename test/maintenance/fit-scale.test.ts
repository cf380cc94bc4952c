// The fit check on many nodes: the report names the first 100 nodes that stay schedulable, by
// name, and counts them all (remaining_count); a stranded pod's summary still counts every
// remaining node; the facts it is given (shared by the index) are left as they were.
import t from 'tap'
import type { NodeObject, SlimPod } from '../../src/kube/types.js'
import { FactsIndex } from '../../src/selection/facts-index.js'
import { planFit, REMAINING_NAMES_LISTED } from '../../src/maintenance/fit.js'

t.test('planFit on 250 nodes: 100 names, every node counted, shared facts unchanged', async (t) => {
  const nodes: NodeObject[] = []
  const pods = new Map<string, SlimPod[]>()
  for (let i = 249; i >= 0; i--) {
    const name = `w-${String(i).padStart(3, '0')}`
    nodes.push({ metadata: { name }, spec: i % 50 === 7 ? { unschedulable: true } : {}, status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] } })
    pods.set(name, [{ namespace: 'apps', name: `web-${i}`, node: name, phase: 'Running', terminating: false, session: false, cpuRequestMilli: 1000, memoryRequestBytes: 1 << 30 }])
  }
  // One pod no other node can take (a nodeSelector nothing matches).
  pods.get('w-001')!.push({ namespace: 'apps', name: 'picky', node: 'w-001', phase: 'Running', terminating: false, session: false, cpuRequestMilli: 100, memoryRequestBytes: 0, nodeSelector: { disk: 'nvme' } })
  const index = new FactsIndex({ nodes: () => nodes.values(), podsOn: (n) => pods.get(n) ?? [], podsVersionOf: () => 1 })
  const facts = index.all()
  const before = JSON.stringify(facts)
  const fit = planFit(facts, (n) => pods.get(n) ?? [], ['w-000', 'w-001'])
  const schedulable = facts.filter((f) => f.name !== 'w-000' && f.name !== 'w-001' && !f.unschedulable).map((f) => f.name)
  t.equal(schedulable.length, 243)
  t.equal(REMAINING_NAMES_LISTED, 100)
  t.same(fit.remaining_nodes, schedulable.slice(0, 100), 'the first 100 by name')
  t.equal(fit.remaining_count, 243, 'counted all')
  t.equal(fit.pods, 3)
  t.same(fit.unplaced, [{ pod: 'apps/picky', node: 'w-001', session_user: null, reason: "0/248 nodes are available: 243 node(s) didn't match Pod's node affinity/selector, 5 node(s) were unschedulable." }])
  t.equal(JSON.stringify(facts), before, 'the facts given are unchanged')
})
