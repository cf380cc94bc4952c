// What the contract fuzzer (test/fuzz) found, each kept as a test: request bodies are validated as
// sent (no coercion of null, numbers or strings), a JSON null is not a missing body, the Allow of a
// 405 lists the resource's own methods, and the patterns in the OpenAPI document are the rules the
// service applies (a schema-valid request is accepted, a schema-violating one refused).
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import { LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, QUANTITY_PATTERN, SELECTOR_PATTERN } from '../../src/shared/patterns.js'
import { parseSelector } from '../../src/kube/selector.js'
import { qualifiedNameErrors, labelValueErrors } from '../../src/shared/validation.js'
import { forRouteValidation } from '../../src/plugins/validation.js'
import { startService } from '../helpers/service.js'

const sim = await startSim({ nodes: 2 })
const kc = new KubeConfig()
kc.loadFromString(sim.kubeconfig())
const svc = await startService(kc, { env: { CHANGE_RATE_LIMIT_MAX: '100000' } })
t.teardown(async () => { await svc.close(); await sim.close() })
const node = 'node-00001'

async function send(method: string, path: string, body: string | undefined, base = '/api/plugins/streamspace-node-manager') {
  const headers: Record<string, string> = { authorization: `Bearer ${(await import('../helpers/service.js')).makeToken()}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${svc.url}${base}${path}`, { method, headers, body })
  return { status: res.status, body: await res.json() as { message: string }, headers: res.headers }
}

t.test('bodies are validated as sent: no coercion', async (t) => {
  const cases: Array<[string, string, string, RegExp]> = [
    ['PUT', `/nodes/${node}/labels`, '{"key":"a","value":null}', /body\.value must be string/],
    ['PUT', `/nodes/${node}/labels`, '{"key":"a","value":5}', /body\.value must be string/],
    ['PUT', `/nodes/${node}/labels`, '{"key":"a","value":"b","force":null}', /body\.force must be boolean/],
    ['POST', `/nodes/${node}/taints`, '{"key":"a","effect":"NoSchedule","force":"true"}', /body\.force must be boolean/],
    ['POST', `/nodes/${node}/drain`, '{"dry_run":"true"}', /body\.dry_run must be boolean/],
    ['POST', `/nodes/${node}/drain`, '{"timeout_seconds":"30","dry_run":true}', /body\.timeout_seconds must be integer/],
    ['PUT', '/config', '{"minNodes":"2"}', /minNodes/],
  ]
  for (const [method, path, body, message] of cases) {
    const r = await send(method, path, body)
    t.equal(r.status, 400, `${method} ${path} ${body}`)
    t.match(r.body.message, message)
  }
  const compat = await send('PUT', `/admin/nodes/${node}/labels`, '{"key":"a","value":null}', '/api/v1')
  t.equal(compat.status, 400, 'the StreamSpace-compatible route too')
  // Query strings and path parameters are text: still coerced to their types.
  const ready = await send('GET', '/nodes?ready=true', undefined)
  t.equal(ready.status, 200)
  const labels = await send('GET', `/nodes/${node}`, undefined)
  t.equal(labels.status, 200)
})

t.test('a missing body means defaults; a JSON null is not a missing body', async (t) => {
  for (const path of [`/nodes/${node}/cordon`, `/nodes/${node}/drain`]) {
    const r = await send('POST', path, 'null')
    t.equal(r.status, 400, `POST ${path} with null`)
    t.match(r.body.message, /body must be object/)
  }
  const compat = await send('POST', `/admin/nodes/${node}/drain`, 'null', '/api/v1')
  t.equal(compat.status, 400, 'StreamSpace-compatible drain with null')
  t.equal((await send('POST', `/nodes/${node}/cordon`, undefined)).status, 200, 'cordon without a body')
  t.equal((await send('POST', `/nodes/${node}/uncordon`, undefined)).status, 200)
  const spec = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../openapi/openapi.json'), 'utf8'))
  const P = '/api/plugins/streamspace-node-manager'
  t.equal(spec.paths[`${P}/nodes/{name}/cordon`].post.requestBody.required, false, 'documented: cordon body optional')
  t.equal(spec.paths[`${P}/nodes/{name}/drain`].post.requestBody.required, false, 'documented: drain body optional')
  t.equal(spec.paths['/api/v1/admin/nodes/{name}/drain'].post.requestBody.required, false)
  t.equal(spec.paths[`${P}/nodes/{name}/labels`].put.requestBody.required, true, 'labels need one')
})

t.test('405 names the methods of the resource the path is: POST /nodes/select, not GET /nodes/:name', async (t) => {
  const r = await send('OPTIONS', '/nodes/select', undefined)
  t.equal(r.status, 405)
  t.equal(r.headers.get('allow'), 'POST')
  t.equal((await send('PATCH', `/nodes/${node}`, undefined)).headers.get('allow'), 'GET, HEAD')
})

t.test('a window of no time is refused by the document\'s pattern', async (t) => {
  for (const w of ['0s', '00s', '0h0m0s']) t.equal((await send('GET', `/nodes/${node}/metrics?window=${w}`, undefined)).status, 400, w)
  for (const w of ['1s', '0h1m', '10m0s', '1h']) t.equal((await send('GET', `/nodes/${node}/metrics?window=${w}`, undefined)).status, 200, w)
})

t.test('the OpenAPI patterns are the rules the domain applies', async (t) => {
  const selector = new RegExp(SELECTOR_PATTERN)
  const accepts = (s: string) => { try { parseSelector(s); return true } catch { return false } }
  for (const s of ['', 'a', 'a=b', 'a==b', 'a!=b', 'a = b , c', '!a', '! a', 'a in (b,c)', 'a notin ( b , c )', 'a in ()', 'a,,b', 'example.com/x=y', 'a=', 'a\tb', 'a=b\u00a0', ' a=b ', 'a=b=c', 'a in', '-a', 'a in (b', 'a=-b', `a=${'v'.repeat(64)}`, `a=${'v'.repeat(63)}`])
    t.equal(accepts(s), selector.test(s), `selector ${JSON.stringify(s.slice(0, 20))}: parser and pattern agree`)
  const key = new RegExp(LABEL_KEY_PATTERN)
  for (const k of ['a', 'a.b', 'example.com/a', 'a/b/c', '-a', 'Example.com/a', 'a_b', `${'x'.repeat(63)}`, `${'x'.repeat(64)}`, 'ex_ample.com/a', '/a', 'a/'])
    t.equal(qualifiedNameErrors(k).length === 0, key.test(k), `key ${JSON.stringify(k.slice(0, 20))}`)
  const value = new RegExp(LABEL_VALUE_PATTERN)
  for (const v of ['', 'a', 'a-b', '-a', 'a.', 'v'.repeat(63), 'v'.repeat(64), 'a:b'])
    t.equal(labelValueErrors(v).length === 0, value.test(v), `value ${JSON.stringify(v.slice(0, 20))}`)
  const quantity = new RegExp(QUANTITY_PATTERN)
  for (const [q, ok] of [['500m', true], ['2', true], ['4Gi', true], ['1e3', true], ['.5', true], ['', true], ['-1', false], ['1e999', false], [' 5', false], ['5 ', false], ["'X", false]] as const) {
    t.equal(quantity.test(q), ok, `quantity ${JSON.stringify(q)}`)
    const r = await send('POST', '/nodes/select', JSON.stringify({ cpu: q }))
    t.equal(r.status === 400, !ok, `select with cpu ${JSON.stringify(q)}: ${r.status}`)
  }
})

t.test('route validation leaves the keywords a field marks to the domain, and drops vendor keys', async (t) => {
  t.same(forRouteValidation({ type: 'object', properties: { k: { type: 'string', pattern: 'x', maxLength: 3, 'x-checked-by-domain': ['pattern'] } }, 'x-other': 1 }),
    { type: 'object', properties: { k: { type: 'string', maxLength: 3 } } })
  t.same(forRouteValidation({ enum: ['a'], 'x-checked-by-domain': [] }), { enum: ['a'] })
})
