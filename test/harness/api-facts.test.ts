// What the real API server does, asserted on every backend: where the simulated cluster
// disagrees with kube-apiserver, this file says so first. Each fact was seen on v1.33.
import t from 'tap'
import { HttpMethod, RequestContext } from '@kubernetes/client-node'
import { fetch } from 'undici'
import { backendNames, startBackend } from '../helpers/backend.js'
import { createNode, createPDB, createPod, createReplicaSet, ensureNamespace, kubeRequest, waitPodsRunning } from '../helpers/fixtures.js'

const ns = 'facts'
const smp = 'application/strategic-merge-patch+json'
const merge = 'application/merge-patch+json'

for (const name of backendNames()) {
  t.test(`API facts [${name}]`, async (t) => {
    const b = await startBackend(name, { podTerminateSeconds: 1 })
    t.teardown(() => b.close())
    const req = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, type?: string) => kubeRequest(b.kc, method, path, body, type)
    await ensureNamespace(b.clients, ns)
    await createNode(b.clients, { name: 'n1', cpu: '4', memory: '8Gi', taints: [{ key: 'a', value: '1', effect: 'NoSchedule' }] })

    await t.test('node create keeps the status and the taints given', async (t) => {
      const { body } = await req('GET', '/api/v1/nodes/n1')
      t.same(body.spec.taints, [{ key: 'a', value: '1', effect: 'NoSchedule' }])
      t.same(body.status.capacity, { cpu: '4', memory: '8Gi', pods: '110' })
    })

    await t.test('pod create resets the status given to Pending', async (t) => {
      const { status, body } = await req('POST', `/api/v1/namespaces/${ns}/pods`, {
        metadata: { name: 'unbound' }, spec: { containers: [{ name: 'c', image: 'i' }] }, status: { phase: 'Running', podIP: '10.9.9.9' },
      })
      t.equal(status, 201)
      t.equal(body.status.phase, 'Pending')
      t.notOk(body.status.podIP)
    })

    await t.test('pod create fills in defaults, among them tolerations for not-ready and unreachable nodes', async (t) => {
      const { body } = await req('GET', `/api/v1/namespaces/${ns}/pods/unbound`)
      t.match(body.spec, { terminationGracePeriodSeconds: 30, restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler' })
      t.same(body.spec.tolerations, [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ])
    })

    await t.test('pod create sets status.qosClass', async (t) => {
      const { body } = await req('GET', `/api/v1/namespaces/${ns}/pods/unbound`)
      t.equal(body.status.qosClass, 'BestEffort')
    })

    await t.test('list items carry no kind or apiVersion; the list does', async (t) => {
      const { body } = await req('GET', '/api/v1/nodes')
      t.equal(body.kind, 'NodeList')
      t.equal(body.apiVersion, 'v1')
      t.ok(body.metadata.resourceVersion)
      t.equal(body.items[0].kind, undefined)
      t.equal(body.items[0].apiVersion, undefined)
    })

    await t.test('strategic-merge patch replaces spec.taints whole (no merge key)', async (t) => {
      const { body } = await req('PATCH', '/api/v1/nodes/n1', { spec: { taints: [{ key: 'b', effect: 'NoExecute' }] } }, smp)
      t.same(body.spec.taints, [{ key: 'b', effect: 'NoExecute' }])
    })

    await t.test('a stale resourceVersion in a patch is a 409 Conflict', async (t) => {
      const { status, body } = await req('PATCH', '/api/v1/nodes/n1', { metadata: { resourceVersion: '1', labels: { z: '1' } } }, merge)
      t.equal(status, 409)
      t.match(body, { kind: 'Status', status: 'Failure', reason: 'Conflict', code: 409, details: { name: 'n1', kind: 'nodes' } })
      t.match(body.message, /the object has been modified; please apply your changes to the latest version and try again/)
    })

    await t.test('a patch that changes nothing keeps the resourceVersion', async (t) => {
      const before = (await req('GET', '/api/v1/nodes/n1')).body.metadata.resourceVersion
      const { body } = await req('PATCH', '/api/v1/nodes/n1', { metadata: { labels: { 'kubernetes.io/os': 'linux' } } }, merge)
      t.equal(body.metadata.resourceVersion, before)
    })

    await t.test('a watch from a compacted resourceVersion: 200, then one ERROR event with a 410 Expired Status', async (t) => {
      const server = b.kc.getCurrentCluster()!.server
      const ctx = new RequestContext(`${server}/api/v1/nodes?watch=true&resourceVersion=1`, HttpMethod.GET)
      await b.kc.applySecurityAuthentication(ctx)
      const res = await fetch(ctx.getUrl(), { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher(), signal: AbortSignal.timeout(5000) })
      t.equal(res.status, 200)
      const event = JSON.parse((await res.text()).trim().split('\n')[0])
      t.match(event, { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: /^too old resource version: 1 \(\d+\)$/ } })
    })

    await t.test('a selector that cannot be parsed is a 400 BadRequest', async (t) => {
      const field = await req('GET', '/api/v1/pods?fieldSelector=spec.foo%3Dn1')
      t.match(field, { status: 400, body: { kind: 'Status', reason: 'BadRequest', code: 400, message: 'field label not supported: spec.foo' } })
      const label = await req('GET', '/api/v1/pods?labelSelector=a%3D%3D%3Db')
      t.match(label, { status: 400, body: { kind: 'Status', reason: 'BadRequest', code: 400, message: /^unable to parse requirement/ } })
    })

    await t.test('a Lease renewTime is a MicroTime: milliseconds alone are a 400', async (t) => {
      const lease = (renewTime: string) => ({ metadata: { name: `l${renewTime.length}` }, spec: { holderIdentity: 'me', leaseDurationSeconds: 15, renewTime } })
      const millis = await req('POST', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`, lease('2026-01-02T03:04:05.678Z'))
      t.match(millis, { status: 400, body: { kind: 'Status', reason: 'BadRequest', message: /cannot be handled as a Lease: parsing time/ } })
      const micros = await req('POST', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`, lease('2026-01-02T03:04:05.678000Z'))
      t.equal(micros.status, 201)
      t.equal(micros.body.spec.renewTime, '2026-01-02T03:04:05.678000Z')
    })

    await t.test('deleting an unbound pod removes it at once; a bound one lingers', async (t) => {
      const unbound = await req('DELETE', `/api/v1/namespaces/${ns}/pods/unbound`)
      t.equal(unbound.status, 200)
      t.equal((await req('GET', `/api/v1/namespaces/${ns}/pods/unbound`)).status, 404)
      await createPod(b.clients, { name: 'bound', namespace: ns, node: 'n1', terminationGracePeriodSeconds: 5 })
      const bound = await req('DELETE', `/api/v1/namespaces/${ns}/pods/bound`)
      t.equal(bound.status, 200)
      t.equal(bound.body.kind, 'Pod')
      t.ok(bound.body.metadata.deletionTimestamp)
      t.equal(bound.body.metadata.deletionGracePeriodSeconds, 5)
    })

    await t.test('eviction: 201 when allowed, 429 with the budget named when not', async (t) => {
      const labels = { app: 'web' }
      await createReplicaSet(b.clients, { name: 'web', namespace: ns, labels, replicas: 2 })
      for (const p of ['web-1', 'web-2']) await createPod(b.clients, { name: p, namespace: ns, node: 'n1', labels, owner: { kind: 'ReplicaSet', name: 'web' } })
      await waitPodsRunning(b.clients, ns, ['web-1', 'web-2'])
      await createPDB(b.clients, { name: 'web', namespace: ns, selector: labels, minAvailable: 1 })
      const evict = (pod: string) => req('POST', `/api/v1/namespaces/${ns}/pods/${pod}/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: ns } })
      const ok = await evict('web-1')
      t.equal(ok.status, 201)
      t.match(ok.body, { kind: 'Status', status: 'Success' })
      t.equal((await evict('web-1')).status, 201, 'evicting a pod already terminating succeeds again')
      const refused = await evict('web-2')
      t.equal(refused.status, 429)
      t.same(refused.body, {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
        message: "Cannot evict pod as it would violate the pod's disruption budget.",
        reason: 'TooManyRequests',
        details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget web needs 1 healthy pods and has 1 currently' }] },
        code: 429,
      })
      const missing = await evict('nope')
      t.equal(missing.status, 404)
      t.match(missing.body, { reason: 'NotFound', message: 'pods "nope" not found', details: { name: 'nope', kind: 'pods' } })
    })
  })
}
