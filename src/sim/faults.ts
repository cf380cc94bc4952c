// Injected faults: the live settings, and a deterministic gate for rates.

export interface FaultSpec {
  /** 0..1: fraction of non-watch requests answered 503 (a proper Status object). */
  errorRate: number
  /** Added before every answer. */
  latencyMs: number
  /** 0 = never; else watch streams are closed by the server after this many ms. */
  dropWatchMs: number
  /** 0..1: fraction of update/patch requests answered 409 Conflict. */
  conflictRate: number
  /**
   * 0 = never; else every watch is answered 200 with one ERROR event carrying a Status of this
   * code, then ends (504: "Too large resource version", as a lagging API server's watch cache says).
   */
  watchErrorCode: number
}

/** How many of each fault the server has injected since it started. */
export interface FaultCounts {
  /** Requests answered 503 by errorRate. */
  errors: number
  /** update/patch requests answered 409 by conflictRate. */
  conflicts: number
  /** Answers held back by latencyMs. */
  delayed: number
  /** Watch streams the server ended by dropWatchMs. */
  watchesDropped: number
  /** Watches answered with an ERROR event by watchErrorCode. */
  watchErrors: number
}

export const noFaultCounts = (): FaultCounts => ({ errors: 0, conflicts: 0, delayed: 0, watchesDropped: 0, watchErrors: 0 })

export const NO_FAULTS: FaultSpec = { errorRate: 0, latencyMs: 0, dropWatchMs: 0, conflictRate: 0, watchErrorCode: 0 }

/** Deterministic fraction: with rate r, exactly one request in 1/r is chosen, evenly spread. */
export class RateGate {
  private acc = 0
  hit(rate: number): boolean {
    if (!(rate > 0)) return false
    this.acc += Math.min(rate, 1)
    if (this.acc >= 1 - 1e-9) {
      this.acc -= 1
      return true
    }
    return false
  }
}
