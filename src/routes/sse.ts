// Server-Sent Events for the routes that stream a domain's progress (a drain, a maintenance plan):
// the state when the stream opens as "status", then each step with its id and type; a comment
// every 15 s keeps proxies from closing an idle stream; it ends when the domain says so or the
// client leaves.
import type { FastifyReply } from 'fastify'
import type { EventStream, Step } from '../shared/event-stream.js'

const HEARTBEAT_MS = 15_000

/** The Last-Event-ID a reconnecting client sends: the stream resumes after it (0: from the start). */
export const lastEventId = (header: string | undefined): number => Number(header) || 0

export function sendEventStream<E extends Step>(reply: FastifyReply, stream: EventStream<E>): void {
  reply.hijack()
  const res = reply.raw
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
  res.write(`event: status\ndata: ${JSON.stringify(stream.first)}\n\n`)
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS)
  let unsubscribe = () => {}
  const end = () => {
    clearInterval(heartbeat)
    unsubscribe()
    if (!res.writableEnded) res.end()
  }
  // In a node:http handler the client leaving shows as the response's 'close', not the request's.
  res.on('close', end)
  unsubscribe = stream.follow((e) => res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`), end)
}
