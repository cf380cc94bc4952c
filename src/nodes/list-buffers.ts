// Memory the prepared node list is written into, used again once nothing reads it any more.
// Why: at 5,000 nodes the list is 4.2 MB and is written anew whenever a young node's AGE text
// changes (every second). Each old Buffer is external memory that V8 frees only when a GC finds
// it, and it starts one only after tens of MB of it have piled up: that was ~40 MiB of RSS under
// load. Only buffers whose every reader has let go come back here (see NodeReadModel.hold).

/** Spare room a new buffer gets, so that a list a few bytes longer still fits in it. */
const HEADROOM = 1 / 16

export class ListBuffers {
  private readonly spare: ArrayBuffer[] = []
  /** Buffers this pool made: only those may come back (a Buffer from elsewhere may share its memory). */
  private readonly own = new WeakSet<ArrayBuffer>()

  /** @param keep how many spare buffers are kept for the next lists (more are left to the GC). */
  constructor(private readonly keep = 1) {}

  /** A buffer of `size` bytes, its contents unset: a spare one that fits, or a new one. */
  take(size: number): Buffer {
    const i = this.spare.findIndex((b) => b.byteLength >= size && b.byteLength <= 2 * size)
    if (i >= 0) return Buffer.from(this.spare.splice(i, 1)[0]!, 0, size)
    const memory = Buffer.allocUnsafeSlow(Math.ceil(size * (1 + HEADROOM))).buffer as ArrayBuffer
    this.own.add(memory)
    return Buffer.from(memory, 0, size)
  }

  /** `body` (from take) is read by no one any more: its memory may be written again. */
  give(body: Buffer): void {
    const memory = body.buffer as ArrayBuffer
    if (!this.own.has(memory) || this.spare.includes(memory)) return
    if (this.spare.length >= this.keep) this.spare.shift()
    this.spare.push(memory)
  }
}
