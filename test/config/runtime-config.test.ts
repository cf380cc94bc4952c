// GET/PUT P/config on each backend: the same validation as the file (400 naming the option and its
// range), persisted in the ConfigMap, seen by another replica, kept across a restart and over the
// environment, audited (log line and Event), no update lost to concurrent PUTs, 409 when writes
// keep conflicting, and hand edits of the ConfigMap picked up (or ignored when invalid).
import t from 'tap'
import { Writable } from 'node:stream'
import { eachBackend } from '../helpers/backend.js'
import { createNode, ensureNamespace } from '../helpers/fixtures.js'
import { startService, waitFor, makeToken, type Service } from '../helpers/service.js'
import { OPTIONS_KEY, RUNTIME_CONFIG_NAME } from '../../src/kube/runtime-config.js'

const NS = 'streamspace'
const DEFAULTS = {
  enableAutoScaling: false, scaleUpThreshold: 80, scaleDownThreshold: 20, nodeSelectionStrategy: 'least-sessions',
  healthCheckInterval: 60, metricsEnabled: true, alertOnNodeFailure: true, minNodes: 1, maxNodes: 10,
}

async function put(svc: Service, body: unknown, token?: string): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await svc.api('/config', { method: 'PUT', json: body, ...(token ? { token } : {}) })
  return { status: res.status, body: await res.json(), headers: res.headers }
}

async function get(svc: Service): Promise<any> {
  const res = await svc.api('/config')
  if (res.status !== 200) throw new Error(`GET /config ${res.status}: ${await res.text()}`)
  return res.json()
}

eachBackend(t, 'runtime configuration', async (t, b) => {
  await ensureNamespace(b.clients, NS)
  await createNode(b.clients, { name: 'w1', cpu: '4', memory: '8Gi' })
  await createNode(b.clients, { name: 'w2', cpu: '4', memory: '8Gi' })
  // Replica A logs to a buffer so the audit line can be read back.
  const lines: any[] = []
  const stream = new Writable({ write(chunk, _enc, cb) { for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l)); cb() } })
  const a = await startService(b.kc)
  const replicaB = await startService(b.kc)
  // A third replica with its own logger, for the audit line.
  const logged = await startService(b.kc, { env: { LOG_LEVEL: 'info' }, logStream: stream })
  t.teardown(async () => { await Promise.all([a.close(), replicaB.close(), logged.close()]) })

  await t.test('defaults before any change; no ConfigMap yet', async (t) => {
    const res = await a.api('/config')
    t.equal(res.status, 200)
    t.same(await res.json(), DEFAULTS)
    t.equal(res.headers.get('x-config-overrides'), 'none')
  })

  await t.test('out of range and unknown: 400 naming the option and its range, nothing written', async (t) => {
    const cases: [unknown, RegExp][] = [
      [{ scaleUpThreshold: 99 }, /scaleUpThreshold must be a number from 50 to 95 \(got 99\)/],
      [{ healthCheckInterval: 10 }, /healthCheckInterval must be an integer from 30 to 600 \(got 10\)/],
      [{ minNodes: 20 }, /minNodes \(20\) must be <= maxNodes \(10\)/],
      [{ minNodes: 5, maxNodes: 4 }, /minNodes \(5\) must be <= maxNodes \(4\)/],
      [{ scaleDownThreshold: 50, scaleUpThreshold: 50 }, /scaleDownThreshold \(50\) must be below scaleUpThreshold \(50\)/],
      [{ nodeSelectionStrategy: 'fastest' }, /nodeSelectionStrategy must be one of "least-sessions", "most-resources", "random", "round-robin"/],
      [{ enableAutoScaling: 'yes' }, /enableAutoScaling must be a boolean/],
      [{ maxNode: 5 }, /maxNode is not a known setting/],
      [[1, 2], /body must be a JSON object/],
    ]
    for (const [body, want] of cases) {
      const r = await put(a, body)
      t.equal(r.status, 400, JSON.stringify(body))
      t.match(r.body.message, want)
    }
    await t.rejects(b.clients.core.readNamespacedConfigMap({ name: RUNTIME_CONFIG_NAME, namespace: NS }), 'no ConfigMap was made')
  })

  await t.test('a change on one replica is seen by the other, and used', async (t) => {
    const r = await put(a, { nodeSelectionStrategy: 'round-robin', scaleUpThreshold: 70 })
    t.equal(r.status, 200)
    t.same(r.body, { ...DEFAULTS, nodeSelectionStrategy: 'round-robin', scaleUpThreshold: 70 })
    t.equal(r.headers.get('x-config-overrides'), 'scaleUpThreshold,nodeSelectionStrategy')
    const started = Date.now()
    await waitFor(async () => (await get(replicaB)).nodeSelectionStrategy === 'round-robin', 5000, 'replica B to see the change')
    t.comment(`replica B saw the change ${Date.now() - started} ms after A answered`)
    t.same(await get(replicaB), r.body)
    t.equal(replicaB.app.settings.options.scaleUpThreshold, 70, 'app.settings.options is live')
    const sel = await (await replicaB.api('/nodes/select', { method: 'POST', json: {} })).json() as { strategy: string }
    t.equal(sel.strategy, 'round-robin', 'selection on B uses the new strategy')
    const cm = await b.clients.core.readNamespacedConfigMap({ name: RUNTIME_CONFIG_NAME, namespace: NS })
    t.same(JSON.parse(cm.data![OPTIONS_KEY]), { scaleUpThreshold: 70, nodeSelectionStrategy: 'round-robin' }, 'only the options set through PUT are stored')
    t.equal(cm.metadata?.annotations?.['streamspace.io/changed-by'], 'alice')
    t.equal(r.headers.get('etag'), `"${cm.metadata?.resourceVersion}"`)
  })

  await t.test('audited: an Event on the ConfigMap and a log line with who, what and from what', async (t) => {
    const token = makeToken({ username: 'carol', user_id: 'u-9' })
    const res = await put(logged, { maxNodes: 40 }, token)
    t.equal(res.status, 200, JSON.stringify(res.body))
    const audit = lines.find((l) => l.audit?.action === 'config.update' && l.audit.outcome === 'changed')
    t.ok(audit, 'audit line logged')
    t.match(audit, { msg: 'audit: carol config.update: changed (maxNodes: 10 -> 40)', audit: { actor: { username: 'carol', user_id: 'u-9' }, changes: [{ option: 'maxNodes', from: 10, to: 40 }] } })
    let events: { reason?: string; message?: string; involvedObject: { kind?: string; name?: string } }[] = []
    await waitFor(async () => {
      events = (await b.clients.core.listNamespacedEvent({ namespace: NS })).items.filter((e) => e.reason === 'RuntimeConfigChanged')
      return events.length >= 2
    }, 5000, 'Events')
    const refused = await put(logged, { maxNodes: 5000 }, token)
    t.equal(refused.status, 400)
    t.match(lines.find((l) => l.audit?.outcome === 'refused'), { msg: 'audit: carol config.update: refused: maxNodes must be an integer from 1 to 1000 (got 5000)', audit: { actor: { username: 'carol' }, request: { maxNodes: 5000 } } }, 'a refused change is audited too')
    t.ok(events.every((e) => e.involvedObject.kind === 'ConfigMap' && e.involvedObject.name === RUNTIME_CONFIG_NAME))
    t.ok(events.some((e) => e.message === 'maxNodes: 10 -> 40 by carol (user_id u-9) via StreamSpace Node Manager'), events.map((e) => e.message).join(' | '))
    t.ok(events.some((e) => /nodeSelectionStrategy: "least-sessions" -> "round-robin"/.test(e.message ?? '') && /by alice/.test(e.message ?? '')))
    await waitFor(async () => (await get(a)).maxNodes === 40, 5000, 'A sees maxNodes 40')
  })

  await t.test('concurrent PUTs on two replicas lose no update', async (t) => {
    const writes: [Service, Record<string, unknown>][] = [
      [a, { healthCheckInterval: 120 }], [replicaB, { minNodes: 3 }], [a, { scaleDownThreshold: 30 }], [replicaB, { alertOnNodeFailure: false }],
      [a, { enableAutoScaling: true }], [replicaB, { metricsEnabled: false }], [a, { maxNodes: 50 }], [replicaB, { scaleUpThreshold: 75 }],
    ]
    const before = Number((await b.clients.core.readNamespacedConfigMap({ name: RUNTIME_CONFIG_NAME, namespace: NS })).metadata!.resourceVersion)
    const results = await Promise.all(writes.map(([svc, body]) => put(svc, body)))
    t.same(results.map((r) => r.status), writes.map(() => 200), 'every PUT succeeded')
    const want = { ...DEFAULTS, nodeSelectionStrategy: 'round-robin', healthCheckInterval: 120, minNodes: 3, scaleDownThreshold: 30, alertOnNodeFailure: false, enableAutoScaling: true, metricsEnabled: false, maxNodes: 50, scaleUpThreshold: 75 }
    await waitFor(async () => JSON.stringify(await get(a)) === JSON.stringify(want) && JSON.stringify(await get(replicaB)) === JSON.stringify(want), 5000, 'both replicas to agree')
    t.same(await get(a), want, 'every update is in the result')
    const cm = await b.clients.core.readNamespacedConfigMap({ name: RUNTIME_CONFIG_NAME, namespace: NS })
    t.ok(Number(cm.metadata!.resourceVersion) > before, 'written')
    t.same(JSON.parse(cm.data![OPTIONS_KEY]), want, 'all nine options were set through PUT: all stored')
  })

  await t.test('direct writes race: conflicts retried', async (t) => {
    // Straight into both stores at once: each reads the same resourceVersion, so most must retry.
    const ups = await Promise.all([1, 2, 3, 4].map((i) => (i % 2 ? a : replicaB).app.runtimeConfig.update({ healthCheckInterval: 200 + i }, { username: 'race', user_id: `r${i}` })))
    const attempts = ups.reduce((s, u) => s + u.attempts, 0)
    t.ok(attempts > 4, `conflicts happened and were retried (${attempts} attempts for 4 writes)`)
    t.ok(ups.every((u) => u.written))
  })

  await t.test('persisted across a restart, and winning over the environment', async (t) => {
    await a.close()
    const c = await startService(b.kc, { env: { SCALE_UP_THRESHOLD: '90', MAX_NODES: '12' } })
    t.teardown(() => c.close())
    const opts = await get(c)
    t.equal(opts.scaleUpThreshold, 75, 'the PUT value, not the environment\'s 90')
    t.equal(opts.maxNodes, 50)
    t.equal(opts.nodeSelectionStrategy, 'round-robin')
    t.equal(c.app.settings.options.nodeSelectionStrategy, 'round-robin', 'in force from the start')
    const reset = await put(c, { scaleUpThreshold: null, maxNodes: null })
    t.equal(reset.status, 200)
    t.equal(reset.body.scaleUpThreshold, 90, 'null: back to the environment value')
    t.equal(reset.body.maxNodes, 12)
    t.notMatch(reset.headers.get('x-config-overrides'), /scaleUpThreshold|maxNodes/)
    await waitFor(async () => (await get(replicaB)).scaleUpThreshold === 80, 5000, 'B: back to its own (default) value')
  })

  await t.test('hand edits of the ConfigMap: valid ones applied, invalid ones ignored', async (t) => {
    const cm = await b.clients.core.readNamespacedConfigMap({ name: RUNTIME_CONFIG_NAME, namespace: NS })
    cm.data = { [OPTIONS_KEY]: JSON.stringify({ scaleUpThreshold: 999 }) }
    const invalid = await b.clients.core.replaceNamespacedConfigMap({ name: RUNTIME_CONFIG_NAME, namespace: NS, body: cm })
    const edited = await b.clients.core.readNamespacedConfigMap({ name: RUNTIME_CONFIG_NAME, namespace: NS })
    edited.data = { [OPTIONS_KEY]: JSON.stringify({ nodeSelectionStrategy: 'most-resources' }) }
    // Replica B has seen the invalid version once its ETag is that version's (and it names the problem).
    await waitFor(async () => {
      const res = await replicaB.api('/config')
      return res.headers.get('etag') === `"${invalid.metadata!.resourceVersion}"` && /scaleUpThreshold/.test(res.headers.get('x-config-problem') ?? '')
    }, 5000, 'B to see the invalid version')
    t.equal((await get(replicaB)).nodeSelectionStrategy, 'round-robin', 'invalid version ignored: options in force kept')
    t.equal((await get(replicaB)).scaleUpThreshold, 80)
    await b.clients.core.replaceNamespacedConfigMap({ name: RUNTIME_CONFIG_NAME, namespace: NS, body: edited })
    await waitFor(async () => (await get(replicaB)).nodeSelectionStrategy === 'most-resources', 5000, 'the valid edit applied')
    t.equal((await get(replicaB)).healthCheckInterval, 60, 'options no longer in the ConfigMap fall back')
  })

  if (b.metrics) {
    await t.test('metricsEnabled is live: usage stops and comes back on every replica', async (t) => {
      const usage = async (svc: Service) => ((await (await svc.api('/nodes/w1')).json()) as { usage: unknown }).usage
      await waitFor(async () => (await usage(replicaB)) !== null, 10_000, 'usage on B while metrics are on')
      t.equal((await put(replicaB, { metricsEnabled: false })).status, 200)
      await waitFor(async () => (await usage(replicaB)) === null, 5000, 'usage gone on B')
      t.pass('metrics off: usage null')
      t.equal((await put(replicaB, { metricsEnabled: null })).status, 200)
      await waitFor(async () => (await usage(replicaB)) !== null, 10_000, 'usage back on B')
      t.pass('metrics on again: usage back')
    })
  }

  if (b.sim) {
    await t.test('writes that keep conflicting: 409 to the caller, nothing half-done', async (t) => {
      const sim = b.sim!
      sim.faults = { ...sim.faults, conflictRate: 1 }
      try {
        const r = await put(replicaB, { minNodes: 2 })
        t.equal(r.status, 409)
        t.match(r.body.message, /kept changing under us: gave up after 10 conflicting writes; read it again and retry/)
      } finally {
        sim.faults = { ...sim.faults, conflictRate: 0 }
      }
      t.equal((await get(replicaB)).minNodes, 1)
    })
  }
})
