// Time, passed in wherever code waits or reads the time, so tests can use a fake clock
// (test/helpers/clock.ts). A small shared helper: it imports nothing of the product.
export interface Clock {
  /** Wall-clock time (ms since the epoch): for timestamps others read. It may jump. */
  now(): number
  /**
   * A monotonic reading (ms, arbitrary origin) for measuring durations: never jumps with the wall
   * clock. Optional: a clock without one is measured with now().
   */
  monotonic?(): number
  /** Ends after ms (on the monotonic clock), or at once when the signal is (or gets) aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/** setTimeout's limit: a longer delay overflows to 1 ms (TimeoutOverflowWarning), so longer sleeps wait in slices. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (ms, signal) => new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    let left = Math.max(0, ms)
    let timer: ReturnType<typeof setTimeout>
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    // Re-arm slice by slice until the whole time has passed.
    const arm = () => {
      const slice = Math.min(left, MAX_TIMEOUT_MS)
      left -= slice
      timer = setTimeout(left > 0 ? arm : done, slice)
    }
    arm()
    signal?.addEventListener('abort', done, { once: true })
  }),
}

/** The clock's monotonic reading, else its wall-clock time. */
export function monotonicNow(clock: Clock): number {
  return clock.monotonic ? clock.monotonic() : clock.now()
}

/**
 * Wakes a waiting loop when something changed. A wake is kept until take(): one that comes while
 * the loop works makes its next sleep return at once, so no change is lost between a pass and
 * the wait after it.
 */
export class Waker {
  private woken = false
  private waiter: (() => void) | undefined

  /** Something changed: ends the current sleep, or the next one at once. */
  wake(): void {
    this.woken = true
    this.waiter?.()
  }

  /** Whether a wake came since the last take(). */
  get pending(): boolean { return this.woken }

  /** Clears the wake: call it just before the work the wake asks for. */
  take(): void { this.woken = false }

  /** Until a wake, `ms` on the clock (Infinity: no time limit) or the signal's abort, whichever comes first. */
  async sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.woken || signal?.aborted) return
    const done = new AbortController()
    const end = () => done.abort()
    this.waiter = end
    signal?.addEventListener('abort', end, { once: true })
    try {
      if (Number.isFinite(ms)) await clock.sleep(Math.max(0, ms), done.signal)
      else await new Promise<void>((resolve) => done.signal.addEventListener('abort', () => resolve(), { once: true }))
    } finally {
      this.waiter = undefined
      signal?.removeEventListener('abort', end)
    }
  }
}
