// A failed metrics.k8s.io poll must not erase what was measured: the history stays, usage stays
// shown until the last good poll is old, then turns null; the next good poll brings it back. The
// history ring keeps the newest samples with their texts and numbers as polled.
import t from 'tap'
import { startBackend } from '../helpers/backend.js'
import { createNode } from '../helpers/fixtures.js'
import { NodeMetricsStore, UsageRing, type NodeUsage } from '../../src/kube/node-metrics.js'
import { canonicalQuantity, quantityToNumber } from '../../src/kube/quantity.js'
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

t.test('the usage history keeps the newest samples in order, their texts and numbers as polled', async (t) => {
  const ring = new UsageRing(5)
  const sample = (i: number, cpu: string, memory: string): NodeUsage => ({ at: 1_000 * i, cpu, memory, cpuCores: quantityToNumber(cpu), memoryBytes: quantityToNumber(memory) })
  const texts = [['123456789n', '1048576Ki'], ['1500m', '4Gi'], ['2', '16393652Ki'], ['250m', '1G'], ['1', '7999999999'], ['3999999999n', '1.5Gi'], ['0', '0'], ['12345678901n', '8589934592Ki']]
  t.same(ring.since(0), [], 'empty')
  const pushed = texts.map(([cpu, memory], i) => sample(i + 1, cpu, memory))
  for (const [i, u] of pushed.entries()) {
    ring.push(u)
    if (i === 2) {
      t.equal(ring.since(0).length, 3, 'three so far')
      t.equal(ring.since(2_000).length, 2, 'since a time: the samples at or after it')
    }
  }
  ring.push({ ...pushed.at(-1)!, cpu: '9' })
  const kept = ring.since(0)
  t.equal(kept.length, 5, 'at most the capacity; a repeat of the newest scrape is not a sample')
  t.same(kept.map((u) => u.at), [4_000, 5_000, 6_000, 7_000, 8_000], 'the newest, oldest first')
  for (const [k, u] of kept.entries()) {
    const polled = pushed[3 + k]
    t.equal(u.cpu, canonicalQuantity(polled.cpu), `cpu ${polled.cpu}`)
    t.equal(u.memory, canonicalQuantity(polled.memory), `memory ${polled.memory}`)
    t.equal(u.cpuCores, polled.cpuCores)
    t.ok(Math.abs(u.memoryBytes - polled.memoryBytes) <= polled.memoryBytes * 1e-15, `memory bytes ${polled.memory}`)
  }
  t.equal(ring.latest(), pushed.at(-1), 'the newest as polled')
  t.same(new UsageRing(0).since(0), [], 'no history kept with 0 samples')
})
