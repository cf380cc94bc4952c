// A failed metrics.k8s.io poll must not erase what was measured: the history stays, usage stays
// shown until the last good poll is old, then turns null; the next good poll brings it back.
import t from 'tap'
import { startBackend } from '../helpers/backend.js'
import { createNode } from '../helpers/fixtures.js'
import { NodeMetricsStore } from '../../src/kube/node-metrics.js'
import { systemClock } from '../../src/kube/reflector.js'

t.test('metrics history survives a failed poll; usage turns null only once old', async (t) => {
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  await createNode(b.clients, { name: 'm1', cpu: '2', memory: '4Gi' })
  let now = Date.now()
  const clock = { ...systemClock, now: () => now }
  const store = new NodeMetricsStore({ kc: b.kc, log: { info() {}, warn() {} }, intervalMs: 15_000, historySamples: 10, staleAfterMs: 60_000, clock })
  await store.poll()
  t.ok(store.available, 'available after a good poll')
  t.ok(store.latest('m1'), 'usage known')
  t.equal(store.since('m1', 0).length, 1, 'one sample')

  b.sim!.faults = { ...b.sim!.faults, errorRate: 1 }
  now += 15_000
  await store.poll()
  t.match(store.lastError ?? '', /./, 'the failure is recorded')
  t.ok(store.available, 'still available: the data is 15 s old')
  t.ok(store.latest('m1'), 'usage still shown')
  t.equal(store.since('m1', 0).length, 1, 'history kept across the failed poll')

  now += 60_000
  await store.poll()
  t.notOk(store.available, 'unavailable once the last good poll is older than 60 s')
  t.equal(store.latest('m1'), undefined, 'usage null')
  t.equal(store.since('m1', 0).length, 1, 'history still kept')

  b.sim!.faults = { ...b.sim!.faults, errorRate: 0 }
  await store.poll()
  t.ok(store.available, 'back after a good poll')
  t.equal(store.lastError, undefined)
  t.ok(store.latest('m1'))
})
