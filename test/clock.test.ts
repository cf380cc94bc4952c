// systemClock (src/clock.ts): a sleep longer than setTimeout's limit (2^31-1 ms, 24.8 days) must
// not overflow to 1 ms (Node then warns and fires at once: a loop around it spins ~680 times a
// second). It waits in slices of at most the limit and re-arms until its time has come.
import t, { type Test } from 'tap'
import { systemClock } from '../src/clock.js'

const MAX_TIMEOUT = 2 ** 31 - 1
const DAY = 86_400_000

const settled = async (p: Promise<void>) => {
  let done = false
  void p.then(() => { done = true })
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
  return done
}

/**
 * Replaces the global setTimeout/clearTimeout with virtual timers (as Node would run them,
 * overflow included) for the test's duration; `run(ms)` moves virtual time forward.
 */
function fakeTimers(t: Test) {
  const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout }
  let now = 0
  let seq = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  const delays: number[] = []
  globalThis.setTimeout = ((fn: () => void, ms = 0) => {
    delays.push(ms)
    const id = ++seq
    // Node: a delay above 2^31-1 ms (or below 1) is set to 1 ms.
    timers.set(id, { at: now + (ms > MAX_TIMEOUT || ms < 1 ? 1 : ms), fn })
    return id
  }) as unknown as typeof setTimeout
  globalThis.clearTimeout = ((id: number) => { timers.delete(id) }) as unknown as typeof clearTimeout
  t.teardown(() => Object.assign(globalThis, real))
  return {
    delays,
    get pending() { return timers.size },
    get now() { return now },
    /** Moves virtual time by ms, firing due timers in order (each fired timer counts as a wake-up). */
    async run(ms: number): Promise<number> {
      const end = now + ms
      let wakes = 0
      for (;;) {
        const next = [...timers.entries()].sort((a, b) => a[1].at - b[1].at)[0]
        if (!next || next[1].at > end) break
        now = next[1].at
        timers.delete(next[0])
        next[1].fn()
        wakes++
        // Let the awaiting code run (and perhaps re-arm) before the next timer.
        for (let i = 0; i < 3; i++) await Promise.resolve()
        if (wakes > 10_000) break // today's bug: would spin forever
      }
      now = end
      return wakes
    },
  }
}

t.test('a 30-day sleep wakes a handful of times, never with a delay above 2^31-1, and ends on time', async (t) => {
  const timers = fakeTimers(t)
  let resolvedAt: number | undefined
  const sleeping = systemClock.sleep(30 * DAY).then(() => { resolvedAt = timers.now })
  const early = await timers.run(30 * DAY - 1)
  t.equal(resolvedAt, undefined, 'not resolved a millisecond before its time')
  t.ok(early <= 2, `woke ${early} times in 30 days less 1 ms`)
  await timers.run(1)
  await sleeping
  t.equal(resolvedAt, 30 * DAY, 'resolved at 30 days')
  t.ok(timers.delays.every((d) => d <= MAX_TIMEOUT), `no setTimeout above 2^31-1 ms (asked: ${timers.delays.join(', ')})`)
  t.equal(timers.pending, 0, 'no timer left')
})

t.test('a 30-day sleep ends at once on abort, in any slice, and leaves no timer', async (t) => {
  const timers = fakeTimers(t)
  const ac = new AbortController()
  const sleeping = systemClock.sleep(30 * DAY, ac.signal)
  await timers.run(26 * DAY) // into the second slice
  t.notOk(await settled(sleeping), 'still sleeping after 26 days')
  ac.abort()
  t.ok(await settled(sleeping), 'aborted')
  t.equal(timers.pending, 0, 'its timer is cleared')
  const again = systemClock.sleep(30 * DAY, ac.signal)
  t.ok(await settled(again), 'an already aborted signal ends a new sleep at once')
  t.equal(timers.pending, 0)
})

t.test('on real timers: no TimeoutOverflowWarning, and a far sleep does not end early', async (t) => {
  const warnings: string[] = []
  const onWarning = (w: Error) => { warnings.push(w.name) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const ac = new AbortController()
  const sleeping = systemClock.sleep(30 * DAY, ac.signal)
  await new Promise((r) => setTimeout(r, 50))
  t.notOk(await settled(sleeping), 'still sleeping after 50 ms')
  ac.abort()
  t.ok(await settled(sleeping), 'ends on abort')
  await new Promise((r) => setImmediate(r))
  t.notOk(warnings.includes('TimeoutOverflowWarning'), `no TimeoutOverflowWarning (${warnings.join(', ')})`)
})

t.test('ordinary sleeps still end on time', async (t) => {
  const started = performance.now()
  await systemClock.sleep(20)
  t.ok(performance.now() - started >= 19, 'waited about 20 ms')
  const endsSoon = (ms: number) => Promise.race([systemClock.sleep(ms).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))])
  t.ok(await endsSoon(0), 'a zero sleep ends at once')
  t.ok(await endsSoon(-5), 'a negative sleep ends at once')
})
