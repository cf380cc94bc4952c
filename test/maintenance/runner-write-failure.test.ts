// Found by the chaos check (docs/reliability.md): when the status write that records a node's
// "draining" step failed (the API answering 503), the drain step's promise was rejected with no one
// to catch it, and the replica exited ("closing after an error"). The runner must stop as it does
// on any failed status write: marked failed, nothing unhandled, so the engine resumes the plan.
import t from 'tap'
import { PlanRunner, type RunnerHost } from '../../src/maintenance/runner.js'
import { planOf, type PlanObject } from '../../src/maintenance/objects.js'
import type { MaintenanceDeps } from '../../src/maintenance/deps.js'
import { systemClock } from '../../src/clock.js'

t.test('a failed status write at the draining step stops the runner without an unhandled rejection', async (t) => {
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown) => { unhandled.push(err) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled) })

  const obj = {
    apiVersion: 'nodes.stream.space/v1alpha1', kind: 'NodeMaintenance',
    metadata: { name: 'm-write', uid: 'uid-m-write', resourceVersion: '1', generation: 1, creationTimestamp: new Date().toISOString() },
    spec: { nodes: ['n1'], reason: 'kernel', sessionPolicy: 'evict', requestedBy: 'ops' },
  } as unknown as PlanObject
  let drains = 0
  const deps = {
    clock: systemClock,
    source: { getNode: (name: string) => ({ metadata: { name } }), nodes: () => [], podsOnNode: () => [], onChange: () => () => {}, whenSynced: async () => {} },
    cordon: async () => {},
    uncordon: async () => {},
    drain: async () => { drains++; throw new Error('not reached') },
    hibernate: async () => {},
    recordEvent: async () => undefined,
    log: { warn: () => {}, info: () => {}, error: () => {}, debug: () => {} },
    confirmLeading: async () => true,
  } as unknown as MaintenanceDeps
  const host: RunnerHost = {
    deps,
    lastError: undefined,
    async writeStatus(runner) {
      if (runner.plan.nodes[0]!.state === 'draining') throw new Error('Kubernetes API failed to update nodemaintenances/m-write/status (HTTP 503): injected')
    },
  }
  const runner = new PlanRunner(host, planOf(obj), obj)
  await runner.done
  // Rejections are reported after the microtasks of the turn that made them.
  await new Promise((r) => setTimeout(r, 50))
  t.ok(runner.failed, 'the runner stopped as failed: the engine resumes the plan from its stored status')
  t.match(host.lastError, /HTTP 503/, 'the failure is named')
  t.equal(drains, 0, 'no drain started without its step recorded')
  t.same(unhandled.map(String), [], 'no unhandled rejection (it made the replica exit)')
})
