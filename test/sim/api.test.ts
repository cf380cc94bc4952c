// The sim's Kubernetes API semantics through client-node 2.0.1, as the service uses them.
import { ApiException, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node'
import t from 'tap'
import { startSim } from '../../src/sim/index.js'
import { eventually, pod, raw, readyNode, simWithClients, sleep } from './helpers.js'

function statusOf(err: unknown): { code: number; body: any } {
  if (!(err instanceof ApiException)) throw err
  const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body
  return { code: err.code, body }
}

async function rejects(p: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await p
  } catch (err) {
    return statusOf(err)
  }
  throw new Error('expected the request to fail')
}

t.test('discovery and version', async (t) => {
  const { sim } = await simWithClients(t)
  const version = await raw(sim, '/version')
  t.match(version.body.gitVersion, /^v1\.33\./)
  const core = await raw(sim, '/api/v1')
  const names = core.body.resources.map((r: any) => r.name)
  for (const n of ['nodes', 'nodes/status', 'pods', 'pods/eviction', 'pods/status', 'namespaces', 'events', 'configmaps']) t.ok(names.includes(n), n)
  const eviction = core.body.resources.find((r: any) => r.name === 'pods/eviction')
  t.match(eviction, { group: 'policy', version: 'v1', kind: 'Eviction' })
  t.match(core.body.resources.find((r: any) => r.name === 'nodes'), { shortNames: ['no'], namespaced: false, kind: 'Node' })
  const groups = (await raw(sim, '/apis')).body.groups.map((g: any) => g.name)
  t.same(groups.sort(), ['apps', 'cluster.x-k8s.io', 'coordination.k8s.io', 'metrics.k8s.io', 'nodes.stream.space', 'policy', 'scheduling.k8s.io', 'stream.space'])
  t.equal((await raw(sim, '/apis/metrics.k8s.io/v1beta1')).status, 200)
  t.equal((await raw(sim, '/nope')).body.reason, 'NotFound')
})

t.test('metrics off removes metrics.k8s.io', async (t) => {
  const { sim } = await simWithClients(t, { nodes: 1, metrics: false })
  const groups = (await raw(sim, '/apis')).body.groups.map((g: any) => g.name)
  t.notOk(groups.includes('metrics.k8s.io'))
  t.equal((await raw(sim, '/apis/metrics.k8s.io/v1beta1/nodes')).status, 404)
})

t.test('metrics for ready nodes and running pods, deterministic', async (t) => {
  const { sim, core } = await simWithClients(t)
  await core.createNode({ body: readyNode('m-1') })
  await core.createNode({ body: { ...readyNode('m-2'), status: { ...readyNode('m-2').status, conditions: [{ type: 'Ready', status: 'False' }] } } })
  await core.createNamespacedPod({ namespace: 'default', body: pod('p1', 'm-1') })
  const first = await raw(sim, '/apis/metrics.k8s.io/v1beta1/nodes')
  t.same(first.body.items.map((i: any) => i.metadata.name), ['m-1'])
  t.match(first.body.items[0].usage, { cpu: /^\d+n$/, memory: /^\d+Ki$/ })
  t.match(first.body.items[0], { window: /s$/, timestamp: String })
  const again = await raw(sim, '/apis/metrics.k8s.io/v1beta1/nodes')
  t.same(again.body.items[0].usage, first.body.items[0].usage)
  const pods = await raw(sim, '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods')
  t.same(pods.body.items.map((i: any) => i.metadata.name), ['p1'])
  t.equal((await raw(sim, '/apis/metrics.k8s.io/v1beta1/nodes/m-2')).status, 404)
})

t.test('nodes keep status on create; pods on a node run at once', async (t) => {
  const { core } = await simWithClients(t)
  const node = await core.createNode({ body: readyNode('n-1') })
  t.equal(node.status?.conditions?.[0].type, 'Ready')
  t.equal(node.status?.allocatable?.cpu, '3900m')
  const p = await core.createNamespacedPod({ namespace: 'default', body: pod('p1', 'n-1') })
  t.equal(p.status?.phase, 'Running')
  t.ok(p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
  t.ok(p.status?.podIP)
  const pending = await core.createNamespacedPod({ namespace: 'default', body: pod('p2', undefined) })
  t.equal(pending.status?.phase, 'Pending')
  const err = await rejects(core.readNode({ name: 'missing' }))
  t.equal(err.code, 404)
  t.match(err.body, { kind: 'Status', status: 'Failure', reason: 'NotFound', message: 'nodes "missing" not found', details: { name: 'missing', kind: 'nodes' } })
  const dup = await rejects(core.createNode({ body: readyNode('n-1') }))
  t.equal(dup.body.reason, 'AlreadyExists')
  const noNs = await rejects(core.createNamespacedPod({ namespace: 'nowhere', body: pod('p3', 'n-1') }))
  t.equal(noNs.code, 404)
})

t.test('list: limit/continue, selectors, and expired continue tokens', async (t) => {
  const { sim, core } = await simWithClients(t)
  for (let i = 0; i < 7; i++) await core.createNode({ body: readyNode(`l-${i}`, { pool: i % 2 ? 'odd' : 'even' }) })
  for (let i = 0; i < 5; i++) await core.createNamespacedPod({ namespace: 'default', body: pod(`p-${i}`, i < 3 ? 'l-0' : 'l-1', { i: String(i) }) })
  const seen: string[] = []
  let cont: string | undefined
  let pages = 0
  do {
    const page = await core.listNode({ limit: 3, _continue: cont })
    pages++
    seen.push(...page.items.map((n) => n.metadata!.name!))
    cont = page.metadata?._continue
    if (cont) t.equal(page.metadata?.remainingItemCount, 7 - seen.length)
  } while (cont)
  t.equal(pages, 3)
  t.same(seen, ['l-0', 'l-1', 'l-2', 'l-3', 'l-4', 'l-5', 'l-6'])
  t.same((await core.listNode({ labelSelector: 'pool=odd' })).items.map((n) => n.metadata!.name), ['l-1', 'l-3', 'l-5'])
  t.same((await core.listNode({ labelSelector: 'pool in (odd),pool!=even' })).items.length, 3)
  t.same((await core.listNode({ labelSelector: '!pool' })).items.length, 0)
  t.same((await core.listNode({ fieldSelector: 'metadata.name=l-4' })).items.map((n) => n.metadata!.name), ['l-4'])
  const onNode = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=l-0' })
  t.same(onNode.items.map((p) => p.metadata!.name), ['p-0', 'p-1', 'p-2'])
  const paged = await core.listNamespacedPod({ namespace: 'default', fieldSelector: 'spec.nodeName=l-0', limit: 2 })
  t.equal(paged.items.length, 2)
  const rest = await core.listNamespacedPod({ namespace: 'default', fieldSelector: 'spec.nodeName=l-0', limit: 2, _continue: paged.metadata!._continue })
  t.same(rest.items.map((p) => p.metadata!.name), ['p-2'])
  t.equal((await core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Running' })).items.length, 5)
  t.equal((await core.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Running' })).items.length, 0)
  t.equal((await core.listNamespacedPod({ namespace: 'kube-system' })).items.length, 0)
  const badField = await rejects(core.listPodForAllNamespaces({ fieldSelector: 'spec.foo=n1' }))
  t.match(badField, { code: 400, body: { reason: 'BadRequest', message: 'field label not supported: spec.foo' } })
  const badLabel = await rejects(core.listNode({ labelSelector: 'a===b' }))
  t.match(badLabel, { code: 400, body: { reason: 'BadRequest', message: /^unable to parse requirement/ } })
  // A token from before the kept history is 410 Expired.
  const stale = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 1, start: 'l-0' })).toString('base64')
  sim.cluster.store.compactAll()
  const expired = await rejects(core.listNode({ limit: 2, _continue: stale }))
  t.equal(expired.code, 410)
  t.equal(expired.body.reason, 'Expired')
})

t.test('optimistic concurrency: replace with a stale resourceVersion is 409', async (t) => {
  const { core } = await simWithClients(t)
  const created = await core.createNode({ body: readyNode('c-1') })
  const labelled = await core.replaceNode({ name: 'c-1', body: { ...created, metadata: { ...created.metadata, labels: { a: '1' } } } })
  t.not(labelled.metadata?.resourceVersion, created.metadata?.resourceVersion)
  t.same(labelled.status, created.status, 'status is kept by a main-resource update')
  const err = await rejects(core.replaceNode({ name: 'c-1', body: { ...created, metadata: { ...created.metadata, labels: { a: '2' } } } }))
  t.equal(err.code, 409)
  t.equal(err.body.reason, 'Conflict')
  t.equal(err.body.message, 'Operation cannot be fulfilled on nodes "c-1": the object has been modified; please apply your changes to the latest version and try again')
  // A merge patch that carries a stale resourceVersion is a failed precondition too.
  const patchErr = await rejects(core.patchNode({ name: 'c-1', body: { metadata: { resourceVersion: created.metadata!.resourceVersion, labels: { b: '1' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch)))
  t.equal(patchErr.code, 409)
  // An update that changes nothing keeps the resourceVersion.
  const same = await core.replaceNode({ name: 'c-1', body: labelled })
  t.equal(same.metadata?.resourceVersion, labelled.metadata?.resourceVersion)
})

t.test('patch types on nodes', async (t) => {
  const { core } = await simWithClients(t)
  await core.createNode({ body: { ...readyNode('p-1', { keep: 'yes', drop: 'me' }), spec: { taints: [{ key: 'a', value: '1', effect: 'NoSchedule' }] } } })
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
  const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)
  const json = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)

  let n = await core.patchNode({ name: 'p-1', body: { metadata: { labels: { drop: null, added: 'x' } }, spec: { unschedulable: true } } }, merge)
  t.same(n.metadata?.labels, { 'kubernetes.io/hostname': 'p-1', keep: 'yes', added: 'x' })
  t.equal(n.spec?.unschedulable, true)
  n = await core.patchNode({ name: 'p-1', body: { spec: { unschedulable: null } } }, merge)
  t.equal(n.spec?.unschedulable, undefined)

  // kubectl taint sends the whole new list: taints are an atomic list, replaced.
  n = await core.patchNode({ name: 'p-1', body: { spec: { taints: [{ key: 'b', effect: 'NoExecute' }] } } }, smp)
  t.same(n.spec?.taints, [{ key: 'b', effect: 'NoExecute' }])
  // No merge by key for an atomic list: a {$patch: delete} item is an invalid taint, 422 as on kube-apiserver.
  const directive = await rejects(core.patchNode({ name: 'p-1', body: { spec: { taints: [{ key: 'b', $patch: 'delete' }] } } }, smp))
  t.match(directive, { code: 422, body: { reason: 'Invalid', message: 'Node "p-1" is invalid: metadata.taints[0].effect: Required value' } })
  const dup = await rejects(core.patchNode({ name: 'p-1', body: { spec: { taints: [{ key: 'b', effect: 'NoSchedule' }, { key: 'b', effect: 'NoSchedule' }] } } }, smp))
  t.equal(dup.code, 422)
  n = await core.patchNode({ name: 'p-1', body: { spec: { taints: [{ key: 'c', value: '3', effect: 'NoSchedule' }] } } }, smp)
  t.same(n.spec?.taints, [{ key: 'c', value: '3', effect: 'NoSchedule' }])
  n = await core.patchNode({ name: 'p-1', body: { metadata: { labels: { added: null, smp: 'y' }, annotations: { note: 'n' } } } }, smp)
  t.same(n.metadata?.labels, { 'kubernetes.io/hostname': 'p-1', keep: 'yes', smp: 'y' })
  t.same(n.metadata?.annotations, { note: 'n' })
  n = await core.patchNode({ name: 'p-1', body: { spec: { $retainKeys: ['unschedulable'], unschedulable: true } } }, smp)
  t.same(n.spec, { unschedulable: true })

  n = await core.patchNode({ name: 'p-1', body: [
    { op: 'test', path: '/metadata/labels/keep', value: 'yes' },
    { op: 'add', path: '/metadata/labels/team~1name', value: 'blue' },
    { op: 'add', path: '/spec/taints', value: [{ key: 'j', effect: 'NoSchedule' }] },
    { op: 'replace', path: '/spec/unschedulable', value: false },
    { op: 'remove', path: '/metadata/labels/smp' },
  ] }, json)
  t.equal(n.metadata?.labels?.['team/name'], 'blue')
  t.equal(n.metadata?.labels?.smp, undefined)
  t.same(n.spec?.taints, [{ key: 'j', effect: 'NoSchedule' }])
  t.equal(n.spec?.unschedulable, false)
  const failed = await rejects(core.patchNode({ name: 'p-1', body: [{ op: 'test', path: '/metadata/labels/keep', value: 'no' }] }, json))
  t.equal(failed.code, 422)

  // Status patches go through nodes/status only.
  const st = await core.patchNodeStatus({ name: 'p-1', body: { status: { allocatable: { cpu: '1' } } } }, merge)
  t.equal(st.status?.allocatable?.cpu, '1')
  const mainPatch = await core.patchNode({ name: 'p-1', body: { status: { allocatable: { cpu: '2' } } } }, merge)
  t.equal(mainPatch.status?.allocatable?.cpu, '1', 'main resource patch ignores status')
})

t.test('eviction: PDB allows, blocks with 429, and two PDBs are 500', async (t) => {
  const { sim, core, policy } = await simWithClients(t, { nodes: 0, podTerminateSeconds: 0 })
  await core.createNode({ body: readyNode('e-1') })
  for (const name of ['w-1', 'w-2', 'w-3']) await core.createNamespacedPod({ namespace: 'default', body: pod(name, 'e-1', { app: 'web' }) })
  await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: { metadata: { name: 'web' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } } } })
  const pdb = await eventually(async () => {
    const p = await policy.readNamespacedPodDisruptionBudget({ namespace: 'default', name: 'web' })
    return p.status?.expectedPods === 3 ? p : undefined
  })
  t.match(pdb.status, { currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1, expectedPods: 3, observedGeneration: 1 })
  t.equal(pdb.status?.conditions?.[0].type, 'DisruptionAllowed')

  const evict = (name: string) => core.createNamespacedPodEviction({ namespace: 'default', name, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'default' } } })
  await evict('w-1')
  await eventually(async () => (await core.listNamespacedPod({ namespace: 'default' })).items.length === 2)
  const blocked = await rejects(evict('w-2'))
  t.equal(blocked.code, 429)
  t.match(blocked.body, {
    reason: 'TooManyRequests',
    message: "Cannot evict pod as it would violate the pod's disruption budget.",
    details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget web needs 2 healthy pods and has 2 currently' }] },
  })
  // policy/v1beta1 Eviction bodies go to the same subresource.
  const beta = await raw(sim, '/api/v1/namespaces/default/pods/w-2/eviction', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ apiVersion: 'policy/v1beta1', kind: 'Eviction', metadata: { name: 'w-2' } }),
  })
  t.equal(beta.status, 429)

  await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: { metadata: { name: 'web2' }, spec: { maxUnavailable: '50%', selector: { matchLabels: { app: 'web' } } } } })
  const two = await rejects(evict('w-2'))
  t.equal(two.code, 500)
  t.equal(two.body.message, 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.')

  // A pod that is not running is evicted without a budget check.
  await core.createNamespacedPod({ namespace: 'default', body: pod('w-pending', undefined, { app: 'web' }) })
  await evict('w-pending')
  const missing = await rejects(evict('nope'))
  t.equal(missing.code, 404)
})

t.test('graceful pod deletion', async (t) => {
  const { core } = await simWithClients(t)
  await core.createNode({ body: readyNode('g-1') })
  await core.createNamespacedPod({ namespace: 'default', body: pod('slow', 'g-1', {}, 1) })
  const deleting = await core.deleteNamespacedPod({ namespace: 'default', name: 'slow' })
  t.ok(deleting.metadata?.deletionTimestamp, 'deletionTimestamp set')
  t.equal(deleting.metadata?.deletionGracePeriodSeconds, 1)
  t.ok(await core.readNamespacedPod({ namespace: 'default', name: 'slow' }), 'still there while terminating')
  const started = Date.now()
  await eventually(async () => (await core.listNamespacedPod({ namespace: 'default' })).items.length === 0, 4000)
  t.ok(Date.now() - started >= 700, 'gone after its grace period')

  await core.createNamespacedPod({ namespace: 'default', body: pod('now', 'g-1', {}, 30) })
  await core.deleteNamespacedPod({ namespace: 'default', name: 'now', gracePeriodSeconds: 0 })
  const err = await rejects(core.readNamespacedPod({ namespace: 'default', name: 'now' }))
  t.equal(err.code, 404, 'gracePeriodSeconds=0 removes at once')
})

t.test('pod-terminate-seconds overrides grace periods', async (t) => {
  const { core } = await simWithClients(t, { nodes: 0, podTerminateSeconds: 0 })
  await core.createNode({ body: readyNode('o-1') })
  await core.createNamespacedPod({ namespace: 'default', body: pod('p', 'o-1', {}, 600) })
  await core.deleteNamespacedPod({ namespace: 'default', name: 'p' })
  await eventually(async () => (await core.listNamespacedPod({ namespace: 'default' })).items.length === 0, 2000)
  t.pass('deleted well before 600 s')
})

t.test('watch: events, selectors, resume from resourceVersion, 410 for too old', async (t) => {
  const { sim, core, watch } = await simWithClients(t)
  const list = await core.listNode({})
  const events: string[] = []
  const ctrl = await watch.watch('/api/v1/nodes', { resourceVersion: list.metadata!.resourceVersion, labelSelector: 'w=yes' },
    (type, obj) => events.push(`${type} ${obj.metadata.name}`), () => {})
  t.teardown(() => ctrl.abort())
  await core.createNode({ body: readyNode('w-1', { w: 'yes' }) })
  await core.createNode({ body: readyNode('w-2') })
  await core.patchNode({ name: 'w-2', body: { metadata: { labels: { w: 'yes' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
  await core.patchNode({ name: 'w-1', body: { metadata: { labels: { w: 'no' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
  await core.deleteNode({ name: 'w-2' })
  await eventually(() => events.length >= 4)
  t.same(events, ['ADDED w-1', 'ADDED w-2', 'DELETED w-1', 'DELETED w-2'], 'objects entering and leaving the selector are ADDED and DELETED')

  // Resume: replay what happened after a resourceVersion.
  const created = await core.createNode({ body: readyNode('w-3') })
  await core.patchNode({ name: 'w-3', body: { metadata: { labels: { x: '1' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
  const replay: string[] = []
  const ctrl2 = await watch.watch('/api/v1/nodes', { resourceVersion: created.metadata!.resourceVersion }, (type, obj) => replay.push(`${type} ${obj.metadata.name} ${obj.metadata.labels.x}`), () => {})
  t.teardown(() => ctrl2.abort())
  await eventually(() => replay.length >= 1)
  t.same(replay, ['MODIFIED w-3 1'])

  // Too old: an ERROR event carrying a 410 Status, then the stream ends.
  sim.cluster.store.compactAll()
  const old: any[] = []
  let ended = false
  await watch.watch('/api/v1/nodes', { resourceVersion: '1' }, (type, obj) => old.push({ type, obj }), () => { ended = true })
  await eventually(() => ended)
  t.equal(old[0].type, 'ERROR')
  t.match(old[0].obj, { kind: 'Status', code: 410, reason: 'Expired', message: /too old resource version/ })

  // Without a resourceVersion the watch starts with the current objects.
  const initial: string[] = []
  const ctrl3 = await watch.watch('/api/v1/pods', { fieldSelector: 'spec.nodeName=w-3' }, (type, obj) => initial.push(`${type} ${obj.metadata.name}`), () => {})
  t.teardown(() => ctrl3.abort())
  await core.createNamespacedPod({ namespace: 'default', body: pod('on-w3', 'w-3') })
  await core.createNamespacedPod({ namespace: 'default', body: pod('elsewhere', 'w-1') })
  await eventually(() => initial.length >= 1)
  await sleep(50)
  t.same(initial, ['ADDED on-w3'])
})

t.test('watch bookmarks and timeoutSeconds', async (t) => {
  const { core, watch } = await simWithClients(t, { nodes: 0, bookmarkSeconds: 0.2 })
  const list = await core.listNode({})
  const types: string[] = []
  let ended = false
  await watch.watch('/api/v1/nodes', { resourceVersion: list.metadata!.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 1 },
    (type) => types.push(type), () => { ended = true })
  await eventually(() => ended, 3000)
  t.ok(types.includes('BOOKMARK'))
})

t.test('watch bookmark interval is configurable; the default is 15 s', async (t) => {
  // Bookmarks carry the current resourceVersion and arrive once per bookmarkSeconds.
  const fast = await simWithClients(t, { nodes: 0, bookmarkSeconds: 0.3 })
  const times: number[] = []
  const rvs: string[] = []
  const started = Date.now()
  let ended = false
  await fast.watch.watch('/api/v1/nodes', { allowWatchBookmarks: true, timeoutSeconds: 2 }, (type, obj) => {
    if (type === 'BOOKMARK') {
      times.push(Date.now() - started)
      rvs.push(obj.metadata.resourceVersion)
    }
  }, () => { ended = true })
  await eventually(() => ended, 5000)
  t.ok(times.length >= 4 && times.length <= 7, `bookmarks in 2 s at 0.3 s: ${times.length}`)
  t.ok(times[0] >= 250, `first bookmark after one period (${times[0]} ms)`)
  t.ok(rvs.every((rv) => /^\d+$/.test(rv)))
  // Without bookmarkSeconds (and with a real server's 60 s) nothing arrives within 2 s; no bookmarks without allowWatchBookmarks.
  for (const opts of [{ nodes: 0 }, { nodes: 0, bookmarkSeconds: 60 }]) {
    const slow = await simWithClients(t, opts)
    const types: string[] = []
    let done = false
    await slow.watch.watch('/api/v1/nodes', { allowWatchBookmarks: true, timeoutSeconds: 2 }, (type) => types.push(type), () => { done = true })
    await eventually(() => done, 5000)
    t.same(types, [], `no bookmark within 2 s with ${JSON.stringify(opts)}`)
  }
  const none = await simWithClients(t, { nodes: 0, bookmarkSeconds: 0.1 })
  const types: string[] = []
  let done = false
  await none.watch.watch('/api/v1/nodes', { timeoutSeconds: 1 }, (type) => types.push(type), () => { done = true })
  await eventually(() => done, 5000)
  t.same(types, [], 'no bookmarks unless asked for')
  await t.rejects(startSim({ nodes: 0, bookmarkSeconds: 0 }), /bookmarkSeconds must be > 0/)
})

t.test('Table output for kubectl', async (t) => {
  const { sim, core } = await simWithClients(t)
  await core.createNode({ body: { ...readyNode('t-1', { 'node-role.kubernetes.io/control-plane': '' }), spec: { unschedulable: true } } })
  await core.createNamespacedPod({ namespace: 'default', body: pod('tp', 't-1') })
  const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'
  const nodes = await raw(sim, '/api/v1/nodes', { headers: { Accept: accept } })
  t.equal(nodes.body.kind, 'Table')
  t.same(nodes.body.columnDefinitions.filter((c: any) => c.priority === 0).map((c: any) => c.name), ['Name', 'Status', 'Roles', 'Age', 'Version'])
  t.match(nodes.body.rows[0].cells, ['t-1', 'Ready,SchedulingDisabled', 'control-plane', /^\d+s$/, ''])
  t.equal(nodes.body.rows[0].object.kind, 'PartialObjectMetadata')
  const pods = await raw(sim, '/api/v1/namespaces/default/pods', { headers: { Accept: accept } })
  t.match(pods.body.rows[0].cells, ['tp', '1/1', 'Running', '0'])
})

t.test('faults: errors, conflicts, latency, dropped watches, suspend', async (t) => {
  const { sim, core, watch } = await simWithClients(t)
  await core.createNode({ body: readyNode('f-1') })
  sim.faults.errorRate = 0.5
  let failures = 0
  for (let i = 0; i < 10; i++) {
    try {
      await core.readNode({ name: 'f-1' })
    } catch (err) {
      const s = statusOf(err)
      t.equal(s.code, 503)
      t.equal(s.body.kind, 'Status')
      failures++
    }
  }
  t.equal(failures, 5)
  sim.faults = { ...sim.faults, errorRate: 0, conflictRate: 1 }
  const c = await rejects(core.patchNode({ name: 'f-1', body: { metadata: { labels: { a: 'b' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)))
  t.equal(c.code, 409)
  sim.faults.conflictRate = 0
  sim.faults.latencyMs = 150
  const started = Date.now()
  await core.readNode({ name: 'f-1' })
  t.ok(Date.now() - started >= 140)
  sim.faults.latencyMs = 0

  // dropWatchMs is live: it closes a watch that was already open.
  let dropped = false
  const seenTypes: string[] = []
  await watch.watch('/api/v1/nodes', {}, (type) => { seenTypes.push(type) }, () => { dropped = true })
  // Alive without dropWatchMs: it delivers a change made after it opened.
  await core.patchNode({ name: 'f-1', body: { metadata: { labels: { alive: 'yes' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
  await eventually(() => seenTypes.includes('MODIFIED'), 2000)
  t.notOk(dropped, 'not dropped while dropWatchMs is 0')
  sim.faults.dropWatchMs = 200
  await eventually(() => dropped, 2000)
  sim.faults.dropWatchMs = 0

  sim.requests.reset()
  await core.listNode({})
  t.equal(sim.requests.count((r) => r.verb === 'list' && r.resource === 'nodes'), 1)

  let watchEnded = false
  await watch.watch('/api/v1/nodes', {}, () => {}, () => { watchEnded = true })
  await sleep(50)
  sim.suspend()
  await eventually(() => watchEnded, 2000)
  await t.rejects(fetch(sim.url + '/version'))
  sim.resume()
  t.equal((await core.readNode({ name: 'f-1' })).metadata?.name, 'f-1')

  await core.createNamespacedPod({ namespace: 'default', body: pod('on-f1', 'f-1') })
  sim.setNodeReady('f-1', false)
  const n = await core.readNode({ name: 'f-1' })
  t.equal(n.status?.conditions?.find((x) => x.type === 'Ready')?.status, 'False')
  const podReady = async (name: string) => (await core.readNamespacedPod({ namespace: 'default', name })).status?.conditions?.find((x) => x.type === 'Ready')?.status
  t.equal(await podReady('on-f1'), 'True', 'a kubelet reporting NotReady leaves its pods as they are (as the real controller does)')
  sim.setNodeReady('f-1', 'Unknown')
  t.same((await core.readNode({ name: 'f-1' })).status?.conditions?.map((x) => `${x.type}=${x.status}`), ['Ready=Unknown'])
  const notReady = await core.readNamespacedPod({ namespace: 'default', name: 'on-f1' })
  t.equal(notReady.status?.conditions?.find((x) => x.type === 'Ready')?.status, 'False', 'pods on a node found silent are marked not ready')
  t.equal(notReady.status?.phase, 'Running')
  sim.setNodeReady('f-1', true)
  const back = await core.readNamespacedPod({ namespace: 'default', name: 'on-f1' })
  t.equal(back.status?.conditions?.find((x) => x.type === 'Ready')?.status, 'True')
})

t.test('core/v1 Events live in their object\'s namespace', async (t) => {
  const { core } = await simWithClients(t)
  const event = (ns: string, involvedNs?: string) => ({
    metadata: { name: `e-${ns}-${involvedNs ?? 'none'}` },
    involvedObject: { kind: 'Node', name: 'n1', ...(involvedNs ? { namespace: involvedNs } : {}) },
    reason: 'Test', message: 'hello', type: 'Normal',
  })
  await core.createNamespacedEvent({ namespace: 'default', body: event('default') })
  const wrong = await rejects(core.createNamespacedEvent({ namespace: 'streamspace', body: event('streamspace') }))
  t.equal(wrong.code, 422)
  t.equal(wrong.body.reason, 'Invalid')
  await core.createNamespacedEvent({ namespace: 'streamspace', body: event('streamspace', 'streamspace') })
  t.equal((await core.listEventForAllNamespaces({ fieldSelector: 'involvedObject.name=n1' })).items.length, 2)
})

t.test('heartbeats renew Ready nodes at the configured rate', async (t) => {
  const { sim, watch, core } = await simWithClients(t, { nodes: 10, heartbeatSeconds: 1 })
  sim.setNodeReady('node-00003', false)
  const list = await core.listNode({})
  const modified = new Map<string, number>()
  const ctrl = await watch.watch('/api/v1/nodes', { resourceVersion: list.metadata!.resourceVersion }, (type, obj) => {
    if (type === 'MODIFIED') modified.set(obj.metadata.name, (modified.get(obj.metadata.name) ?? 0) + 1)
  }, () => {})
  t.teardown(() => ctrl.abort())
  await sleep(2100)
  t.equal(modified.get('node-00003'), undefined, 'a NotReady node posts no heartbeat')
  const counts = [...modified.values()]
  t.equal(counts.length, 9)
  t.ok(counts.every((n) => n >= 1 && n <= 3), `each Ready node about twice in 2 s: ${counts}`)
})

t.test('PDB maxUnavailable counts the controller scale, as the disruption controller does', async (t) => {
  const { core, apps, policy } = await simWithClients(t)
  await core.createNode({ body: readyNode('s-1') })
  const labels = { app: 'scaled' }
  const rs = await apps.createNamespacedReplicaSet({ namespace: 'default', body: {
    metadata: { name: 'scaled' },
    spec: { replicas: 5, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'busybox:1.37.0' }] } } },
  } })
  const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'scaled', uid: rs.metadata!.uid!, controller: true }
  for (const name of ['s-a', 's-b', 's-c']) {
    await core.createNamespacedPod({ namespace: 'default', body: { ...pod(name, 's-1', labels), metadata: { name, labels, ownerReferences: [owner] } } })
  }
  await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: { metadata: { name: 'scaled' }, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } } })
  const pdb = await eventually(async () => {
    const p = await policy.readNamespacedPodDisruptionBudget({ namespace: 'default', name: 'scaled' })
    return p.status?.expectedPods ? p : undefined
  })
  t.match(pdb.status, { expectedPods: 5, desiredHealthy: 4, currentHealthy: 3, disruptionsAllowed: 0 }, 'two replicas missing already use up the budget')
})
