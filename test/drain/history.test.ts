// Memory that only grows: nodes come and go under autoscaling, so the drain manager keeps a bounded
// number of finished drains, and forgets a node's drain when the node is deleted. A forgotten
// node's last outcome is still read back from its Kubernetes Events.
import t from 'tap'
import { DrainManager } from '../../src/drain/manager.js'
import { systemClock } from '../../src/kube/reflector.js'
import { recordNodeEvent } from '../../src/kube/events.js'
import { startBackend } from '../helpers/backend.js'
import { createNode } from './fixtures.js'
import { waitFor } from '../helpers/service.js'
import { startStack } from '../helpers/stack.js'

t.test('finished drains kept in memory are bounded; older ones read back from Events', async (t) => {
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  const m = new DrainManager({
    clients: b.clients, clock: systemClock, maxFinishedKept: 2,
    recordEvent: (node, event) => recordNodeEvent(b.clients, node, event),
  })
  t.teardown(() => m.close())
  for (const name of ['h1', 'h2', 'h3', 'h4']) {
    await createNode(b.clients, name)
    await (await m.start(name, {})).result
  }
  await waitFor(() => m.runningCount === 0, 5000, 'drains settled')
  t.equal(m.keptCount, 2, 'two finished drains kept')
  t.equal(m.status('h4').phase, 'succeeded', 'the newest is in memory')
  t.equal(m.status('h1').phase, 'none', 'the oldest was forgotten')
  const back = await m.statusWithHistory('h1')
  t.equal(back.phase, 'succeeded', 'and is read back from its Events')
})

t.test('a deleted node\'s drain is forgotten', async (t) => {
  const { backend: b, service: svc } = await startStack(t)
  await createNode(b.clients, 'gone-1')
  await waitFor(async () => (await svc.api('/nodes/gone-1')).status === 200, 10_000, 'node seen')
  t.equal((await svc.api('/nodes/gone-1/drain', { method: 'POST', json: {} })).status, 200)
  t.equal(svc.app.drains.keptCount, 1)
  await b.clients.core.deleteNode({ name: 'gone-1' })
  await waitFor(() => svc.app.drains.keptCount === 0, 10_000, 'forgotten after the node was deleted')
  t.pass('forgotten')
})

// Found by the chaos check (docs/reliability.md, invariant 6): reading a node's drain when it has
// none looks for past drains in the node's Events; when that list failed (the API answering 503),
// the read answered 502. A read is served from what the service knows: "none", saying the history
// could not be read.
t.test('GET a node\'s drain while the Kubernetes API fails: 200 "none", saying past drains could not be read', async (t) => {
  const { backend: b, service: svc } = await startStack(t, { backend: 'sim' })
  await createNode(b.clients, 'quiet-1')
  await waitFor(async () => (await svc.api('/nodes/quiet-1')).status === 200, 10_000, 'node seen')
  b.sim!.faults = { ...b.sim!.faults, errorRate: 1 }
  const res = await svc.api('/nodes/quiet-1/drain')
  b.sim!.faults = { ...b.sim!.faults, errorRate: 0 }
  t.equal(res.status, 200, 'a read does not fail with the API: ' + await res.clone().text())
  const body = await res.json() as { phase: string; message: string }
  t.equal(body.phase, 'none')
  t.match(body.message, /past drains of node quiet-1 could not be read.*HTTP 503/, 'says what it could not look at, and why')
})
