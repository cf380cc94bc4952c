// Hardening: security headers (helmet, a CSP) on every answer, a clear 413 over the body limit, a
// per-user rate limit (keyed by the JWT's subject) on every write with 429 and Retry-After while
// reads stay unlimited, and no stack trace in any error body, also for an unexpected 500.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import t from 'tap'
import Fastify from 'fastify'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import errors from '../../src/plugins/errors.js'
import { API_PREFIX, makeToken, startService } from '../helpers/service.js'

const sim = await startSim({ nodes: 2, podsPerNode: 2 })
const kc = new KubeConfig()
kc.loadFromString(sim.kubeconfig())
const svc = await startService(kc, { env: { CHANGE_RATE_LIMIT_MAX: '1', CHANGE_RATE_LIMIT_WINDOW_SECONDS: '60' } })
t.teardown(async () => { await svc.close(); await sim.close() })
const node = 'node-00001'
const STACK = /\n\s+at |"stack"|\.ts:\d+|node_modules/

async function call(method: string, path: string, opts: { user?: string; json?: unknown } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${makeToken({ user_id: opts.user ?? 'reader' })}` }
  if (opts.json !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${svc.url}${path}`, { method, headers, body: opts.json === undefined ? undefined : JSON.stringify(opts.json) })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

t.test('security headers on the API, the admin UI, Swagger UI and the probes', async (t) => {
  for (const path of [`${API_PREFIX}/nodes`, `${API_PREFIX}/admin/nodes`, '/docs/static/index.html', '/healthz', `${API_PREFIX}/nodes/ghost`]) {
    const r = await call('GET', path)
    const csp = r.headers.get('content-security-policy') ?? ''
    t.match(csp, /default-src 'self'/, `${path}: CSP`)
    t.match(csp, /script-src 'self'(;|$)/, `${path}: scripts only from this origin`)
    t.match(csp, /frame-ancestors 'none'/, `${path}: not framed`)
    t.match(csp, /object-src 'none'/)
    t.equal(r.headers.get('x-content-type-options'), 'nosniff', `${path}: nosniff`)
    t.ok(r.headers.get('x-frame-options'), `${path}: X-Frame-Options`)
    t.ok(r.headers.get('strict-transport-security'), `${path}: HSTS`)
    t.equal(r.headers.get('referrer-policy'), 'no-referrer')
    t.notOk(r.headers.get('x-powered-by'))
  }
})

t.test('a body over the limit is a clear 413', async (t) => {
  const r = await call('PUT', `${API_PREFIX}/nodes/${node}/labels`, { json: { key: 'a', value: 'x'.repeat(1024 * 1024) } })
  t.equal(r.status, 413)
  t.same(JSON.parse(r.text), { statusCode: 413, error: 'Payload Too Large', message: 'body is too large: at most 1048576 bytes (1024 KiB)' })
})

t.test('every write is rate limited per user (JWT sub); reads and node selection are not', async (t) => {
  const spec = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../openapi/openapi.json'), 'utf8')) as { paths: Record<string, Record<string, unknown>> }
  const writes = Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).filter((m) => ['post', 'put', 'patch', 'delete'].includes(m)).map((m) => [m.toUpperCase(), path] as const))
  const bodies: Record<string, unknown> = {
    [`PUT ${API_PREFIX}/nodes/{name}/labels`]: { key: 'example.com/a', value: 'b' },
    [`POST ${API_PREFIX}/nodes/{name}/taints`]: { key: 'example.com/a', effect: 'NoSchedule' },
    [`POST ${API_PREFIX}/nodes/{name}/drain`]: { dry_run: true },
    [`PUT ${API_PREFIX}/config`]: {},
    [`POST ${API_PREFIX}/maintenance`]: { nodes: ['ghost'], reason: 'test' },
    [`POST ${API_PREFIX}/nodes/select`]: {},
    'PUT /api/v1/admin/nodes/{name}/labels': { key: 'example.com/a', value: 'b' },
    'POST /api/v1/admin/nodes/{name}/taints': { key: 'example.com/a', effect: 'NoSchedule' },
  }
  t.ok(writes.length >= 19, `${writes.length} write operations`)
  let i = 0
  for (const [method, template] of writes) {
    const user = `writer-${i++}`
    const path = template.replace('{name}', node).replace('{id}', 'm-none').replace('{key}', 'example.com%2Fa').replace('{*}', 'example.com/a')
    const json = bodies[`${method} ${template}`] ?? (method === 'POST' && /drain$/.test(template) ? {} : undefined)
    const first = await call(method, path, { user, json })
    t.not(first.status, 429, `${method} ${template}: the first is let through (${first.status})`)
    t.not(first.status, 400, `${method} ${template}: a valid request (${first.text.slice(0, 100)})`)
    const second = await call(method, path, { user, json })
    if (template.endsWith('/nodes/select')) {
      t.not(second.status, 429, 'POST P/nodes/select changes nothing: not limited')
      continue
    }
    t.equal(second.status, 429, `${method} ${template}: over the budget of 1`)
    t.match(second.headers.get('retry-after'), /^\d+$/, 'with Retry-After in seconds')
    t.match(second.text, /Rate limit exceeded: at most 1 node changes per 60 s per user/)
    t.notMatch(second.text, STACK)
  }
  // Another user (another sub) has a budget of its own; reads of a user over its budget answer.
  t.not((await call('POST', `${API_PREFIX}/nodes/${node}/uncordon`, { user: 'someone-else' })).status, 429)
  for (let n = 0; n < 30; n++) t.equal((await call('GET', `${API_PREFIX}/nodes`, { user: 'writer-0' })).status, 200, 'reads stay unlimited')
  const spec429 = (spec.paths[`${API_PREFIX}/maintenance`].post as { responses: Record<string, unknown> }).responses
  t.ok(spec429['429'], '429 documented on the writes')
})

t.test('no stack trace in any error body', async (t) => {
  const answers = [
    await call('GET', `${API_PREFIX}/nodes/ghost`),
    await call('PUT', `${API_PREFIX}/nodes/${node}/labels`, { user: 'e1', json: { key: '-bad', value: 'x' } }),
    await call('GET', `${API_PREFIX}/nodes/${'x'.repeat(2000)}`),
    await call('GET', `${API_PREFIX}/nodes/%E0%A4%A`),
    await call('GET', `${API_PREFIX}/nodes?labelSelector=${encodeURIComponent('a in (')}`),
  ]
  // The cluster failing: the service says what failed (502/503), without its own internals.
  sim.faults.errorRate = 1
  answers.push(await call('POST', `${API_PREFIX}/nodes/${node}/cordon`, { user: 'e2' }))
  sim.faults.errorRate = 0
  t.ok(answers.some((a) => a.status >= 500), 'a 5xx among them')
  for (const a of answers) {
    t.ok(a.status >= 400, `an error (${a.status})`)
    t.notMatch(a.text, STACK, `no stack in ${a.text.slice(0, 80)}`)
  }

  // An unexpected exception (a bug) in a route: 500, "Internal server error", nothing of the error.
  const app = Fastify({ logger: false })
  await app.register(errors)
  app.get('/boom', async () => { throw new TypeError('Cannot read properties of undefined (reading \'secret\')') })
  app.get('/boom-with-status', async () => { throw Object.assign(new Error('db password=hunter2'), { statusCode: 503 }) })
  const boom = await app.inject('/boom')
  t.equal(boom.statusCode, 500)
  t.same(boom.json(), { statusCode: 500, error: 'Internal Server Error', message: 'Internal server error' })
  t.notMatch(boom.body, /secret|TypeError|STACK/)
  const withStatus = await app.inject('/boom-with-status')
  t.notMatch(withStatus.body, /hunter2|\n\s+at /)
  await app.close()
})
