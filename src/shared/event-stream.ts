// A domain's progress as a stream (a drain's steps, a maintenance plan's): what it is now, then
// each step after that. Plain data and callbacks: the HTTP side (src/routes/sse.ts) writes it as
// Server-Sent Events.

/** One step, numbered so a client that reconnects can say where it was (Last-Event-ID). */
export interface Step { id: number; type: string }

export interface EventStream<E extends Step> {
  /** The state when the stream opens. */
  first: unknown
  /** Calls onStep for each step after the one the client had, onEnd once when it is over. Returns unsubscribe. */
  follow(onStep: (step: E) => void, onEnd: () => void): () => void
}
