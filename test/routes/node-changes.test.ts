// Labels, taints and cordon over real HTTP against each backend, reading the node back through
// the Kubernetes API: effects, idempotency, 404s, the validation table, the guard rail, 20
// concurrent writers, injected API failures (simulator), audit Events, the per-user rate limit.
import t from 'tap'
import type { V1Node } from '@kubernetes/client-node'
import { eachBackend, type Backend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace, waitFor, waitPodsRunning } from '../helpers/fixtures.js'
import { makeToken, startService, type Service } from '../helpers/service.js'
import { startStack } from '../helpers/stack.js'
import type { NodeView } from '../../src/schemas/node.js'

type ErrorBody = { statusCode: number; error: string; message: string; details?: unknown }

const read = (b: Backend, name: string): Promise<V1Node> => b.clients.core.readNode({ name })
const enc = encodeURIComponent

async function call<T = NodeView>(svc: Service, method: string, path: string, json?: unknown, token?: string) {
  const res = await svc.api(path, { method, json, ...(token ? { token } : {}) })
  return { status: res.status, body: await res.json() as T & ErrorBody, headers: res.headers }
}

eachBackend(t, 'node changes over HTTP', async (t, b) => {
  const svc = await startService(b.kc, { env: { CHANGE_RATE_LIMIT_MAX: '100000' } })
  t.teardown(() => svc.close())

  await t.test('labels: set, overwrite, idempotent, remove (percent-encoded key), 404s', async (t) => {
    await createNode(b.clients, { name: 'l1', cpu: '4', memory: '8Gi' })
    let r = await call(svc, 'PUT', '/nodes/l1/labels', { key: 'example.com/team', value: 'gpu' })
    t.equal(r.status, 200)
    t.equal(r.body.name, 'l1')
    t.equal(r.body.labels['example.com/team'], 'gpu', 'the answer is the node after the change')
    t.equal((await read(b, 'l1')).metadata?.labels?.['example.com/team'], 'gpu', 'read back through the API')
    r = await call(svc, 'PUT', '/nodes/l1/labels', { key: 'example.com/team', value: 'ml' })
    t.equal(r.body.labels['example.com/team'], 'ml')
    t.equal((await read(b, 'l1')).metadata?.labels?.['example.com/team'], 'ml', 'overwrite')
    const rv = (await read(b, 'l1')).metadata?.resourceVersion
    r = await call(svc, 'PUT', '/nodes/l1/labels', { key: 'example.com/team', value: 'ml' })
    t.equal(r.status, 200, 'idempotent')
    t.equal((await read(b, 'l1')).metadata?.resourceVersion, rv, 'nothing written the second time')
    r = await call(svc, 'DELETE', `/nodes/l1/labels/${enc('example.com/team')}`)
    t.equal(r.status, 200)
    t.notOk('example.com/team' in r.body.labels)
    t.notOk('example.com/team' in ((await read(b, 'l1')).metadata?.labels ?? {}))
    r = await call(svc, 'DELETE', `/nodes/l1/labels/${enc('example.com/team')}`)
    t.match(r, { status: 404, body: { statusCode: 404, error: 'Not Found', message: 'Label example.com/team not found on node l1' } })
    r = await call(svc, 'PUT', '/nodes/ghost/labels', { key: 'a', value: 'b' })
    t.match(r, { status: 404, body: { message: 'Node "ghost" not found' } })
    r = await call(svc, 'DELETE', '/nodes/ghost/labels/a')
    t.match(r, { status: 404, body: { message: 'Node "ghost" not found' } })
  })

  await t.test('validation table: keys and values at the boundaries', async (t) => {
    await createNode(b.clients, { name: 'v1', cpu: '4', memory: '8Gi' })
    const a63 = 'a'.repeat(63)
    const prefix253 = [...Array(4)].map(() => 'b'.repeat(62)).join('.') + '.c'
    const valid: [string, string][] = [
      ['a', ''], ['Z', 'z'], ['0', '9'], [a63, a63], ['my.name', 'my.value'], ['my_name', 'my_value'], ['my-name', 'my-value'],
      ['example.com/team', 'A-b_c.D'], [`${prefix253}/x`, 'v'], [`example.com/${a63}`, '1'], ['a/b', ''],
    ]
    const invalid: [string, string, string, RegExp][] = [
      ['', 'v', 'key', /name part must be non-empty/],
      ['a'.repeat(64), 'v', 'key', /name part must be no more than 63 characters/],
      ['-a', 'v', 'key', /name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character/],
      ['a-', 'v', 'key', /name part must consist of alphanumeric/],
      ['a b', 'v', 'key', /name part must consist of alphanumeric/],
      ['/a', 'v', 'key', /prefix part must be non-empty/],
      ['example.com/', 'v', 'key', /name part must be non-empty/],
      ['Example.com/a', 'v', 'key', /prefix part a lowercase RFC 1123 subdomain/],
      ['ex_ample.com/a', 'v', 'key', /prefix part a lowercase RFC 1123 subdomain/],
      [`${prefix253}x/a`, 'v', 'key', /prefix part must be no more than 253 characters/],
      ['a/b/c', 'v', 'key', /a qualified name must consist of/],
      ['k', 'a'.repeat(64), 'value', /must be no more than 63 characters/],
      ['k', '-v', 'value', /a valid label must be an empty string or consist of alphanumeric characters/],
      ['k', 'v.', 'value', /a valid label must be an empty string/],
      ['k', 'a/b', 'value', /a valid label must be an empty string/],
      ['k', 'a:b', 'value', /a valid label must be an empty string/],
    ]
    t.ok(valid.length + invalid.length >= 15)
    for (const [key, value] of valid) {
      const r = await call(svc, 'PUT', '/nodes/v1/labels', { key, value })
      t.equal(r.status, 200, `valid ${key.length > 30 ? key.slice(0, 12) + '…(' + key.length + ')' : JSON.stringify(key)}=${JSON.stringify(value.length > 30 ? value.length : value)}`)
    }
    const labels = (await read(b, 'v1')).metadata?.labels ?? {}
    for (const [key, value] of valid) t.equal(labels[key], value, `stored ${key.slice(0, 30)}`)
    const before = (await read(b, 'v1')).metadata?.resourceVersion
    for (const [key, value, field, rule] of invalid) {
      const r = await call(svc, 'PUT', '/nodes/v1/labels', { key, value })
      t.equal(r.status, 400, `invalid ${field}: ${JSON.stringify(field === 'key' ? key.slice(0, 30) : value.slice(0, 30))}`)
      t.match(r.body.message, new RegExp(`^Invalid value for ${field} `), 'names the field')
      t.match(r.body.message, rule, 'says the rule')
      t.match(r.body.details, { problems: [{ field }] })
    }
    // Taint key, value and effect follow the same rules.
    for (const [json, rule] of [
      [{ key: '-x', effect: 'NoSchedule' }, /^Invalid value for key "-x": name part/],
      [{ key: 'x', value: 'a'.repeat(64), effect: 'NoSchedule' }, /^Invalid value for value "a+": must be no more than 63/],
      [{ key: 'x', effect: 'noschedule' }, /^Invalid value for effect "noschedule": unsupported taint effect: must be one of NoSchedule, PreferNoSchedule, NoExecute/],
      [{ key: 'x', effect: '' }, /^Invalid value for effect "": unsupported taint effect/],
    ] as const) {
      const r = await call(svc, 'POST', '/nodes/v1/taints', json)
      t.equal(r.status, 400)
      t.match(r.body.message, rule)
    }
    let r = await call(svc, 'POST', '/nodes/v1/taints', { key: 'x' })
    t.match(r, { status: 400, body: { message: /body\.effect is required/ } })
    r = await call(svc, 'PUT', '/nodes/v1/labels', { key: 'x' })
    t.match(r, { status: 400, body: { message: /body\.value is required/ } })
    r = await call(svc, 'DELETE', '/nodes/v1/taints/x?effect=Sometimes')
    t.match(r, { status: 400, body: { message: /Invalid value for effect "Sometimes"/ } })
    t.equal((await read(b, 'v1')).metadata?.resourceVersion, before, 'no invalid request changed the node')
  })

  await t.test('guard rail: kubelet and cloud labels only with force', async (t) => {
    await createNode(b.clients, { name: 'g1', cpu: '4', memory: '8Gi', labels: { 'topology.kubernetes.io/zone': 'zone-a' } })
    const before = (await read(b, 'g1')).metadata?.labels
    let r = await call(svc, 'PUT', '/nodes/g1/labels', { key: 'kubernetes.io/hostname', value: 'other' })
    t.equal(r.status, 400)
    t.match(r.body.message, /Refusing to change label kubernetes.io\/hostname: .*managed by the kubelet.*set force=true/)
    r = await call(svc, 'DELETE', `/nodes/g1/labels/${enc('topology.kubernetes.io/zone')}`)
    t.equal(r.status, 400)
    r = await call(svc, 'PUT', '/nodes/g1/labels', { key: 'k8s.io/x', value: 'y', force: false })
    t.equal(r.status, 400)
    t.same((await read(b, 'g1')).metadata?.labels, before, 'nothing changed')
    r = await call(svc, 'PUT', '/nodes/g1/labels', { key: 'node-role.kubernetes.io/gpu', value: '' })
    t.equal(r.status, 200, 'node-role.kubernetes.io/ is allowed')
    t.same(r.body.roles, ['gpu'])
    r = await call(svc, 'PUT', '/nodes/g1/labels', { key: 'topology.kubernetes.io/zone', value: 'zone-b', force: true })
    t.equal(r.status, 200, 'force in the body')
    r = await call(svc, 'DELETE', `/nodes/g1/labels/${enc('topology.kubernetes.io/zone')}?force=true`)
    t.equal(r.status, 200, 'force in the query')
    const labels = (await read(b, 'g1')).metadata?.labels ?? {}
    t.notOk('topology.kubernetes.io/zone' in labels)
    t.equal(labels['node-role.kubernetes.io/gpu'], '')
  })

  await t.test('taints: add, upsert by (key, effect), remove, idempotent, 404s', async (t) => {
    await createNode(b.clients, { name: 't1', cpu: '4', memory: '8Gi' })
    let r = await call(svc, 'POST', '/nodes/t1/taints', { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' })
    t.equal(r.status, 200)
    t.same(r.body.taints, [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }])
    t.notOk('affected_pods' in r.body, 'affected_pods only for NoExecute')
    r = await call(svc, 'POST', '/nodes/t1/taints', { key: 'dedicated', value: 'ml', effect: 'NoSchedule' })
    t.same(r.body.taints, [{ key: 'dedicated', value: 'ml', effect: 'NoSchedule' }], 'replaced by (key, effect)')
    r = await call(svc, 'POST', '/nodes/t1/taints', { key: 'dedicated', effect: 'PreferNoSchedule' })
    t.equal(r.status, 200)
    t.same((await read(b, 't1')).spec?.taints?.map((x) => [x.key, x.value, x.effect]), [['dedicated', undefined, 'PreferNoSchedule'], ['dedicated', 'ml', 'NoSchedule']])
    const rv = (await read(b, 't1')).metadata?.resourceVersion
    r = await call(svc, 'POST', '/nodes/t1/taints', { key: 'dedicated', value: 'ml', effect: 'NoSchedule' })
    t.equal(r.status, 200)
    t.equal((await read(b, 't1')).metadata?.resourceVersion, rv, 'idempotent: nothing written')
    r = await call(svc, 'DELETE', '/nodes/t1/taints/dedicated?effect=NoSchedule')
    t.same(r.body.taints, [{ key: 'dedicated', effect: 'PreferNoSchedule' }])
    r = await call(svc, 'DELETE', '/nodes/t1/taints/dedicated?effect=NoSchedule')
    t.match(r, { status: 404, body: { message: 'Taint dedicated:NoSchedule not found on node t1' } })
    r = await call(svc, 'POST', '/nodes/t1/taints', { key: 'example.com/maint', effect: 'NoSchedule' })
    t.equal(r.status, 200)
    r = await call(svc, 'DELETE', `/nodes/t1/taints/${enc('example.com/maint')}`)
    t.equal(r.status, 200, 'percent-encoded taint key')
    r = await call(svc, 'DELETE', '/nodes/t1/taints/dedicated')
    t.same(r.body.taints, [], 'without effect: every taint with the key')
    t.equal((await read(b, 't1')).spec?.taints, undefined)
    r = await call(svc, 'DELETE', '/nodes/t1/taints/dedicated')
    t.match(r, { status: 404, body: { message: 'Taint dedicated not found on node t1' } })
    r = await call(svc, 'POST', '/nodes/ghost/taints', { key: 'a', effect: 'NoSchedule' })
    t.equal(r.status, 404)
  })

  await t.test('NoExecute: the answer says how many pods it evicts', async (t) => {
    await createNode(b.clients, { name: 'x1', cpu: '4', memory: '8Gi' })
    await ensureNamespace(b.clients, 'apps')
    await createPod(b.clients, { name: 'x1-a', namespace: 'apps', node: 'x1' })
    await createPod(b.clients, { name: 'x1-b', namespace: 'apps', node: 'x1' })
    await b.clients.core.createNamespacedPod({
      namespace: 'apps',
      body: { metadata: { name: 'x1-tolerant' }, spec: { nodeName: 'x1', tolerations: [{ key: 'maintenance', operator: 'Exists' }], containers: [{ name: 'm', image: 'x' }] } },
    })
    await waitPodsRunning(b.clients, 'apps', ['x1-a', 'x1-b', 'x1-tolerant'])
    // The count comes from the service's watch cache: wait until it has the three pods.
    await waitFor(async () => (await call<NodeView>(svc, 'GET', '/nodes/x1')).body.pods === 3, 10_000, 'pods in the cache')
    const r = await call<NodeView & { affected_pods: number }>(svc, 'POST', '/nodes/x1/taints', { key: 'maintenance', value: 'now', effect: 'NoExecute' })
    t.equal(r.status, 200)
    t.equal(r.body.affected_pods, 2, 'x1-a and x1-b do not tolerate it')
    t.same(r.body.taints, [{ key: 'maintenance', value: 'now', effect: 'NoExecute' }])
  })

  await t.test('cordon and uncordon, idempotent', async (t) => {
    await createNode(b.clients, { name: 'c1', cpu: '4', memory: '8Gi' })
    for (let i = 0; i < 2; i++) {
      const r = await call(svc, 'POST', '/nodes/c1/cordon')
      t.equal(r.status, 200)
      t.equal(r.body.unschedulable, true)
      t.equal((await read(b, 'c1')).spec?.unschedulable, true)
    }
    for (let i = 0; i < 2; i++) {
      const r = await call(svc, 'POST', '/nodes/c1/uncordon')
      t.equal(r.status, 200)
      t.equal(r.body.unschedulable, false)
      t.notOk((await read(b, 'c1')).spec?.unschedulable)
    }
    t.match(await call(svc, 'POST', '/nodes/ghost/cordon'), { status: 404, body: { message: 'Node "ghost" not found' } })
    t.match(await call(svc, 'POST', '/nodes/ghost/uncordon'), { status: 404 })
  })

  await t.test('cordon with a reason: who, why and when in one patch; uncordon clears them; a cordon made elsewhere shows unknown', async (t) => {
    await createNode(b.clients, { name: 'cr1', cpu: '4', memory: '8Gi' })
    const bob = makeToken({ username: 'bob', user_id: 'u-42' })
    const before = Date.now() - 1000
    let r = await call(svc, 'POST', '/nodes/cr1/cordon', { reason: 'kernel upgrade OPS-1' }, bob)
    t.equal(r.status, 200)
    t.equal(r.body.unschedulable, true)
    t.match(r.body.cordon, { by: 'bob', reason: 'kernel upgrade OPS-1', at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ })
    t.ok(new Date(r.body.cordon!.at!).getTime() >= before, 'at is now')
    let node = await read(b, 'cr1')
    t.equal(node.spec?.unschedulable, true)
    t.match(node.metadata?.annotations, { 'streamspace.io/cordoned-by': 'bob', 'streamspace.io/cordon-reason': 'kernel upgrade OPS-1', 'streamspace.io/cordoned-at': r.body.cordon!.at })
    const rv = node.metadata?.resourceVersion
    t.equal((await call(svc, 'POST', '/nodes/cr1/cordon', { reason: 'kernel upgrade OPS-1' })).status, 200)
    t.equal((await read(b, 'cr1')).metadata?.resourceVersion, rv, 'same reason again: nothing written')
    t.equal((await call(svc, 'POST', '/nodes/cr1/cordon')).status, 200)
    t.equal((await read(b, 'cr1')).metadata?.resourceVersion, rv, 'no reason on a cordoned node: nothing written')
    r = await call(svc, 'POST', '/nodes/cr1/cordon', { reason: 'disk swap' })
    t.match(r.body.cordon, { by: 'alice', reason: 'disk swap' }, 'a new reason replaces the old, with its author')
    const detail = await call<NodeView>(svc, 'GET', '/nodes/cr1')
    t.match(detail.body.cordon, { by: 'alice', reason: 'disk swap' }, 'NodeDetail shows it too (from the watch cache)')
    r = await call(svc, 'POST', '/nodes/cr1/uncordon')
    t.equal(r.body.cordon, null)
    node = await read(b, 'cr1')
    t.notOk(node.spec?.unschedulable)
    for (const k of ['streamspace.io/cordoned-by', 'streamspace.io/cordon-reason', 'streamspace.io/cordoned-at']) t.notOk(k in (node.metadata?.annotations ?? {}), `${k} removed`)
    t.match(await call(svc, 'POST', '/nodes/cr1/cordon', { reason: 'x'.repeat(1025) }), { status: 400, body: { message: /reason/ } })
    t.match(await call(svc, 'POST', '/nodes/cr1/cordon', { why: 'x' }), { status: 400, body: { message: /why/ } })
    t.notOk((await read(b, 'cr1')).spec?.unschedulable, 'refused cordons did nothing')
    // Cordoned by someone else (as kubectl cordon: spec.unschedulable only).
    await b.clients.core.patchNode({ name: 'cr1', body: { spec: { unschedulable: true } } }, (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', (await import('@kubernetes/client-node')).PatchStrategy.StrategicMergePatch))
    await waitFor(async () => (await call<NodeView>(svc, 'GET', '/nodes/cr1')).body.unschedulable === true, 10_000, 'the cache to see the cordon')
    const other = (await call<NodeView>(svc, 'GET', '/nodes/cr1')).body.cordon
    t.match(other, { by: null, reason: null }, 'a cordon made elsewhere: cordoned, by and reason unknown (null)')
    const list = await call<NodeView[]>(svc, 'GET', '/nodes')
    t.match(list.body.find((n) => n.name === 'cr1')?.cordon, { by: null, reason: null }, 'the list shows it too')
  })

  await t.test('audit: each change is an Event on the node naming the admin', async (t) => {
    const node = await createNode(b.clients, { name: 'e1', cpu: '4', memory: '8Gi' })
    const bob = makeToken({ username: 'bob', user_id: 'u-42' })
    await call(svc, 'PUT', '/nodes/e1/labels', { key: 'pool', value: 'gpu' }, bob)
    await call(svc, 'POST', '/nodes/e1/cordon', undefined, bob)
    // Ours only: the node lifecycle controller writes Events about nodes too (RegisteredNode, ...).
    const events = (await b.clients.core.listEventForAllNamespaces({ fieldSelector: `involvedObject.name=e1,involvedObject.uid=${node.metadata?.uid}` })).items
      .filter((e) => e.source?.component === 'streamspace-node-manager')
      .sort((x, y) => (x.metadata?.name ?? '').localeCompare(y.metadata?.name ?? ''))
    t.same(events.map((e) => e.reason), ['NodeLabeled', 'NodeCordoned'])
    t.match(events[0].message, 'Label pool=gpu set by bob (user_id u-42)')
    t.match(events[1].message, 'Node cordoned (marked unschedulable) by bob (user_id u-42)')
  })

  await t.test('non-admins may not change nodes', async (t) => {
    await createNode(b.clients, { name: 'a1', cpu: '4', memory: '8Gi' })
    const user = makeToken({ role: 'operator', username: 'eve' })
    t.match(await call(svc, 'PUT', '/nodes/a1/labels', { key: 'a', value: 'b' }, user), { status: 403 })
    const res = await svc.api('/nodes/a1/cordon', { method: 'POST', token: null })
    t.equal(res.status, 401)
    t.notOk((await read(b, 'a1')).spec?.unschedulable)
  })

  await t.test('20 concurrent label writers on one node (forced conflicts on the simulator): all 20 labels present', async (t) => {
    await createNode(b.clients, { name: 'race', cpu: '4', memory: '8Gi' })
    const sim = b.sim as unknown as { faults: { conflictRate: number } } | undefined
    const patchesBefore = sim ? countPatches(b) : 0
    if (sim) sim.faults.conflictRate = 0.5
    let results
    try {
      results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        call(svc, 'PUT', '/nodes/race/labels', { key: `example.com/writer-${i}`, value: `v${i}` }, makeToken({ username: `admin${i}`, user_id: `u${i}` }))))
    } finally {
      if (sim) sim.faults.conflictRate = 0
    }
    t.same(results.map((r) => r.status), Array(20).fill(200))
    const labels = (await read(b, 'race')).metadata?.labels ?? {}
    for (let i = 0; i < 20; i++) t.equal(labels[`example.com/writer-${i}`], `v${i}`, `writer ${i}`)
    if (sim) t.ok(countPatches(b) - patchesBefore > 20, `${countPatches(b) - patchesBefore} node patches for 20 labels: the 409s were retried`)
  })

  await t.test('20 concurrent taint writers: all 20 taints present', async (t) => {
    await createNode(b.clients, { name: 'race-t', cpu: '4', memory: '8Gi' })
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      call(svc, 'POST', '/nodes/race-t/taints', { key: `example.com/t-${i}`, effect: 'NoSchedule' }, makeToken({ username: `admin${i}`, user_id: `u${i}` }))))
    t.same(results.map((r) => r.status), Array(20).fill(200))
    t.equal((await read(b, 'race-t')).spec?.taints?.length, 20)
  })

  if (b.sim) {
    const sim = b.sim as unknown as { faults: { errorRate: number } }
    await t.test('an injected API failure leaves the node unchanged and answers 502/503 with a message', async (t) => {
      await createNode(b.clients, { name: 'f1', cpu: '4', memory: '8Gi', labels: { pool: 'a' } })
      const before = await read(b, 'f1')
      sim.faults.errorRate = 1
      const results = []
      try {
        results.push(await call(svc, 'PUT', '/nodes/f1/labels', { key: 'pool', value: 'b' }))
        results.push(await call(svc, 'DELETE', '/nodes/f1/labels/pool'))
        results.push(await call(svc, 'POST', '/nodes/f1/taints', { key: 'k', effect: 'NoExecute' }))
        results.push(await call(svc, 'DELETE', '/nodes/f1/taints/k'))
        results.push(await call(svc, 'POST', '/nodes/f1/cordon'))
      } finally {
        sim.faults.errorRate = 0
      }
      for (const r of results) {
        t.ok([502, 503].includes(r.status), `status ${r.status}`)
        t.match(r.body, { statusCode: r.status, error: /Bad Gateway|Service Unavailable/, message: /^Kubernetes API failed to (read nodes\/f1|list pods on node f1) \(HTTP 503\)/ })
      }
      const metrics = await (await fetch(`${svc.url}/metrics`)).text()
      t.match(metrics, /streamspace_node_manager_kube_request_errors_total\{route="\/api\/plugins\/streamspace-node-manager\/nodes\/:name\/labels"\} 1/, 'counted by route')
      const after = await read(b, 'f1')
      t.equal(after.metadata?.resourceVersion, before.metadata?.resourceVersion, 'node unchanged')
      t.same(after.metadata?.labels, before.metadata?.labels)
    })
  }
})

function countPatches(b: Backend): number {
  const sim = b.sim as unknown as { requests: { count(p: (r: { verb: string; resource: string }) => boolean): number } }
  return sim.requests.count((r) => r.verb === 'patch' && r.resource === 'nodes')
}

t.test('rate limit per user on the mutating routes', async (t) => {
  const { backend: b, service: svc } = await startStack(t, {
    nodes: [{ name: 'r1', cpu: '4', memory: '8Gi' }],
    env: { CHANGE_RATE_LIMIT_MAX: '3', CHANGE_RATE_LIMIT_WINDOW_SECONDS: '60' },
  })
  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await call(svc, i % 2 ? 'POST' : 'PUT', i % 2 ? '/nodes/r1/cordon' : '/nodes/r1/labels', i % 2 ? undefined : { key: 'a', value: String(i) })).status)
  t.same(statuses, [200, 200, 200])
  const over = await call(svc, 'POST', '/nodes/r1/uncordon')
  t.equal(over.status, 429, 'one budget across all change routes')
  t.match(over.body, { statusCode: 429, error: 'Too Many Requests', message: /^Rate limit exceeded: at most 3 node changes per 60 s per user; retry in \d+ s$/ })
  t.ok(Number(over.headers.get('retry-after')) > 0, 'Retry-After')
  t.equal((await read(b, 'r1')).spec?.unschedulable, true, 'the refused uncordon did not happen')
  const other = await call(svc, 'POST', '/nodes/r1/uncordon', undefined, makeToken({ username: 'carol', user_id: 'u-7' }))
  t.equal(other.status, 200, 'another user has their own budget')
  t.equal((await svc.api('/nodes/r1')).status, 200, 'reads are not limited')
})
