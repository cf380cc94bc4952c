// The node change domain against a cluster (fixtures through the Kubernetes API only): effects,
// kubectl's taint order, audit entries, Events, conflicts under concurrency, API failures.
import t from 'tap'
import type { V1Node } from '@kubernetes/client-node'
import { eachBackend, startBackend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace, waitPodsRunning } from '../helpers/fixtures.js'
import * as changes from '../../src/nodes/changes.js'
import type { AuditEntry, NodeChangeDeps, PodOnNode } from '../../src/nodes/changes.js'
import type { KubeClients } from '../../src/kube/client.js'

const alice = { username: 'alice', user_id: 'u-1' }

function deps(clients: KubeClients, extra: Partial<NodeChangeDeps> = {}) {
  const audit: AuditEntry[] = []
  const warnings: string[] = []
  const d: NodeChangeDeps = { clients, podsOnNode: () => [], audit: (e: AuditEntry) => audit.push(e), log: { warn: (_o: object, m: string) => warnings.push(m) }, ...extra }
  return { audit, warnings, deps: d }
}

/** The pods on a node as the service's watch cache holds them, read here through the API. */
async function podsOnNode(clients: KubeClients, node: string): Promise<PodOnNode[]> {
  const pods = (await clients.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items
  return pods.map((p) => ({ phase: p.status?.phase ?? 'Pending', terminating: Boolean(p.metadata?.deletionTimestamp), tolerations: p.spec?.tolerations }))
}

async function failure(p: Promise<unknown>): Promise<{ kind: string; message: string }> {
  try { await p } catch (err) { return err as { kind: string; message: string } }
  throw new Error('expected a failure')
}

const read = (c: KubeClients, name: string): Promise<V1Node> => c.core.readNode({ name })
const taintsOf = (n: V1Node) => (n.spec?.taints ?? []).map((x) => `${x.key}${x.value ? '=' + x.value : ''}:${x.effect}`)

eachBackend(t, 'node changes', async (t, b) => {
  const c = b.clients

  await t.test('labels: set, overwrite, idempotent, remove, 404s', async (t) => {
    await createNode(c, { name: 'lab-1', cpu: '4', memory: '8Gi' })
    const { deps: d, audit } = deps(c)
    let r = await changes.setLabel(d, alice, 'lab-1', 'example.com/pool', 'gpu')
    t.equal(r.changed, true)
    t.equal((await read(c, 'lab-1')).metadata?.labels?.['example.com/pool'], 'gpu')
    r = await changes.setLabel(d, alice, 'lab-1', 'example.com/pool', 'cpu')
    t.equal(r.changed, true)
    t.equal((await read(c, 'lab-1')).metadata?.labels?.['example.com/pool'], 'cpu', 'overwritten')
    const rv = (await read(c, 'lab-1')).metadata?.resourceVersion
    r = await changes.setLabel(d, alice, 'lab-1', 'example.com/pool', 'cpu')
    t.equal(r.changed, false, 'same value: nothing written')
    t.equal((await read(c, 'lab-1')).metadata?.resourceVersion, rv, 'resourceVersion unchanged')
    r = await changes.setLabel(d, alice, 'lab-1', 'empty', '')
    t.equal(r.node.metadata?.labels?.empty, '', 'the answer is the node after the change')
    t.equal((await read(c, 'lab-1')).metadata?.labels?.empty, '', 'empty value allowed')
    r = await changes.removeLabel(d, alice, 'lab-1', 'example.com/pool')
    t.equal(r.changed, true)
    t.notOk('example.com/pool' in ((await read(c, 'lab-1')).metadata?.labels ?? {}))
    t.match(await failure(changes.removeLabel(d, alice, 'lab-1', 'example.com/pool')), { kind: 'not_found', message: 'Label example.com/pool not found on node lab-1' })
    t.match(await failure(changes.setLabel(d, alice, 'no-such-node', 'a', 'b')), { kind: 'not_found', message: 'Node "no-such-node" not found' })
    t.same(audit.map((a) => `${a.action}:${a.outcome}:${a.failure ?? ''}`), [
      'label.set:changed:', 'label.set:changed:', 'label.set:unchanged:', 'label.set:changed:', 'label.remove:changed:',
      'label.remove:refused:not_found', 'label.set:refused:not_found',
    ])
    t.match(audit[1], { node: 'lab-1', actor: alice, request: { key: 'example.com/pool', value: 'cpu', force: false }, previous: 'gpu', attempts: 1 })
  })

  await t.test('guard rail: kubelet and cloud labels need force', async (t) => {
    await createNode(c, { name: 'guard-1', cpu: '4', memory: '8Gi', labels: { 'topology.kubernetes.io/zone': 'a' } })
    const { deps: d, audit } = deps(c)
    const before = await read(c, 'guard-1')
    const e = await failure(changes.setLabel(d, alice, 'guard-1', 'kubernetes.io/hostname', 'evil'))
    t.equal(e.kind, 'invalid')
    t.match(e.message, /managed by the kubelet.*force=true/)
    t.match(await failure(changes.removeLabel(d, alice, 'guard-1', 'topology.kubernetes.io/zone')), { kind: 'invalid' })
    t.same((await read(c, 'guard-1')).metadata?.labels, before.metadata?.labels, 'unchanged')
    await changes.setLabel(d, alice, 'guard-1', 'topology.kubernetes.io/zone', 'b', { force: true })
    await changes.setLabel(d, alice, 'guard-1', 'node-role.kubernetes.io/gpu', '')
    const after = (await read(c, 'guard-1')).metadata?.labels ?? {}
    t.equal(after['topology.kubernetes.io/zone'], 'b', 'forced')
    t.equal(after['node-role.kubernetes.io/gpu'], '', 'node-role allowed without force')
    t.match(audit[0], { outcome: 'refused', failure: 'invalid', message: /force/ })
  })

  await t.test('taints: kubectl order, upsert by (key, effect), remove by key or key+effect', async (t) => {
    await createNode(c, { name: 'taint-1', cpu: '4', memory: '8Gi', taints: [{ key: 'old', effect: 'NoSchedule' }] })
    const { deps: d } = deps(c)
    await changes.setTaint(d, alice, 'taint-1', { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' })
    t.same(taintsOf(await read(c, 'taint-1')), ['dedicated=gpu:NoSchedule', 'old:NoSchedule'], 'new taint first, as kubectl')
    await changes.setTaint(d, alice, 'taint-1', { key: 'dedicated', value: 'gpu', effect: 'PreferNoSchedule' })
    await changes.setTaint(d, alice, 'taint-1', { key: 'dedicated', value: 'ml', effect: 'NoSchedule' })
    t.same(taintsOf(await read(c, 'taint-1')), ['dedicated=ml:NoSchedule', 'dedicated=gpu:PreferNoSchedule', 'old:NoSchedule'], 'upsert by (key, effect)')
    const r = await changes.setTaint(d, alice, 'taint-1', { key: 'dedicated', value: 'ml', effect: 'NoSchedule' })
    t.equal(r.changed, false, 'idempotent')
    await changes.removeTaint(d, alice, 'taint-1', 'dedicated', 'PreferNoSchedule')
    t.same(taintsOf(await read(c, 'taint-1')), ['dedicated=ml:NoSchedule', 'old:NoSchedule'])
    t.match(await failure(changes.removeTaint(d, alice, 'taint-1', 'dedicated', 'NoExecute')), { kind: 'not_found', message: 'Taint dedicated:NoExecute not found on node taint-1' })
    await changes.setTaint(d, alice, 'taint-1', { key: 'dedicated', effect: 'PreferNoSchedule' })
    await changes.removeTaint(d, alice, 'taint-1', 'dedicated', undefined)
    t.same(taintsOf(await read(c, 'taint-1')), ['old:NoSchedule'], 'without effect: every taint with the key')
    await changes.removeTaint(d, alice, 'taint-1', 'old', undefined)
    t.same((await read(c, 'taint-1')).spec?.taints, undefined, 'last taint removed: field gone')
    t.match(await failure(changes.removeTaint(d, alice, 'taint-1', 'old', undefined)), { kind: 'not_found' })
    t.match(await failure(changes.setTaint(d, alice, 'taint-1', { key: 'x', effect: 'Evict' })), { kind: 'invalid', message: /effect.*NoSchedule, PreferNoSchedule, NoExecute/ })
  })

  await t.test('NoExecute answers how many pods it evicts', async (t) => {
    await createNode(c, { name: 'noexec-1', cpu: '4', memory: '8Gi' })
    const ns = 'noexec'
    await ensureNamespace(c, ns)
    await createPod(c, { name: 'plain', namespace: ns, node: 'noexec-1' })
    await createPod(c, { name: 'plain-2', namespace: ns, node: 'noexec-1' })
    const tolerate = async (name: string, tolerations: object[]) =>
      c.core.createNamespacedPod({ namespace: ns, body: { metadata: { name }, spec: { nodeName: 'noexec-1', tolerations, containers: [{ name: 'm', image: 'x' }] } } })
    await tolerate('tolerates', [{ key: 'maint', operator: 'Exists', effect: 'NoExecute' }])
    await tolerate('tolerates-all', [{ operator: 'Exists' }])
    await tolerate('tolerates-60s', [{ key: 'maint', operator: 'Equal', value: 'now', effect: 'NoExecute', tolerationSeconds: 60 }])
    await tolerate('other-value', [{ key: 'maint', operator: 'Equal', value: 'later', effect: 'NoExecute' }])
    await waitPodsRunning(c, ns, ['plain', 'plain-2', 'tolerates', 'tolerates-all', 'tolerates-60s', 'other-value'])
    await createPod(c, { name: 'done', namespace: ns, node: 'noexec-1', phase: 'Succeeded' })
    const onNode = await podsOnNode(c, 'noexec-1')
    const { deps: d, audit } = deps(c, { podsOnNode: (n) => (n === 'noexec-1' ? onNode : []) })
    const r = await changes.setTaint(d, alice, 'noexec-1', { key: 'maint', value: 'now', effect: 'NoExecute' })
    t.equal(r.affectedPods, 4, 'plain, plain-2, other-value at once; tolerates-60s after 60 s')
    t.equal(audit[0].affected_pods, 4)
    const r2 = await changes.setTaint(d, alice, 'noexec-1', { key: 'soft', effect: 'NoSchedule' })
    t.equal(r2.affectedPods, undefined, 'only for NoExecute')
  })

  await t.test('cordon and uncordon, idempotent', async (t) => {
    await createNode(c, { name: 'cordon-1', cpu: '4', memory: '8Gi' })
    const { deps: d, audit } = deps(c)
    t.equal((await changes.cordon(d, alice, 'cordon-1')).changed, true)
    t.equal((await read(c, 'cordon-1')).spec?.unschedulable, true)
    t.equal((await changes.cordon(d, alice, 'cordon-1')).changed, false)
    t.equal((await changes.uncordon(d, alice, 'cordon-1')).changed, true)
    t.notOk((await read(c, 'cordon-1')).spec?.unschedulable)
    t.equal((await changes.uncordon(d, alice, 'cordon-1')).changed, false)
    t.match(await failure(changes.cordon(d, alice, 'no-such-node')), { kind: 'not_found' })
    t.same(audit.map((a) => `${a.action}:${a.outcome}`), ['cordon:changed', 'cordon:unchanged', 'uncordon:changed', 'uncordon:unchanged', 'cordon:refused'])
  })

  await t.test('every change is an Event on the node, as kubectl describe node finds them', async (t) => {
    const node = await createNode(c, { name: 'events-1', cpu: '4', memory: '8Gi' })
    const { deps: d } = deps(c)
    await changes.setLabel(d, alice, 'events-1', 'pool', 'gpu')
    await changes.setLabel(d, alice, 'events-1', 'pool', 'gpu') // unchanged: no event
    await changes.setTaint(d, alice, 'events-1', { key: 'maint', effect: 'NoExecute' })
    await changes.cordon(d, alice, 'events-1')
    // kubectl describe node: all namespaces, involvedObject kind=Node, name, uid, namespace "".
    const sel = `involvedObject.kind=Node,involvedObject.name=events-1,involvedObject.uid=${node.metadata?.uid},involvedObject.namespace=`
    // Ours only: the node lifecycle controller writes Events about nodes too (RegisteredNode, ...).
    const events = (await c.core.listEventForAllNamespaces({ fieldSelector: sel })).items
      .filter((e) => e.source?.component === 'streamspace-node-manager')
      .sort((x, y) => (x.metadata?.name ?? '').localeCompare(y.metadata?.name ?? ''))
    t.same(events.map((e) => `${e.type}/${e.reason}`), ['Normal/NodeLabeled', 'Warning/NodeTainted', 'Normal/NodeCordoned'])
    t.match(events[0], { message: 'Label pool=gpu set by alice (user_id u-1) via StreamSpace Node Manager', source: { component: 'streamspace-node-manager' }, count: 1 })
    t.same([...new Set(events.map((e) => e.metadata?.namespace))], ['default'], 'Node events live in "default", as the API server requires')
  })

  await t.test('concurrent taint writers never lose each other\'s taints (resourceVersion precondition)', async (t) => {
    await createNode(c, { name: 'race-taints', cpu: '4', memory: '8Gi' })
    const { deps: d, audit } = deps(c)
    await Promise.all(Array.from({ length: 20 }, (_, i) => changes.setTaint(d, { username: `admin${i}`, user_id: `u${i}` }, 'race-taints', { key: `t${i}`, effect: 'NoSchedule' })))
    t.equal((await read(c, 'race-taints')).spec?.taints?.length, 20, 'all 20 taints present')
    t.ok(audit.some((a) => a.attempts > 1), `real conflicts were retried (max attempts ${Math.max(...audit.map((a) => a.attempts))})`)
  })
}, { podTerminateSeconds: 1 })

t.test('faults injected by the simulator', async (t) => {
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  const c = b.clients
  const sim = b.sim as unknown as { faults: { conflictRate: number; errorRate: number } }

  t.test('20 concurrent label writers with forced conflicts: all 20 labels present', async (t) => {
    await createNode(c, { name: 'race-labels', cpu: '4', memory: '8Gi' })
    const { deps: d, audit } = deps(c)
    sim.faults.conflictRate = 0.5
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => changes.setLabel(d, { username: `admin${i}`, user_id: `u${i}` }, 'race-labels', `team-${i}`, `v${i}`)))
    } finally {
      sim.faults.conflictRate = 0
    }
    const labels = (await read(c, 'race-labels')).metadata?.labels ?? {}
    t.same(Array.from({ length: 20 }, (_, i) => labels[`team-${i}`]), Array.from({ length: 20 }, (_, i) => `v${i}`))
    const retried = audit.filter((a) => a.attempts > 1).length
    t.ok(retried > 0, `${retried} of 20 writers hit conflicts and retried`)
  })

  t.test('conflicts that never end: 409 after the retry budget, node unchanged', async (t) => {
    await createNode(c, { name: 'always-409', cpu: '4', memory: '8Gi' })
    const before = await read(c, 'always-409')
    const { deps: d, audit } = deps(c, { maxAttempts: 3 })
    sim.faults.conflictRate = 1
    let e
    try { e = await failure(changes.setTaint(d, alice, 'always-409', { key: 'x', effect: 'NoSchedule' })) } finally { sim.faults.conflictRate = 0 }
    t.match(e, { kind: 'conflict', message: /gave up after 3 conflicting attempts/ })
    t.equal((await read(c, 'always-409')).metadata?.resourceVersion, before.metadata?.resourceVersion)
    t.match(audit[0], { outcome: 'refused', failure: 'conflict', attempts: 3 })
  })

  t.test('an API failure leaves the node unchanged and says what failed', async (t) => {
    await createNode(c, { name: 'broken', cpu: '4', memory: '8Gi' })
    const before = await read(c, 'broken')
    const { deps: d, audit } = deps(c)
    sim.faults.errorRate = 1
    const errs = []
    try {
      errs.push(await failure(changes.setLabel(d, alice, 'broken', 'a', 'b')))
      errs.push(await failure(changes.setTaint(d, alice, 'broken', { key: 'a', effect: 'NoExecute' })))
      errs.push(await failure(changes.cordon(d, alice, 'broken')))
    } finally {
      sim.faults.errorRate = 0
    }
    for (const e of errs) {
      t.ok(e.kind === 'cluster_failed' || e.kind === 'unavailable', `kind ${e.kind}`)
      t.match(e.message, /Kubernetes API failed to (read|list|patch) /)
    }
    const after = await read(c, 'broken')
    t.equal(after.metadata?.resourceVersion, before.metadata?.resourceVersion, 'node unchanged')
    t.same(audit.map((a) => a.outcome), ['failed', 'failed', 'failed'])
  })

  t.test('a passing 503 or an unreachable API is retried: the change is made, once, with one Event', async (t) => {
    // The fault soak found that one 503 on either call of a change answered 502, so with 30% of API
    // calls failing half the writes failed; a passing failure is now retried (up to 3 times).
    await createNode(c, { name: 'flaky', cpu: '4', memory: '8Gi' })
    const failFirst = (method: 'readNode' | 'patchNode', how: 'error' | 'unreachable') => {
      let failed = 0
      return { ...c, core: new Proxy(c.core, { get: (target, prop, recv) => prop === method ? async (...args: unknown[]) => {
        if (failed++ === 0) {
          if (how === 'unreachable') { b.sim!.suspend(); try { return await (target[method] as (...a: unknown[]) => unknown)(...args) } finally { b.sim!.resume() } }
          sim.faults.errorRate = 1
          try { return await (target[method] as (...a: unknown[]) => unknown)(...args) } finally { sim.faults.errorRate = 0 }
        }
        return (target[method] as (...a: unknown[]) => unknown)(...args)
      } : Reflect.get(target, prop, recv) }) }
    }
    const { deps: d, audit } = deps(c)
    const label = await changes.setLabel({ ...d, clients: failFirst('patchNode', 'error') }, alice, 'flaky', 'retried', 'yes')
    t.equal(label.changed, true)
    const taint = await changes.setTaint({ ...d, clients: failFirst('readNode', 'error') }, alice, 'flaky', { key: 'retried', effect: 'NoSchedule' })
    t.equal(taint.changed, true)
    const cordon = await changes.cordon({ ...d, clients: failFirst('patchNode', 'unreachable') }, alice, 'flaky')
    t.equal(cordon.changed, true)
    const node = await read(c, 'flaky')
    t.equal(node.metadata?.labels?.retried, 'yes')
    t.same(taintsOf(node).filter((x) => x.startsWith('retried')), ['retried:NoSchedule'])
    t.equal(node.spec?.unschedulable, true)
    t.same(audit.map((a) => [a.outcome, a.attempts]), [['changed', 2], ['changed', 2], ['changed', 2]], 'each made on its second attempt')
    const sel = 'involvedObject.kind=Node,involvedObject.name=flaky'
    const events = (await c.core.listEventForAllNamespaces({ fieldSelector: sel })).items.filter((e) => e.source?.component === 'streamspace-node-manager')
    t.same(events.map((e) => e.reason).sort(), ['NodeCordoned', 'NodeLabeled', 'NodeTainted'], 'one Event per change')
  })

  t.test('a failure between read and write: the patch fails, nothing is half-written', async (t) => {
    await createNode(c, { name: 'half', cpu: '4', memory: '8Gi', taints: [{ key: 'keep', effect: 'NoSchedule' }] })
    const before = await read(c, 'half')
    const { deps: d } = deps(c)
    // Only writes fail: reads go through, then the patch gets a 503.
    const clients = { ...c, core: new Proxy(c.core, { get: (target, prop, recv) => prop === 'patchNode' ? async (...args: unknown[]) => { sim.faults.errorRate = 1; try { return await (target.patchNode as (...a: unknown[]) => unknown)(...args) } finally { sim.faults.errorRate = 0 } } : Reflect.get(target, prop, recv) }) }
    const e = await failure(changes.setTaint({ ...d, clients }, alice, 'half', { key: 'new', effect: 'NoSchedule' }))
    t.match(e, { kind: 'cluster_failed', message: /Kubernetes API failed to patch nodes\/half \(HTTP 503\)/ })
    t.same((await read(c, 'half')).spec?.taints?.map((x) => x.key), ['keep'])
    t.equal((await read(c, 'half')).metadata?.resourceVersion, before.metadata?.resourceVersion)
  })
})
