// Error answers across routes: one wording for an unknown node, every valid node name (up to 253
// characters) addressable, and errors Fastify raises itself in our {statusCode, error, message}
// shape (no Fastify "code" field).
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { createNode } from '../helpers/fixtures.js'
import { startService, waitFor } from '../helpers/service.js'

/** A valid DNS subdomain of 253 characters: three labels of 63 and one of 61, dot-separated. */
const LONG = [...['a', 'b', 'c'].map((c) => c.repeat(63)), 'd'.repeat(61)].join('.')

const errorShape = (statusCode: number, error: string, message: string | RegExp) => ({ statusCode, error, message })

eachBackend(t, 'error answers', async (t, b) => {
  const svc = await startService(b.kc, { env: { CHANGE_RATE_LIMIT_MAX: '100000' } })
  t.teardown(() => svc.close())

  await t.test('an unknown node reads the same wherever it is found missing', async (t) => {
    const expected = { statusCode: 404, error: 'Not Found', message: 'Node "ghost" not found' }
    const calls: Array<[string, string, unknown?]> = [
      ['GET', '/nodes/ghost'],
      ['GET', '/nodes/ghost/metrics'],
      ['PUT', '/nodes/ghost/labels', { key: 'example.com/a', value: 'b' }],
      ['POST', '/nodes/ghost/taints', { key: 'example.com/a', effect: 'NoSchedule' }],
      ['POST', '/nodes/ghost/cordon'],
      ['POST', '/nodes/ghost/drain', {}],
      ['GET', '/nodes/ghost/drain'],
      ['GET', '/nodes/ghost/drain/events'],
    ]
    for (const [method, path, json] of calls) {
      const res = await svc.api(path, { method, json })
      t.same({ status: res.status, body: await res.json() }, { status: 404, body: expected }, `${method} ${path}`)
    }
  })

  await t.test('a node name of 253 characters (the most Kubernetes allows) is addressable', async (t) => {
    t.equal(LONG.length, 253)
    await createNode(b.clients, { name: LONG, cpu: '2', memory: '4Gi', labels: { 'kubernetes.io/hostname': 'long' } })
    await waitFor(async () => (await svc.api(`/nodes/${LONG}`)).status === 200, 10_000, 'the node in the cache')
    const read = await svc.api(`/nodes/${LONG}`)
    t.equal(read.status, 200)
    t.equal((await read.json()).name, LONG)
    const label = await svc.api(`/nodes/${LONG}/labels`, { method: 'PUT', json: { key: 'example.com/long', value: 'yes' } })
    t.equal(label.status, 200)
    t.equal((await label.json()).labels['example.com/long'], 'yes')
    // A label key of 317 characters (253-character prefix, "/", 63-character name), percent-encoded.
    const longKey = `${LONG}/${'k'.repeat(63)}`
    t.equal((await svc.api(`/nodes/${LONG}/labels`, { method: 'PUT', json: { key: longKey, value: 'v' } })).status, 200)
    const removed = await svc.api(`/nodes/${LONG}/labels/${encodeURIComponent(longKey)}`, { method: 'DELETE' })
    t.equal(removed.status, 200, 'a longest label key is addressable too')
    t.equal((await svc.api(`/nodes/${LONG}/drain`)).status, 200)
    t.equal((await svc.api(`/nodes/${LONG}/metrics`)).status, 200)
  })

  await t.test('errors Fastify raises itself answer in our shape', async (t) => {
    const tooLong = await svc.api(`/nodes/${'x'.repeat(2000)}`)
    t.equal(tooLong.status, 414)
    t.same(await tooLong.json(), errorShape(414, 'URI Too Long', `A path parameter of /api/plugins/streamspace-node-manager/nodes/${'x'.repeat(2000)} is longer than any valid one`))

    const badJson = await svc.api('/nodes/ghost/labels', { method: 'PUT', body: '{"key": ', headers: { 'content-type': 'application/json' } })
    t.equal(badJson.status, 400)
    t.match(await badJson.json(), errorShape(400, 'Bad Request', /^body is not valid JSON/))

    const wrongType = await svc.api('/nodes/ghost/labels', { method: 'PUT', body: '<key>a</key>', headers: { 'content-type': 'application/xml' } })
    t.equal(wrongType.status, 415)
    t.same(await wrongType.json(), errorShape(415, 'Unsupported Media Type', 'Unsupported Media Type "application/xml": send application/json'))

    const huge = await svc.api('/nodes/ghost/labels', { method: 'PUT', json: { key: 'a', value: 'x'.repeat(2 * 1024 * 1024) } })
    t.equal(huge.status, 413)
    t.same(await huge.json(), errorShape(413, 'Payload Too Large', 'body is too large: at most 1048576 bytes (1024 KiB)'))

    const badUrl = await svc.api('/nodes/%E0%A4%A')
    t.equal(badUrl.status, 400)
    t.match(await badUrl.json(), errorShape(400, 'Bad Request', /is not valid/))
  })

  await t.test('a method the path does not have is 405 with Allow; an unknown path stays 404', async (t) => {
    const trace = await fetch(`${svc.url}/healthz`, { method: 'PATCH' })
    t.equal(trace.status, 405)
    t.equal(trace.headers.get('allow'), 'GET, HEAD')
    t.same(await trace.json(), errorShape(405, 'Method Not Allowed', 'Method PATCH is not allowed on /healthz: use GET, HEAD'))
    // A method with a body but no content type: still 405, not a 400 about the content type.
    const put = await svc.api('/nodes/ghost/cordon', { method: 'PUT' })
    t.equal(put.status, 405)
    t.equal(put.headers.get('allow'), 'POST')
    const unknown = await svc.api('/nodes/ghost/nothing-here', { method: 'PATCH' })
    t.equal(unknown.status, 404)
  })
})
