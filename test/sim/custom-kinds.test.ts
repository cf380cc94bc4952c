// The product's own custom resources (nodes.stream.space/v1alpha1 NodeMaintenance, NodeDrain,
// NodeIncident), served from the chart's CRD files: by the simulator (src/sim/crds.ts) and by the
// real API server the harness installs them on. The same requests and answers on both backends:
// status subresource, schema defaults and violations, watch, optimistic concurrency, lists, and
// kubectl apply with its default validation, then kubectl get with the printer columns.
import { execFile, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Watch } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import { eachBackend } from '../helpers/backend.js'
import { kubeRequest, waitFor } from '../helpers/fixtures.js'

const GV = '/apis/nodes.stream.space/v1alpha1'
const NM = `${GV}/nodemaintenances`
const ND = `${GV}/nodedrains`
const nm = (name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ({ apiVersion: 'nodes.stream.space/v1alpha1', kind: 'NodeMaintenance', metadata: { name }, spec, ...extra })

/** kubectl.1.33 when on PATH, else kubectl (a dispatcher that picks the release matching /version). */
function findKubectl(): string | undefined {
  for (const bin of ['kubectl.1.33', 'kubectl']) {
    if (spawnSync(bin, ['version', '--client'], { stdio: 'ignore' }).status === 0) return bin
  }
  return undefined
}
// scripts/test.sh refuses to start without kubectl: a missing one fails here, never skips.
const kubectlBin = findKubectl() ?? 'kubectl'

eachBackend(t, 'nodes.stream.space custom resources', async (t, b) => {
  const req = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, type?: string) => kubeRequest(b.kc, method, path, body, type)

  await t.test('create: cluster-scoped, schema defaults applied, status not taken, unknown fields pruned', async (t) => {
    const r = await req('POST', NM, nm('plan-1', { nodes: ['w1', 'w2'], reason: 'kernel upgrade', unknownField: 1 }, { status: { state: 'Done' } }))
    t.equal(r.status, 201, JSON.stringify(r.body))
    t.equal(r.body.metadata.namespace, undefined, 'cluster-scoped')
    t.equal(r.body.metadata.generation, 1)
    t.same(r.body.spec, { nodes: ['w1', 'w2'], reason: 'kernel upgrade', sessionPolicy: 'wait', maxUnavailable: 1 }, 'defaults: sessionPolicy wait, maxUnavailable 1; the unknown field pruned')
    t.equal(r.body.status, undefined, 'create ignores status (status subresource)')
    const d = await req('POST', ND, { apiVersion: 'nodes.stream.space/v1alpha1', kind: 'NodeDrain', metadata: { name: 'w1', labels: { plan: 'plan-1' } }, spec: { requestedBy: 'admin', timeoutSeconds: 300 } })
    t.equal(d.status, 201, JSON.stringify(d.body))
    t.same(d.body.spec, { requestedBy: 'admin', timeoutSeconds: 300 })
    t.equal((await req('GET', `${NM}/plan-1`)).body.spec.reason, 'kernel upgrade')
  })

  await t.test('status written through /status is kept when spec is updated, and spec when status is', async (t) => {
    let cur = (await req('GET', `${NM}/plan-1`)).body
    let r = await req('PUT', `${NM}/plan-1/status`, { ...cur, spec: { ...cur.spec, reason: 'ignored' }, status: { state: 'Running', progress: '0/2', extra: { kept: true } } })
    t.equal(r.status, 200, JSON.stringify(r.body))
    t.same(r.body.status, { state: 'Running', progress: '0/2', extra: { kept: true } }, 'status written; unknown status fields kept (x-kubernetes-preserve-unknown-fields)')
    t.equal(r.body.spec.reason, 'kernel upgrade', 'a status write leaves spec alone')
    t.equal(r.body.metadata.generation, 1, 'no generation bump for status')

    cur = r.body
    r = await req('PUT', `${NM}/plan-1`, { ...cur, spec: { ...cur.spec, reason: 'kernel 6.8' }, status: { state: 'Overwritten', conditions: [{ reason: 'no type, no status' }] } })
    t.equal(r.status, 200, `the body's status (even an invalid one) is not looked at: ${JSON.stringify(r.body)}`)
    t.equal(r.body.spec.reason, 'kernel 6.8')
    t.equal(r.body.status.state, 'Running', 'an update of the main resource keeps the stored status')
    t.equal(r.body.metadata.generation, 2, 'a spec change bumps generation')

    r = await req('PATCH', `${NM}/plan-1`, { spec: { cancel: true }, status: { state: 'Overwritten' } }, 'application/merge-patch+json')
    t.equal(r.status, 200, JSON.stringify(r.body))
    t.equal(r.body.spec.cancel, true)
    t.equal(r.body.status.state, 'Running', 'a merge patch of the main resource keeps the stored status')
    t.equal(r.body.metadata.generation, 3)

    r = await req('PATCH', `${NM}/plan-1/status`, [{ op: 'replace', path: '/status/state', value: 'Cancelled' }, { op: 'replace', path: '/spec/reason', value: 'ignored' }], 'application/json-patch+json')
    t.equal(r.status, 200, JSON.stringify(r.body))
    t.equal(r.body.status.state, 'Cancelled')
    t.equal(r.body.spec.reason, 'kernel 6.8', 'a JSON patch of /status leaves spec alone')
    t.equal(r.body.metadata.generation, 3)

    r = await req('PATCH', `${NM}/plan-1/status`, { status: { conditions: [{ type: 'Ready' }] } }, 'application/merge-patch+json')
    t.equal(r.status, 422, 'status is validated against the schema on /status')
    t.same(r.body.details?.causes, [{ reason: 'FieldValueRequired', message: 'Required value', field: 'status.conditions[0].status' }])

    r = await req('PATCH', `${NM}/plan-1`, { spec: { reason: 'x' } }, 'application/strategic-merge-patch+json')
    t.equal(r.status, 415, 'custom resources take no strategic merge patch')
  })

  await t.test('a PUT to /status with a stale resourceVersion is 409', async (t) => {
    const cur = (await req('GET', `${NM}/plan-1`)).body
    const fresh = await req('PUT', `${NM}/plan-1/status`, { ...cur, status: { ...cur.status, progress: '1/2' } })
    t.equal(fresh.status, 200)
    const stale = await req('PUT', `${NM}/plan-1/status`, { ...cur, status: { ...cur.status, progress: '2/2' } })
    t.equal(stale.status, 409)
    t.equal(stale.body.reason, 'Conflict')
    t.equal(stale.body.message, 'Operation cannot be fulfilled on nodemaintenances.nodes.stream.space "plan-1": the object has been modified; please apply your changes to the latest version and try again')
    t.equal((await req('GET', `${NM}/plan-1`)).body.status.progress, '1/2')
  })

  await t.test('schema violations are 422 naming the field, as the server words them', async (t) => {
    const cases: Array<[string, Record<string, unknown>, { reason: string; field: string; message: string }]> = [
      ['reason missing', { nodes: ['w1'] }, { reason: 'FieldValueRequired', field: 'spec.reason', message: 'Required value' }],
      ['sessionPolicy not in the enum', { reason: 'r', sessionPolicy: 'now' }, { reason: 'FieldValueNotSupported', field: 'spec.sessionPolicy', message: 'Unsupported value: "now": supported values: "wait", "hibernate", "evict"' }],
      ['maxUnavailable 0', { reason: 'r', maxUnavailable: 0 }, { reason: 'FieldValueInvalid', field: 'spec.maxUnavailable', message: 'Invalid value: 0: spec.maxUnavailable in body should be greater than or equal to 1' }],
      ['maxUnavailable not an integer', { reason: 'r', maxUnavailable: 'two' }, { reason: 'FieldValueTypeInvalid', field: 'spec.maxUnavailable', message: 'Invalid value: "string": spec.maxUnavailable in body must be of type integer: "string"' }],
      ['an empty node name', { reason: 'r', nodes: [''] }, { reason: 'FieldValueInvalid', field: 'spec.nodes[0]', message: 'Invalid value: "": spec.nodes[0] in body should be at least 1 chars long' }],
      ['reason too long', { reason: 'r'.repeat(513) }, { reason: 'FieldValueTooLong', field: 'spec.reason', message: 'Too long: may not be more than 512 bytes' }],
      ['too many nodes', { reason: 'r', nodes: Array.from({ length: 1001 }, (_, i) => `n${i}`) }, { reason: 'FieldValueTooMany', field: 'spec.nodes', message: 'Too many: 1001: must have at most 1000 items' }],
      ['startAt not a date-time', { reason: 'r', startAt: 'tomorrow' }, { reason: 'FieldValueTypeInvalid', field: 'spec.startAt', message: 'Invalid value: "tomorrow": spec.startAt in body must be of type date-time: "tomorrow"' }],
      ['drain timeout above the maximum', { reason: 'r', drain: { timeoutSeconds: 90000 } }, { reason: 'FieldValueInvalid', field: 'spec.drain.timeoutSeconds', message: 'Invalid value: 90000: spec.drain.timeoutSeconds in body should be less than or equal to 86400' }],
    ]
    for (const [what, spec, cause] of cases) {
      const r = await req('POST', NM, nm('bad', spec))
      t.equal(r.status, 422, what)
      t.equal(r.body.reason, 'Invalid', what)
      t.same(r.body.details?.causes, [cause], what)
      t.equal(r.body.message, `NodeMaintenance.nodes.stream.space "bad" is invalid: ${cause.field}: ${cause.message}`, what)
    }
    // The same rules on update; nothing is stored.
    const r = await req('PATCH', `${NM}/plan-1`, { spec: { maxUnavailable: 0 } }, 'application/merge-patch+json')
    t.equal(r.status, 422)
    t.same(r.body.details.causes.map((c: any) => c.field), ['spec.maxUnavailable'])
    t.equal((await req('GET', `${NM}/bad`)).status, 404)
    // additionalProperties as a schema, on another kind.
    const inc = await req('POST', `${GV}/nodeincidents`, { apiVersion: 'nodes.stream.space/v1alpha1', kind: 'NodeIncident', metadata: { name: 'i1' }, spec: { node: 'w1', alertname: 'StreamSpaceNodeNotReady', condition: 'Ready', startsAt: '2026-01-02T03:04:05Z', labels: { severity: 5 } } })
    t.equal(inc.status, 422)
    t.same(inc.body.details.causes, [{ reason: 'FieldValueTypeInvalid', message: 'Invalid value: "integer": spec.labels.severity in body must be of type string: "integer"', field: 'spec.labels.severity' }])
  })

  await t.test('fieldValidation=Strict refuses unknown fields (what kubectl apply sends)', async (t) => {
    const r = await req('POST', `${NM}?fieldValidation=Strict`, nm('strict', { reason: 'r', bogus: 1, drain: { alsoBogus: true } }))
    t.equal(r.status, 400)
    t.equal(r.body.reason, 'BadRequest')
    t.equal(r.body.message, 'NodeMaintenance in version "v1alpha1" cannot be handled as a NodeMaintenance: strict decoding error: unknown field "spec.bogus", unknown field "spec.drain.alsoBogus"')
    t.equal((await req('POST', `${NM}?fieldValidation=Strict`, nm('strict', { reason: 'r' }))).status, 201)
  })

  await t.test('lists: labelSelector, fieldSelector metadata.name, limit and continue', async (t) => {
    for (const name of ['w2', 'w3']) {
      t.equal((await req('POST', ND, { apiVersion: 'nodes.stream.space/v1alpha1', kind: 'NodeDrain', metadata: { name, labels: { plan: 'plan-2' } }, spec: {} })).status, 201)
    }
    const names = (r: { body: any }) => r.body.items.map((o: any) => o.metadata.name)
    t.same(names(await req('GET', `${ND}?labelSelector=plan%3Dplan-2`)), ['w2', 'w3'])
    t.same(names(await req('GET', `${ND}?fieldSelector=metadata.name%3Dw3`)), ['w3'])
    const first = await req('GET', `${ND}?limit=2`)
    t.same(names(first), ['w1', 'w2'])
    t.equal(first.body.metadata.remainingItemCount, 1)
    t.same(names(await req('GET', `${ND}?limit=2&continue=${encodeURIComponent(first.body.metadata.continue)}`)), ['w3'])
  })

  await t.test('a watch sees ADDED, MODIFIED and DELETED', async (t) => {
    const list = await req('GET', ND)
    const seen: string[] = []
    const ctrl = await new Watch(b.kc).watch(ND, { resourceVersion: list.body.metadata.resourceVersion }, (type, obj) => seen.push(`${type} ${obj.metadata.name}`), () => {})
    t.teardown(() => ctrl.abort())
    t.equal((await req('POST', ND, { apiVersion: 'nodes.stream.space/v1alpha1', kind: 'NodeDrain', metadata: { name: 'w9' }, spec: {} })).status, 201)
    t.equal((await req('PATCH', `${ND}/w9/status`, { status: { phase: 'Draining' } }, 'application/merge-patch+json')).status, 200)
    t.equal((await req('DELETE', `${ND}/w9`)).status, 200)
    await waitFor(() => seen.length >= 3, 10_000, 'three watch events')
    t.same(seen, ['ADDED w9', 'MODIFIED w9', 'DELETED w9'])
  })

  await t.test('/openapi/v3 documents the kinds as kubectl reads them', async (t) => {
    const root = await req('GET', '/openapi/v3')
    const url: string = root.body.paths?.['apis/nodes.stream.space/v1alpha1']?.serverRelativeURL
    t.match(url, /^\/openapi\/v3\/apis\/nodes\.stream\.space\/v1alpha1\?hash=[0-9A-F]+$/)
    const doc = (await req('GET', url)).body
    t.equal(doc.openapi, '3.0.0')
    const patch = doc.paths[`${NM}/{name}`].patch
    t.same(patch['x-kubernetes-group-version-kind'], { group: 'nodes.stream.space', version: 'v1alpha1', kind: 'NodeMaintenance' })
    t.ok(patch.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query'), 'PATCH takes fieldValidation: kubectl leaves validation to the server')
    t.ok(patch.requestBody.content['application/merge-patch+json'])
    t.notOk(patch.requestBody.content['application/strategic-merge-patch+json'], 'no strategic merge patch for a custom resource')
    t.ok(doc.paths[`${NM}/{name}/status`].put)
    const schema = doc.components.schemas['space.stream.nodes.v1alpha1.NodeMaintenance']
    t.same(schema['x-kubernetes-group-version-kind'], [{ group: 'nodes.stream.space', kind: 'NodeMaintenance', version: 'v1alpha1' }])
    t.same(schema.properties.spec.properties.sessionPolicy, { type: 'string', enum: ['wait', 'hibernate', 'evict'], default: 'wait' })
    t.match(schema.properties.metadata, { allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }] })
    t.ok(doc.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'])
    const core = (await req('GET', root.body.paths['api/v1'].serverRelativeURL)).body
    t.ok(core.paths['/api/v1/nodes/{name}'].patch.requestBody.content['application/strategic-merge-patch+json'], 'built-in kinds take strategic merge patch')
  })

  await t.test('kubectl apply with its default validation, then kubectl get with the printer columns', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'custom-kinds-kubectl-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const kubectl = (...args: string[]) => new Promise<string>((resolve, reject) => {
      execFile(kubectlBin, ['--kubeconfig', b.kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr || err.message}`))
        else resolve(stdout)
      })
    })
    const file = join(dir, 'plan.yaml')
    const yaml = (reason: string) => ['apiVersion: nodes.stream.space/v1alpha1', 'kind: NodeMaintenance', 'metadata:', '  name: plan-kubectl', 'spec:', '  nodes: [w1]', `  reason: ${reason}`, ''].join('\n')
    await writeFile(file, yaml('rolling kernel update'))
    t.match(await kubectl('apply', '-f', file), /nodemaintenance\.nodes\.stream\.space\/plan-kubectl created/)
    await writeFile(file, yaml('kernel 6.8'))
    t.match(await kubectl('apply', '-f', file), /nodemaintenance\.nodes\.stream\.space\/plan-kubectl configured/)
    const stored = (await req('GET', `${NM}/plan-kubectl`)).body
    t.equal(stored.spec.reason, 'kernel 6.8')
    t.equal(stored.spec.sessionPolicy, 'wait')

    // A built-in kind through the same path (kubectl's own types make its patch).
    const cm = (v: string) => ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: applied', '  namespace: default', 'data:', `  key: ${v}`, ''].join('\n')
    await writeFile(join(dir, 'cm.yaml'), cm('one'))
    t.match(await kubectl('apply', '-f', join(dir, 'cm.yaml')), /configmap\/applied created/)
    await writeFile(join(dir, 'cm.yaml'), cm('two'))
    t.match(await kubectl('apply', '-f', join(dir, 'cm.yaml')), /configmap\/applied configured/)
    t.equal(await kubectl('get', 'configmap', 'applied', '-n', 'default', '-o', 'jsonpath={.data.key}'), 'two')

    await writeFile(join(dir, 'bad.yaml'), ['apiVersion: nodes.stream.space/v1alpha1', 'kind: NodeMaintenance', 'metadata:', '  name: plan-bad', 'spec:', '  reason: r', '  bogus: 1', ''].join('\n'))
    await t.rejects(kubectl('apply', '-f', join(dir, 'bad.yaml')), /unknown field "spec.bogus"/, 'the server refuses an unknown field (fieldValidation=Strict)')

    t.equal((await req('PATCH', `${NM}/plan-kubectl/status`, { status: { state: 'Running', progress: '0/1', message: 'waiting for sessions' } }, 'application/merge-patch+json')).status, 200)
    const out = await kubectl('get', 'nodemaintenances,nodedrains')
    t.match(out, /NAME\s+STATE\s+NODES\s+REASON\s+AGE\n/)
    t.match(out, /nodemaintenance\.nodes\.stream\.space\/plan-kubectl\s+Running\s+0\/1\s+kernel 6\.8\s+\d+s/)
    t.match(out, /NAME\s+PHASE\s+EVICTED\s+REQUESTED-BY\s+AGE\n/)
    t.match(out, /nodedrain\.nodes\.stream\.space\/w1\s+admin\s+\d+s/, 'missing values are empty cells')
    t.notMatch(out, /MESSAGE/, 'priority 1 columns only with -o wide')
    const wide = await kubectl('get', 'nm', 'plan-kubectl', '-o', 'wide')
    t.match(wide, /NAME\s+STATE\s+NODES\s+REASON\s+AGE\s+MESSAGE\n/)
    t.match(wide, /plan-kubectl\s+Running\s+0\/1\s+kernel 6\.8\s+\d+s\s+waiting for sessions/)
  })
})

t.test('sim: /openapi/v2 as JSON, not as protobuf', async (t) => {
  const sim = await startSim({ nodes: 0 })
  t.teardown(() => sim.close())
  const json = await fetch(`${sim.url}/openapi/v2`, { headers: { accept: 'application/json' } })
  t.equal(json.status, 200)
  const doc: any = await json.json()
  t.equal(doc.swagger, '2.0')
  const patch = doc.paths[`${NM}/{name}`].patch
  t.same(patch.consumes, ['application/json-patch+json', 'application/merge-patch+json'])
  t.ok(patch.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query'))
  t.match(doc.definitions['space.stream.nodes.v1alpha1.NodeMaintenance'].properties.metadata, { allOf: [{ $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }] })
  const pb = await fetch(`${sim.url}/openapi/v2`, { headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } })
  t.equal(pb.status, 406, 'kubectl asks for protobuf only; it does without')
})
