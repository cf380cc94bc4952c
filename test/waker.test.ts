// Waker (src/clock.ts): the wake-up the maintenance engine, session protection and the cluster-api
// provider wait on. No change may be lost between a loop's pass and its next wait.
import t from 'tap'
import { Waker } from '../src/clock.js'
import { FakeClock } from './helpers/clock.js'

const settled = async (p: Promise<void>) => {
  let done = false
  void p.then(() => { done = true })
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
  return done
}

t.test('a wake ends the sleep; time alone ends it too', async (t) => {
  const clock = new FakeClock()
  const w = new Waker()
  const a = w.sleep(clock, 1000)
  t.notOk(await settled(a), 'sleeping')
  w.wake()
  t.ok(await settled(a), 'woken')
  w.take()
  const b = w.sleep(clock, 1000)
  clock.advance(999)
  t.notOk(await settled(b))
  clock.advance(1)
  t.ok(await settled(b), 'time is up')
})

t.test('a wake while nobody sleeps is kept until take()', async (t) => {
  const clock = new FakeClock()
  const w = new Waker()
  w.wake()
  t.ok(w.pending)
  t.ok(await settled(w.sleep(clock, Infinity)), 'returns at once')
  t.ok(await settled(w.sleep(clock, Infinity)), 'still, until taken')
  w.take()
  t.notOk(w.pending)
  const c = w.sleep(clock, Infinity)
  t.notOk(await settled(c), 'no time limit: waits for a wake')
  w.wake()
  t.ok(await settled(c))
})

t.test('a wake after a sleep that timed out is not lost', async (t) => {
  // The engine's old Waker kept the timed-out wait's resolver: the next wake resolved that
  // forgotten promise and the loop's next wait missed it.
  const clock = new FakeClock()
  const w = new Waker()
  const a = w.sleep(clock, 10)
  clock.advance(10)
  await a
  w.take()
  w.wake() // while the loop works
  t.ok(await settled(w.sleep(clock, 1000)), 'the next sleep returns at once')
})

t.test('the abort signal ends the sleep', async (t) => {
  const clock = new FakeClock()
  const w = new Waker()
  const ac = new AbortController()
  const a = w.sleep(clock, Infinity, ac.signal)
  t.notOk(await settled(a))
  ac.abort()
  t.ok(await settled(a))
  t.ok(await settled(w.sleep(clock, 1000, ac.signal)), 'already aborted: at once')
})
