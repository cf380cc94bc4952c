// The test backends behave as a cluster with kubelets: the same checks on the simulated
// cluster and on the real API server.
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { backendNames, startBackend, type Backend } from '../helpers/backend.js'
import {
  createNode, createPDB, createPod, createReplicaSet, ensureNamespace, waitFor, waitPodGone, waitPodsRunning,
} from '../helpers/fixtures.js'

const ns = 'harness'
const run = promisify(execFile)

async function readyStatus(b: Backend, node: string): Promise<string | undefined> {
  const n = await b.clients.core.readNode({ name: node })
  return n.status?.conditions?.find((c) => c.type === 'Ready')?.status
}

for (const name of backendNames()) {
  t.test(`backend ${name}`, async (t) => {
    const b = await startBackend(name)
    t.teardown(() => b.close())
    await ensureNamespace(b.clients, ns)

    await t.test('a node keeps the status given on create', async (t) => {
      const node = await createNode(b.clients, { name: 'n1', cpu: '4', memory: '8Gi', labels: { pool: 'a' } })
      t.equal(node.status?.capacity?.cpu, '4')
      t.equal(node.status?.allocatable?.memory, '8Gi')
      t.equal(await readyStatus(b, 'n1'), 'True')
      t.equal(node.metadata?.labels?.pool, 'a')
    })

    await t.test('pods bound to a node run', async (t) => {
      await createPod(b.clients, { name: 'p1', namespace: ns, node: 'n1', terminationGracePeriodSeconds: 2 })
      await createPod(b.clients, { name: 'p2', namespace: ns, node: 'n1', requests: { cpu: '100m', memory: '64Mi' } })
      await createPod(b.clients, { name: 'done', namespace: ns, node: 'n1', phase: 'Succeeded' })
      await waitPodsRunning(b.clients, ns, ['p1', 'p2'])
      const p1 = await b.clients.core.readNamespacedPod({ name: 'p1', namespace: ns })
      t.ok(p1.status?.podIP, 'has a pod IP')
      t.ok(p1.status?.startTime, 'has a start time')
      t.equal(p1.status?.containerStatuses?.[0]?.ready, true)
      const done = await b.clients.core.readNamespacedPod({ name: 'done', namespace: ns })
      t.equal(done.status?.phase, 'Succeeded', 'a finished pod stays finished')
    })

    await t.test('a deleted pod goes after its grace period', async (t) => {
      const start = Date.now()
      await b.clients.core.deleteNamespacedPod({ name: 'p1', namespace: ns })
      const terminating = await b.clients.core.readNamespacedPod({ name: 'p1', namespace: ns })
      t.ok(terminating.metadata?.deletionTimestamp, 'terminating first')
      t.equal(terminating.metadata?.deletionGracePeriodSeconds, 2)
      await waitPodGone(b.clients, ns, 'p1')
      t.ok(Date.now() - start >= 1500, `gone after ${Date.now() - start} ms`)
    })

    await t.test('a node can be made NotReady and Ready again', async (t) => {
      await b.setNodeReady('n1', false)
      await waitFor(async () => (await readyStatus(b, 'n1')) === 'False', 5000, 'n1 NotReady')
      const n1 = await b.clients.core.readNode({ name: 'n1' })
      t.equal(n1.status?.conditions?.length, 4, 'the other conditions stay')
      // Only the condition changes: pods bound to a NotReady node still run on both backends.
      await createPod(b.clients, { name: 'p3', namespace: ns, node: 'n1' })
      await waitPodsRunning(b.clients, ns, ['p3'])
      await b.setNodeReady('n1', 'Unknown')
      await waitFor(async () => (await readyStatus(b, 'n1')) === 'Unknown', 5000, 'n1 Unknown')
      await b.setNodeReady('n1', true)
      await waitFor(async () => (await readyStatus(b, 'n1')) === 'True', 5000, 'n1 Ready')
      t.pass()
    })

    await t.test('a PodDisruptionBudget gets status and holds evictions', async (t) => {
      const labels = { app: 'web' }
      await createReplicaSet(b.clients, { name: 'web', namespace: ns, labels, replicas: 2 })
      for (const p of ['web-1', 'web-2']) await createPod(b.clients, { name: p, namespace: ns, node: 'n1', labels, owner: { kind: 'ReplicaSet', name: 'web' } })
      await waitPodsRunning(b.clients, ns, ['web-1', 'web-2'])
      await createPDB(b.clients, { name: 'web', namespace: ns, selector: labels, minAvailable: 1 })
      await waitFor(async () => {
        const pdb = await b.clients.policy.readNamespacedPodDisruptionBudget({ name: 'web', namespace: ns })
        return pdb.status?.currentHealthy === 2 && pdb.status.disruptionsAllowed === 1
      }, 30_000, 'PDB web to count 2 healthy pods')

      const evict = (pod: string) => b.clients.core.createNamespacedPodEviction({
        name: pod, namespace: ns, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: ns } },
      })
      await evict('web-1')
      const err = await evict('web-2').then(() => undefined, (e: unknown) => e as { code?: number; body?: string })
      t.equal(err?.code, 429, 'the second eviction is refused')
      t.match(String(err?.body), /disruption budget/)
    })

    await t.test('kubectl drain empties a node through evictions', async (t) => {
      await createNode(b.clients, { name: 'n2', cpu: '2', memory: '4Gi' })
      const labels = { app: 'api' }
      await createReplicaSet(b.clients, { name: 'api', namespace: ns, labels, replicas: 2 })
      for (const p of ['api-1', 'api-2']) await createPod(b.clients, { name: p, namespace: ns, node: 'n2', labels, owner: { kind: 'ReplicaSet', name: 'api' }, terminationGracePeriodSeconds: 1 })
      await waitPodsRunning(b.clients, ns, ['api-1', 'api-2'])
      const { stdout } = await run('kubectl', ['--kubeconfig', b.kubeconfigPath, 'drain', 'n2', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=60s'])
      t.match(stdout, /node\/n2 drained/)
      const left = await b.clients.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=n2' })
      t.same(left.items.map((p) => p.metadata?.name), [])
      t.equal((await b.clients.core.readNode({ name: 'n2' })).spec?.unschedulable, true, 'cordoned')
    })
  })
}
