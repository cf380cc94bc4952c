// Issue 24, finding 9, through the service on each backend: PUT P/config honours If-Match (the ETag
// GET sends; 412 on mismatch, saying so), and a hand-broken options.json in the ConfigMap is
// reported by GET (X-Config-Problem, Warning; the options in force still answered) and refused by
// PUT with the reason (409) instead of being replaced by the PUT's options alone.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { ensureNamespace } from '../helpers/fixtures.js'
import { startService, waitFor } from '../helpers/service.js'
import { OPTIONS_KEY, RUNTIME_CONFIG_NAME } from '../../src/kube/runtime-config.js'

const NS = 'streamspace'

eachBackend(t, 'runtime configuration guards', async (t, b) => {
  await ensureNamespace(b.clients, NS)
  const svc = await startService(b.kc)
  t.teardown(() => svc.close())
  const put = async (json: unknown, ifMatch?: string) => {
    const res = await svc.api('/config', { method: 'PUT', json, ...(ifMatch ? { headers: { 'if-match': ifMatch } } : {}) })
    return { status: res.status, body: await res.json() as any, headers: res.headers }
  }
  const readCm = () => b.clients.core.readNamespacedConfigMap({ name: RUNTIME_CONFIG_NAME, namespace: NS })

  await t.test('If-Match: the ETag GET gave changes it; a stale one gets 412 and changes nothing', async (t) => {
    t.equal((await put({ maxNodes: 20 })).status, 200)
    const got = await svc.api('/config')
    const etag = got.headers.get('etag')!
    t.match(etag, /^"\d+"$/)
    const ok = await put({ minNodes: 2 }, etag)
    t.equal(ok.status, 200, JSON.stringify(ok.body))
    t.equal(ok.body.minNodes, 2)
    const newer = ok.headers.get('etag')
    t.not(newer, etag, 'a new ETag')
    const stale = await put({ minNodes: 5 }, etag)
    t.equal(stale.status, 412, 'the ETag read before the last change no longer matches')
    t.equal(stale.body.error, 'Precondition Failed')
    t.match(stale.body.message, /does not match the configuration's ETag .*changed since you read it; GET it again and retry/)
    t.equal(stale.headers.get('etag'), newer, 'the current ETag comes with the 412')
    t.equal(JSON.parse((await readCm()).data![OPTIONS_KEY]).minNodes, 2, 'nothing written')
    t.equal((await put({ minNodes: 3 }, '*')).status, 200, 'If-Match: * while it exists')
    t.equal((await put({ minNodes: 4 }, `W/${newer}`)).status, 412, 'a weak tag never matches If-Match')
  })

  await t.test('a hand-broken options.json: GET says so and serves the options in force; PUT refuses with the reason', async (t) => {
    const cm = await readCm()
    cm.data = { [OPTIONS_KEY]: '{"maxNodes": 20, "minNodes": 3,' }
    await b.clients.core.replaceNamespacedConfigMap({ name: RUNTIME_CONFIG_NAME, namespace: NS, body: cm })
    let res = await svc.api('/config')
    await waitFor(async () => { res = await svc.api('/config'); return res.headers.get('x-config-problem') !== null }, 5000, 'GET to report the problem')
    t.equal(res.status, 200)
    t.match(res.headers.get('x-config-problem'), /options\.json in ConfigMap streamspace\/streamspace-node-manager-config \(resourceVersion \d+\) is not valid JSON/)
    t.match(res.headers.get('warning'), /^299 streamspace-node-manager ".*the options answered are the last valid ones"/)
    const body = await res.json() as any
    t.same([body.maxNodes, body.minNodes], [20, 3], 'the last valid options still answered')
    const refused = await put({ nodeSelectionStrategy: 'random' })
    t.equal(refused.status, 409)
    t.match(refused.body.message, /options\.json in ConfigMap streamspace\/streamspace-node-manager-config \(resourceVersion \d+\) is not valid JSON: .*fix or remove that key/)
    t.equal((await readCm()).data![OPTIONS_KEY], '{"maxNodes": 20, "minNodes": 3,', 'the broken value is left for its author, not overwritten')

    // Valid JSON, a value out of range: refused unless the PUT replaces it.
    const cm2 = await readCm()
    cm2.data = { [OPTIONS_KEY]: JSON.stringify({ maxNodes: 20, scaleUpThreshold: 999 }) }
    await b.clients.core.replaceNamespacedConfigMap({ name: RUNTIME_CONFIG_NAME, namespace: NS, body: cm2 })
    await waitFor(async () => /scaleUpThreshold must be a number from 50 to 95 \(got 999\)/.test((await svc.api('/config')).headers.get('x-config-problem') ?? ''), 5000, 'GET to report the value')
    const r2 = await put({ nodeSelectionStrategy: 'random' })
    t.equal(r2.status, 409)
    t.match(r2.body.message, /resourceVersion \d+\): scaleUpThreshold must be a number from 50 to 95 \(got 999\): set valid values for them in this PUT/)
    const fixed = await put({ scaleUpThreshold: 70 })
    t.equal(fixed.status, 200, 'a PUT that replaces the broken value goes through')
    t.same(JSON.parse((await readCm()).data![OPTIONS_KEY]), { scaleUpThreshold: 70, maxNodes: 20 }, 'the other stored option kept')
    const after = await svc.api('/config')
    t.equal(after.headers.get('x-config-problem'), null, 'no problem any more')
  })
})
