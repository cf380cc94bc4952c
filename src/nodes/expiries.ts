// When cached node views go out of date on their own (their AGE text changes): a min-heap of
// (time, name), so a rebuild finds the few views due now without looking at every node. An entry
// may be outdated (its view was made again since, with another time): the caller checks.

export interface Expiry { at: number; name: string }

export class Expiries {
  private readonly heap: Expiry[] = []

  get size(): number { return this.heap.length }

  /** The earliest time in the heap (Infinity when empty). */
  get next(): number { return this.heap[0]?.at ?? Infinity }

  clear(): void { this.heap.length = 0 }

  push(at: number, name: string): void {
    if (!Number.isFinite(at)) return
    const h = this.heap
    h.push({ at, name })
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (h[parent]!.at <= h[i]!.at) break
      ;[h[parent], h[i]] = [h[i]!, h[parent]!]
      i = parent
    }
  }

  /** Removes and returns every entry due at `now` (at <= now). */
  popDue(now: number): Expiry[] {
    const due: Expiry[] = []
    while (this.heap.length && this.heap[0]!.at <= now) due.push(this.pop())
    return due
  }

  private pop(): Expiry {
    const h = this.heap
    const top = h[0]!
    const last = h.pop()!
    if (h.length) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1, r = l + 1
        let min = i
        if (l < h.length && h[l]!.at < h[min]!.at) min = l
        if (r < h.length && h[r]!.at < h[min]!.at) min = r
        if (min === i) break
        ;[h[min], h[i]] = [h[i]!, h[min]!]
        i = min
      }
    }
    return top
  }
}
