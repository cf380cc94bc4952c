// Ports for the processes tests start: a port free on 127.0.0.1 just now (Prometheus,
// Alertmanager, Redis, the API server), or, for the service itself, port 0 and its log's answer.
import { createServer } from 'node:net'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

const LISTENING = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/

/**
 * Where a service process started with PORT=0 and HOST=127.0.0.1 listens: read from its log
 * (Fastify's "Server listening at" line, info level). A port picked beforehand by freePort can be
 * taken by another process before the child binds it; the child then exits and a readiness poll
 * of that port reaches the other process.
 */
export async function listeningUrl(what: string, output: () => string, exitCode: () => number | null, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const url = LISTENING.exec(output())?.[1]
    if (url) return url
    if (exitCode() !== null) throw new Error(`${what} exited (${exitCode()}) before listening:\n${output()}`)
    if (Date.now() > deadline) throw new Error(`${what} not listening after ${timeoutMs} ms:\n${output()}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
