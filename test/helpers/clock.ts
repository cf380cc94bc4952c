// A fake Clock (src/clock.ts) for domain tests: time moves only when the test says. It keeps a
// wall clock and a monotonic one: advance() moves both, jump() only the wall clock (an NTP step,
// a VM resumed), and sleeps run on the monotonic one, as timers do.
import type { Clock } from '../../src/clock.js'

interface Sleeper { at: number; ms: number; resolve: () => void }

export class FakeClock implements Clock {
  private sleepers: Sleeper[] = []
  private mono = 0
  constructor(private t = Date.UTC(2026, 0, 1)) {}

  now(): number { return this.t }

  monotonic(): number { return this.mono }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve()
      const s: Sleeper = { at: this.mono + ms, ms, resolve: () => { signal?.removeEventListener('abort', onAbort); resolve() } }
      const onAbort = () => { this.sleepers = this.sleepers.filter((x) => x !== s); resolve() }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.sleepers.push(s)
    })
  }

  /** How many sleeps are waiting. */
  get waiting(): number { return this.sleepers.length }

  /**
   * How many sleeps of exactly `ms` are waiting: a test sees that a component has begun a wait
   * of its own length (a debounce, say) before it advances the clock past it.
   */
  sleepsOf(ms: number): number { return this.sleepers.filter((s) => s.ms === ms).length }

  /** Moves time forward, waking every sleep that is due (in time order). */
  advance(ms: number): void {
    this.t += ms
    this.mono += ms
    const due = this.sleepers.filter((s) => s.at <= this.mono).sort((a, b) => a.at - b.at)
    this.sleepers = this.sleepers.filter((s) => s.at > this.mono)
    for (const s of due) s.resolve()
  }

  /** Moves only the wall clock (by ms, either way): no time passes, no sleep wakes. */
  jump(ms: number): void {
    this.t += ms
  }

  /** Waits (in real time) until something sleeps, then advances by ms. */
  async tick(ms: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.sleepers.length === 0) {
      if (Date.now() > deadline) throw new Error('FakeClock.tick: nothing is sleeping')
      await new Promise((r) => setTimeout(r, 5))
    }
    this.advance(ms)
  }
}
