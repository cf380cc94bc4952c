// Time, passed in wherever code waits or reads the time, so tests can use a fake clock
// (test/helpers/clock.ts). A small shared helper: it imports nothing of the product.
export interface Clock {
  now(): number
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  }),
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
