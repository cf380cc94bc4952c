// A plain HTTP proxy in front of a simulated cluster that holds back some requests: how tests make
// one call slow (a pod LIST) while everything else answers at once.
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
