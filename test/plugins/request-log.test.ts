// The access log: one "request completed" line per answered request, written by hand
// (src/plugins/request-log.ts) with exactly the fields pino writes through Fastify's serializers,
// valid JSON whatever the URL holds, and none at all when the level is above info.
import { request } from 'node:http'
import { hostname } from 'node:os'
import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import { API_PREFIX, startService } from '../helpers/service.js'

const sim = await startSim({ nodes: 2, podsPerNode: 1 })
const kc = new KubeConfig()
kc.loadFromString(sim.kubeconfig())
t.teardown(() => sim.close())

async function serviceLogging(level: string) {
  const lines: string[] = []
  const svc = await startService(kc, { env: { LOG_LEVEL: level }, logStream: { write: (l) => { lines.push(l) } } })
  t.teardown(() => svc.close())
  return { svc, completed: () => lines.filter((l) => l.includes('"request completed"')) }
}

function statusOf(origin: string, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const { hostname: host, port } = new URL(origin)
    request({ host, port, path, headers }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)) }).on('error', reject).end()
  })
}

t.test('each answered request is one JSON line with its id, request, status and time', async (t) => {
  const { svc, completed } = await serviceLogging('info')
  const before = completed().length
  const port = Number(new URL(svc.url).port)
  const odd = `${API_PREFIX}/nodes/${encodeURIComponent('gh"o\\st é')}?q=${encodeURIComponent('"}\n')}`
  const asked: Array<{ path: string; headers: Record<string, string>; status: number }> = [
    { path: '/healthz', headers: { 'x-request-id': 'req-1' }, status: 200 },
    { path: `${API_PREFIX}/nodes`, headers: { 'x-request-id': 'req-2', authorization: 'Bearer not-a-token', 'accept-version': '1.x' }, status: 401 },
    { path: odd, headers: { 'x-request-id': 'req-3' }, status: 401 },
    { path: '/nothing-here', headers: { 'x-request-id': 'req-4' }, status: 404 },
    // Sent as is (fetch would percent-encode them): a quote and a backslash must not break the JSON.
    { path: '/raw"quote\\back', headers: { 'x-request-id': 'req-5' }, status: 404 },
  ]
  for (const a of asked) t.equal(await statusOf(svc.url, a.path, a.headers), a.status, a.path)
  const t0 = Date.now()
  const lines = completed().slice(before)
  t.equal(lines.length, asked.length, 'one line per request')
  for (const [i, line] of lines.entries()) {
    t.ok(line.endsWith('}\n') && !line.slice(0, -1).includes('\n'), 'one line')
    const entry = JSON.parse(line)
    const a = asked[i]
    t.same(Object.keys(entry), ['level', 'time', 'pid', 'hostname', 'reqId', 'req', 'res', 'responseTime', 'msg'], 'the fields in pino\'s order')
    t.match(entry, {
      level: 30, pid: process.pid, hostname: hostname(), reqId: a.headers['x-request-id'],
      req: { method: 'GET', url: a.path, host: `127.0.0.1:${port}`, remoteAddress: '127.0.0.1', remotePort: Number },
      res: { statusCode: a.status }, msg: 'request completed',
    }, a.path)
    t.equal(entry.req.version, a.headers['accept-version'], 'the Accept-Version header, as Fastify\'s serializer logs it')
    t.ok(entry.time <= t0 && entry.time > t0 - 60_000, 'time in ms since the epoch')
    t.ok(entry.responseTime >= 0 && entry.responseTime < 60_000, 'response time in ms')
    t.notMatch(line, /not-a-token|authorization/i, 'no credentials')
  }
})

t.test('no access lines above the info level', async (t) => {
  const { svc, completed } = await serviceLogging('warn')
  t.equal((await fetch(`${svc.url}/healthz`)).status, 200)
  t.equal((await fetch(`${svc.url}${API_PREFIX}/nodes`)).status, 401)
  t.equal(completed().length, 0)
})
