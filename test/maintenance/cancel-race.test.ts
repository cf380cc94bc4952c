// A cancel that comes while the plan's runner is in the middle of a step (writing a Kubernetes
// Event) waits for that step, then writes where the node was left: the runner's step never
// overwrites the cancel's account. The engine alone (its plans on the simulated cluster), its
// Event write held open by the test.
import t from 'tap'
import { MaintenanceEngine } from '../../src/maintenance/engine.js'
import type { Maintenance } from '../../src/maintenance/types.js'
import type { NodeObject, SlimPod } from '../../src/kube/types.js'
import { nodeMaintenances } from '../../src/kube/maintenance-store.js'
import { planOf, type PlanSpec, type PlanStatus } from '../../src/maintenance/objects.js'
import { FakeClock } from '../helpers/clock.js'
import { startBackend } from '../helpers/backend.js'
import { waitFor } from '../helpers/fixtures.js'

t.test('cancel while the runner writes its waiting-for-sessions Event', async (t) => {
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  const log = { info: () => {}, warn: () => {} }
  const objects = nodeMaintenances<PlanSpec, PlanStatus>(b.clients, log)
  objects.start()
  t.teardown(() => objects.stop())
  const node: NodeObject = { metadata: { name: 'n1' }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'True' }] } }
  const session: SlimPod = {
    namespace: 'streamspace', name: 'desk-1', node: 'n1', phase: 'Running', terminating: false, session: true,
    labels: { app: 'streamspace-session', session: 'desk-1', user: 'alice' }, cpuRequestMilli: 100, memoryRequestBytes: 1,
  }
  const events: string[] = []
  let eventStarted!: () => void
  const waitingEventStarted = new Promise<void>((r) => { eventStarted = r })
  let releaseEvent!: () => void
  const waitingEventHeld = new Promise<void>((r) => { releaseEvent = r })

  const engine = new MaintenanceEngine({
    objects,
    clock: new FakeClock(Date.parse('2026-11-28T12:00:00Z')),
    source: { getNode: (n) => (n === 'n1' ? node : undefined), nodes: () => [node], podsOnNode: (n) => (n === 'n1' ? [session] : []), onChange: () => () => {}, whenSynced: async () => {} },
    cordon: async () => {},
    uncordon: async () => {},
    drain: async () => { throw new Error('no drain expected: the session never ends') },
    hibernate: async () => {},
    recordEvent: async (_node, e) => {
      events.push(e.reason)
      if (e.reason === 'MaintenanceWaitingForSessions') {
        eventStarted()
        await waitingEventHeld
      }
    },
    log,
    newId: () => 'm1',
  })
  engine.startLeading()
  t.teardown(() => engine.stopLeading())
  await engine.create({ nodes: ['n1'], reason: 'kernel update' }, 'admin')
  await waitingEventStarted

  let cancelDone = false
  const cancelled = engine.cancel('m1', 'admin').finally(() => { cancelDone = true })
  // Once the cancel is in the cluster (seen by the cache), a cancel that did not wait for the
  // runner would have answered: it is still waiting, and the runner's write is still held.
  await waitFor(() => objects.get('m1')?.spec.cancel === true, 10_000, 'the cancel recorded in the spec')
  t.notOk(cancelDone, 'the cancel waits for the runner\'s Event write under way')
  releaseEvent()
  const plan = await cancelled

  const expect = (p: Maintenance, what: string) => {
    const n1 = p.nodes.find((n) => n.name === 'n1')!
    t.equal(p.state, 'cancelled', `${what}: plan cancelled`)
    t.equal(n1.state, 'cancelled', `${what}: node cancelled`)
    t.match(n1.message, /^cancelled by admin while waiting_for_sessions: left cordoned with 1 session\(s\) still running$/, `${what}: the cancel's account of the node, not the runner's "waiting for 1 session(s)"`)
  }
  expect(plan, 'answer')
  // The runner's last act is the cancel's Event: whatever it had queued has landed by then.
  await waitFor(() => events.includes('MaintenanceCancelled'), 10_000, 'the MaintenanceCancelled Event')
  expect(planOf((await objects.read('m1'))!), 'stored')
  expect(engine.get('m1'), 'read back')
  t.same(events, ['MaintenanceCordoned', 'MaintenanceWaitingForSessions', 'MaintenanceCancelled'], 'the cancel\'s Event comes last')
})
