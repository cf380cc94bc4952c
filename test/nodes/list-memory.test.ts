// The prepared node list is written into memory used again once nothing reads it
// (src/nodes/list-buffers.ts): never while the model, an answer or a compression still reads it.
import t from 'tap'
import { gunzipSync } from 'node:zlib'
import { ListBuffers } from '../../src/nodes/list-buffers.js'
import { NodeReadModel, type WatchCaches } from '../../src/nodes/read-model.js'
import type { NodeObject } from '../../src/kube/types.js'
import { FakeClock } from '../helpers/clock.js'

t.test('ListBuffers: spare memory is used again, only its own, at most `keep` kept', async (t) => {
  const pool = new ListBuffers(2)
  const a = pool.take(100_000)
  t.equal(a.length, 100_000)
  const b = pool.take(100_000)
  t.not(b.buffer, a.buffer, 'a buffer in use is not handed out again')
  pool.give(a)
  pool.give(a)
  const c = pool.take(100_500)
  t.equal(c.buffer, a.buffer, 'a spare buffer with room is used again (for a slightly longer list too)')
  t.equal(c.length, 100_500)
  t.not(pool.take(100_000).buffer, a.buffer, 'given once, taken once')

  pool.give(Buffer.allocUnsafeSlow(100_000))
  t.not(pool.take(100_000).buffer, a.buffer)
  const foreign = Buffer.allocUnsafeSlow(100_000)
  pool.give(foreign)
  t.not(pool.take(100_000).buffer, foreign.buffer, 'memory it did not make is never taken back')

  const small = pool.take(1_000)
  pool.give(b)
  t.not(pool.take(1_000).buffer, b.buffer, 'a much larger spare is not used for a small list')
  pool.give(small)

  const pool2 = new ListBuffers(2)
  const [x, y, z] = [pool2.take(10_000), pool2.take(10_000), pool2.take(10_000)]
  pool2.give(x); pool2.give(y); pool2.give(z)
  const kept = [pool2.take(10_000).buffer, pool2.take(10_000).buffer, pool2.take(10_000).buffer]
  t.notOk(kept.includes(x.buffer), 'beyond `keep` spares the oldest is left to the GC')
  t.ok(kept.includes(y.buffer) && kept.includes(z.buffer))
})

/** A cluster of `count` nodes in memory, as the watch caches hold it; `label` changes what the list shows. */
function fakeCaches(count: number) {
  const nodes = new Map<string, NodeObject>()
  let version = 1
  const node = (name: string, mark: string): NodeObject => ({
    metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z', labels: { mark, zone: 'zone-a', 'kubernetes.io/hostname': name } },
    spec: { taints: [{ key: 'dedicated', value: 'sessions', effect: 'NoSchedule' }] },
    status: { capacity: { cpu: '8', memory: '32Gi' }, allocatable: { cpu: '7910m', memory: '31Gi' }, conditions: [{ type: 'Ready', status: 'True' }] },
  })
  for (let i = 0; i < count; i++) {
    const name = `node-${String(i).padStart(5, '0')}`
    nodes.set(name, node(name, 'v0'))
  }
  const caches = {
    nodes, synced: true, stale: false, staleSince: undefined, lastError: undefined,
    get version() { return version },
    podsVersionOf: () => 0, podsOn: () => [], podsOnNode: () => [], usage: () => undefined, metrics: undefined,
  } as unknown as WatchCaches
  return {
    caches,
    /** Shows `mark` on the first node: the next list has other bytes. */
    label(mark: string) {
      nodes.set('node-00000', node('node-00000', mark))
      version++
    },
  }
}

t.test('the read model writes a new list only into memory nobody reads', async (t) => {
  const { caches, label } = fakeCaches(3_000)
  const reads = new NodeReadModel(caches, { clock: new FakeClock(Date.parse('2026-11-28T00:00:00Z')) })

  const a = reads.preparedList()
  const aBytes = Buffer.from(a.body)
  const releaseA = reads.hold(a) // an answer still sending A
  /** Shows `mark`, then the list as the next request would get it. */
  const next = (mark: string) => {
    label(mark)
    return reads.preparedList()
  }
  const b = next('v1')
  const c = next('v2')
  t.ok(b.body.buffer !== a.body.buffer && c.body.buffer !== a.body.buffer, 'new lists while A is held: other memory')
  const d = next('v3')
  t.equal(d.body.buffer, b.body.buffer, 'B, replaced by C and read by nobody, takes the list after C')
  t.ok(a.body.equals(aBytes), 'A\'s bytes are as they were')
  t.match(d.body.toString(), /"mark":"v3"/)
  t.equal(JSON.parse(d.body.toString()).length, 3_000)

  releaseA()
  releaseA() // twice: counted once
  const e = next('v4')
  const f = next('v5')
  t.ok([e.body.buffer, f.body.buffer].includes(a.body.buffer), 'released, A\'s memory takes one of the next lists')
  t.match(f.body.toString(), /"mark":"v5"/)

  label('v5') // a new version that shows nothing new: the same list and ETag, its fresh copy given back
  t.equal(reads.preparedList(), f, 'same bytes: the same prepared list')

  // A compression reads the bytes in place on the thread pool: held until it is done.
  const gz = reads.encodedList(f, 'gzip')
  const fBytes = Buffer.from(f.body)
  const during = [next('v6'), next('v7'), next('v8')]
  t.notOk(during.some((l) => l.body.buffer === f.body.buffer), 'F is not written over while it is compressed')
  t.ok(gunzipSync(await gz).equals(fBytes), 'the compressed list is F\'s bytes')
  const after = [next('v9'), next('v10')]
  t.ok(after.some((l) => l.body.buffer === f.body.buffer), 'compressed, F\'s memory is used again')
})
