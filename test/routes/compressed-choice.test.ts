// A large list is answered compressed from the list before while the newest is compressed (at
// 65,000 nodes AGE texts change every second and gzip of 55 MB takes about that long): one
// compression at a time, never more than STALE_COMPRESSED_MAX_MS older; small lists always wait.
import t from 'tap'
import { compressedChoice, STALE_COMPRESSED_MAX_MS, STALE_COMPRESSED_MIN_BYTES, type PreparedListSource } from '../../src/routes/encoding.js'
import type { PreparedList } from '../../src/nodes/read-model.js'

function fakeSource() {
  const pending = new Map<PreparedList, (b: Buffer) => void>()
  const asked: string[] = []
  const source: PreparedListSource = {
    preparedList: () => { throw new Error('not used') },
    encodedList: (list) => {
      asked.push(list.etag)
      return new Promise<Buffer>((resolve) => pending.set(list, resolve))
    },
  }
  /** Finishes `list`'s compression. */
  const finish = async (list: PreparedList) => { pending.get(list)!(Buffer.from(`gz ${list.etag}`)); await new Promise((r) => setImmediate(r)) }
  return { source, asked, finish }
}
const list = (etag: string, bytes: number): PreparedList => ({ body: Buffer.alloc(bytes), etag, holds: 1 })

t.test('a large list: the last one compressed is answered while the newest is compressed', async (t) => {
  const { source, asked, finish } = fakeSource()
  const big = STALE_COMPRESSED_MIN_BYTES
  const a = list('"a"', big), b = list('"b"', big), c = list('"c"', big)
  const first = compressedChoice(source, a, 'gzip', 1_000)
  t.equal(first.list, a, 'nothing compressed yet: the newest, waited for')
  await finish(a)
  t.equal((await first.bytes).toString(), 'gz "a"')
  const during = compressedChoice(source, b, 'gzip', 2_000)
  t.equal(during.list, a, 'b is newer: a answered meanwhile')
  t.equal((await during.bytes).toString(), 'gz "a"')
  t.same(asked, ['"a"', '"b"'], 'b\'s compression started')
  t.equal(compressedChoice(source, c, 'gzip', 2_500).list, a, 'c is newer still: a again')
  t.same(asked, ['"a"', '"b"'], 'one compression at a time: c waits for b')
  await finish(b)
  t.equal(compressedChoice(source, b, 'gzip', 3_000).list, b, 'b done: b')
  const late = compressedChoice(source, c, 'gzip', 2_000 + STALE_COMPRESSED_MAX_MS + 1)
  t.equal(late.list, c, `b is more than ${STALE_COMPRESSED_MAX_MS} ms old: c, waited for`)
  await finish(c)
  t.equal((await late.bytes).toString(), 'gz "c"')
})

t.test('a small list is always answered as it is now', async (t) => {
  const { source, finish } = fakeSource()
  const a = list('"a"', 1000), b = list('"b"', 1000)
  const first = compressedChoice(source, a, 'br', 1_000)
  await finish(a)
  await first.bytes
  const next = compressedChoice(source, b, 'br', 1_100)
  t.equal(next.list, b, 'the newest, waited for')
  await finish(b)
  t.equal((await next.bytes).toString(), 'gz "b"')
})
