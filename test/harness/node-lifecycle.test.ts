// The node lifecycle controller's taints, as a real cluster has them, on both backends: the
// simulator's own controller and kube-controller-manager's on the real API server. And the
// service's node changes keep the taints that controller added.
import t from 'tap'
import { PatchStrategy, setHeaderOptions, type V1Taint } from '@kubernetes/client-node'
import { eachBackend, type Backend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace, waitFor } from '../helpers/fixtures.js'
import { startService } from '../helpers/service.js'

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
const UNSCHEDULABLE = 'node.kubernetes.io/unschedulable:NoSchedule'
const NOT_READY = ['node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/not-ready:NoSchedule']
const UNREACHABLE = ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']

async function taintsOf(b: Backend, name: string): Promise<V1Taint[]> {
  return (await b.clients.core.readNode({ name })).spec?.taints ?? []
}

const keys = (taints: V1Taint[]) => taints.map((x) => `${x.key}:${x.effect}`).sort()

/** Waits until the node's taints are exactly these (key:effect, any order) and returns them. */
async function waitTaints(b: Backend, name: string, want: string[], what: string): Promise<V1Taint[]> {
  let last: V1Taint[] = []
  await waitFor(async () => {
    last = await taintsOf(b, name)
    return JSON.stringify(keys(last)) === JSON.stringify([...want].sort())
  }, 20_000, `${what} (last: ${JSON.stringify(keys(last))})`)
  return last
}

async function podReady(b: Backend, ns: string, name: string): Promise<string | undefined> {
  const pod = await b.clients.core.readNamespacedPod({ name, namespace: ns })
  return pod.status?.conditions?.find((c) => c.type === 'Ready')?.status
}

eachBackend(t, 'node lifecycle taints', async (t, b) => {
  const ns = 'lifecycle'
  await ensureNamespace(b.clients, ns)
  // A healthy node keeps the cluster out of the controller's "every node is down" mode.
  await createNode(b.clients, { name: 'healthy', cpu: '4', memory: '8Gi' })
  await createNode(b.clients, { name: 'n1', cpu: '4', memory: '8Gi', taints: [{ key: 'example.com/own', value: 'x', effect: 'NoSchedule' }] })

  await t.test('cordoned: node.kubernetes.io/unschedulable:NoSchedule with timeAdded; uncordoned: gone', async (t) => {
    await b.clients.core.patchNode({ name: 'n1', body: { spec: { unschedulable: true } } }, merge)
    const taints = await waitTaints(b, 'n1', ['example.com/own:NoSchedule', UNSCHEDULABLE], 'the unschedulable taint')
    const added = taints.find((x) => x.key === 'node.kubernetes.io/unschedulable')!
    t.ok(added.timeAdded, 'the controller stamps timeAdded')
    t.ok(Math.abs(Date.now() - new Date(added.timeAdded!).getTime()) < 30_000, `timeAdded is now (${added.timeAdded})`)
    t.same(taints[0], { key: 'example.com/own', value: 'x', effect: 'NoSchedule' }, 'taints of other keys stay first and untouched')
    await b.clients.core.patchNode({ name: 'n1', body: { spec: { unschedulable: null } } }, merge)
    await waitTaints(b, 'n1', ['example.com/own:NoSchedule'], 'the unschedulable taint to go')
  })

  await t.test('NotReady: not-ready taints; Unknown: unreachable instead; Ready: gone; and the pods as the controller marks them', async (t) => {
    await createPod(b.clients, { name: 'p1', namespace: ns, node: 'n1' })
    await waitFor(async () => (await podReady(b, ns, 'p1')) === 'True', 15_000, 'p1 ready')
    await b.setNodeReady('n1', false)
    const notReady = await waitTaints(b, 'n1', ['example.com/own:NoSchedule', ...NOT_READY], 'not-ready taints')
    for (const x of notReady.filter((x) => x.key === 'node.kubernetes.io/not-ready')) t.ok(x.timeAdded, `${x.key}:${x.effect} has timeAdded`)
    t.same(await taintsOf(b, 'healthy'), [], 'the healthy node is not tainted')
    t.equal(await podReady(b, ns, 'p1'), 'True', 'a kubelet reporting NotReady leaves its pods as they are')
    await createPod(b.clients, { name: 'p2', namespace: ns, node: 'n1' })
    await waitFor(async () => (await podReady(b, ns, 'p2')) === 'True', 15_000, 'p2, started on the NotReady node, runs')
    await b.setNodeReady('n1', true)
    await waitTaints(b, 'n1', ['example.com/own:NoSchedule'], 'the not-ready taints to go')

    // A silent kubelet (Ready Unknown, the controller's verdict): unreachable taints; its pods marked not ready.
    await b.setNodeReady('n1', 'Unknown')
    await waitTaints(b, 'n1', ['example.com/own:NoSchedule', ...UNREACHABLE], 'unreachable taints')
    await waitFor(async () => (await podReady(b, ns, 'p1')) === 'False', 15_000, 'p1 marked not ready')
    const events = await b.clients.core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=p1' })
    t.ok(events.items.some((e) => e.type === 'Warning' && e.reason === 'NodeNotReady' && e.message === 'Node is not ready'), 'a NodeNotReady Warning on the pod')
    // Unknown straight to False: the not-ready taints replace the unreachable ones.
    await b.setNodeReady('n1', false)
    await waitTaints(b, 'n1', ['example.com/own:NoSchedule', ...NOT_READY], 'not-ready taints instead of unreachable')
    await b.setNodeReady('n1', true)
    await waitTaints(b, 'n1', ['example.com/own:NoSchedule'], 'the controller taints to go')
    await waitFor(async () => (await podReady(b, ns, 'p1')) === 'True', 15_000, 'p1 ready again')
    // The controller's Events about the node, from "node-controller".
    await waitFor(async () => {
      const events = await b.clients.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=n1' })
      const reasons = events.items.filter((e) => e.source?.component === 'node-controller').map((e) => e.reason)
      return reasons.includes('RegisteredNode') && reasons.filter((r) => r === 'NodeNotReady').length === 1
    }, 15_000, 'RegisteredNode and one NodeNotReady (for Unknown) Events from node-controller')
  })

  await t.test('a node created NotReady gets the not-ready taints; one created cordoned the unschedulable one', async (t) => {
    await createNode(b.clients, { name: 'born-down', cpu: '4', memory: '8Gi', ready: false })
    await createNode(b.clients, { name: 'born-cordoned', cpu: '4', memory: '8Gi', unschedulable: true })
    await waitTaints(b, 'born-down', NOT_READY, 'not-ready taints on a node created NotReady')
    await waitTaints(b, 'born-cordoned', [UNSCHEDULABLE], 'unschedulable taint on a node created cordoned')
    await b.clients.core.deleteNode({ name: 'born-down' })
    await b.clients.core.deleteNode({ name: 'born-cordoned' })
    t.pass()
  })

  await t.test('the service\'s node changes keep the taints the controller added', async (t) => {
    const svc = await startService(b.kc, { env: { CHANGE_RATE_LIMIT_MAX: '100000' } })
    t.teardown(() => svc.close())
    const call = async (method: string, path: string, json?: unknown) => {
      const res = await svc.api(path, { method, json })
      t.equal(res.status, 200, `${method} ${path}: ${res.status}`)
      return res.json()
    }
    await b.setNodeReady('n1', false)
    await call('POST', '/nodes/n1/cordon')
    const controller = await waitTaints(b, 'n1', ['example.com/own:NoSchedule', UNSCHEDULABLE, ...NOT_READY], 'cordon and not-ready taints')
    const controllerOnly = controller.filter((x) => x.key.startsWith('node.kubernetes.io/'))
    const kept = async (what: string) => {
      const now = (await taintsOf(b, 'n1')).filter((x) => x.key.startsWith('node.kubernetes.io/'))
      t.same(now.sort((x, y) => keys([x])[0].localeCompare(keys([y])[0])),
        [...controllerOnly].sort((x, y) => keys([x])[0].localeCompare(keys([y])[0])), `${what}: the controller's taints, timeAdded included, are kept`)
    }
    const labelled = await call('PUT', '/nodes/n1/labels', { key: 'example.com/team', value: 'gpu' })
    t.same(keys(labelled.taints), keys(controller), 'the answer shows them')
    await kept('PUT label')
    const tainted = await call('POST', '/nodes/n1/taints', { key: 'example.com/maint', value: 'yes', effect: 'NoExecute' })
    t.same(keys(tainted.taints), [...keys(controller), 'example.com/maint:NoExecute'].sort())
    await kept('POST taint')
    await call('DELETE', '/nodes/n1/taints/example.com%2Fmaint')
    await kept('DELETE taint')
    await call('DELETE', '/nodes/n1/labels/example.com%2Fteam')
    await kept('DELETE label')
    t.same(keys(await taintsOf(b, 'n1')), keys(controller))
    // Uncordon: the controller takes its unschedulable taint off; the not-ready ones stay until Ready.
    await call('POST', '/nodes/n1/uncordon')
    await waitTaints(b, 'n1', ['example.com/own:NoSchedule', ...NOT_READY], 'the unschedulable taint to go after uncordon')
    await b.setNodeReady('n1', true)
    await waitTaints(b, 'n1', ['example.com/own:NoSchedule'], 'not-ready taints to go')
  })

  await t.test('every node down: no NoExecute taints (the controller\'s full-disruption mode)', async (t) => {
    await b.setNodeReady('n1', false)
    await waitTaints(b, 'n1', ['example.com/own:NoSchedule', ...NOT_READY], 'not-ready taints on n1')
    await b.setNodeReady('healthy', false)
    await waitTaints(b, 'healthy', ['node.kubernetes.io/not-ready:NoSchedule'], 'only NoSchedule on healthy')
    await waitTaints(b, 'n1', ['example.com/own:NoSchedule', 'node.kubernetes.io/not-ready:NoSchedule'], 'NoExecute removed from n1')
    await b.setNodeReady('healthy', true)
    await waitTaints(b, 'n1', ['example.com/own:NoSchedule', ...NOT_READY], 'NoExecute back on n1 once a node is Ready')
    await waitTaints(b, 'healthy', [], 'healthy untainted')
    await b.setNodeReady('n1', true)
    await waitTaints(b, 'n1', ['example.com/own:NoSchedule'], 'n1 untainted')
    t.pass('taints followed every step of the disruption')
  })
})
