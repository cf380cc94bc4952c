// Plain HTTP proxies for tests: one in front of a simulated cluster that holds back some requests
// (one call slow, a pod LIST, while everything else answers at once), and a round-robin one in
// front of service replicas (a Kubernetes Service).
import { createServer, request, type Server } from 'node:http'

/** An HTTP proxy to `target` that holds every pod LIST (not watch) for delayMs. */
export async function delayingProxy(target: string, delayMs: number): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy')
    const watch = url.searchParams.get('watch')
    const podList = req.method === 'GET' && url.pathname === '/api/v1/pods' && watch !== 'true' && watch !== '1'
    const forward = () => {
      const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })
      upstream.on('error', () => res.destroy())
      res.on('close', () => upstream.destroy())
      req.pipe(upstream)
    }
    if (podList) setTimeout(forward, delayMs)
    else forward()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server }
}

/**
 * A round-robin HTTP proxy over service replicas, as a Kubernetes Service spreads requests: each
 * request goes to the next upstream; one that refuses the connection (a killed replica) is skipped,
 * as its endpoint would be removed. `upstreams` may change while it runs.
 */
export async function roundRobinProxy(upstreams: string[]): Promise<{ url: string; upstreams: string[]; close(): void }> {
  let next = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const attempt = (tries: number) => {
        if (tries >= upstreams.length) { res.writeHead(502); res.end('no upstream answered'); return }
        const target = upstreams[next++ % upstreams.length]
        const up = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        })
        up.on('error', () => { if (!res.headersSent) attempt(tries + 1); else res.destroy() })
        res.on('close', () => up.destroy())
        up.end(body)
      }
      attempt(0)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, upstreams, close: () => { server.closeAllConnections(); server.close() } }
}
