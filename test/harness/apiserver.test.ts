// The real control plane itself: kubectl works with the admin kubeconfig, static-token users
// without rights are refused by RBAC, the garbage collector runs, and teardown leaves nothing.
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import { backendSkip, startBackend } from '../helpers/backend.js'
import { NODE_MANAGER_USER } from '../helpers/apiserver.js'
import { createNode, createPod, createReplicaSet, ensureNamespace, grantClusterRole, waitFor, waitPodGone, waitPodsRunning } from '../helpers/fixtures.js'

const run = promisify(execFile)

t.test('real API server', { skip: backendSkip('apiserver') }, async (t) => {
  const b = await startBackend('apiserver', { podTerminateSeconds: 1, heartbeatSeconds: 1 })
  let closed = false
  t.teardown(() => (closed ? undefined : b.close()))
  await createNode(b.clients, { name: 'worker-1', cpu: '2', memory: '4Gi' })

  await t.test('kubectl works with the admin kubeconfig', async (t) => {
    const { stdout } = await run('kubectl', ['--kubeconfig', b.kubeconfigPath, 'get', 'nodes'])
    t.match(stdout, /worker-1\s+Ready/)
    const version = await run('kubectl', ['--kubeconfig', b.kubeconfigPath, 'version', '-o', 'json'])
    t.equal(JSON.parse(version.stdout).serverVersion.gitVersion, 'v1.33.13')
  })

  await t.test('the kubelet stand-in heartbeats through node Leases, not node status', async (t) => {
    const before = await b.clients.core.readNode({ name: 'worker-1' })
    let lease = await waitForLease()
    t.equal(lease.spec?.holderIdentity, 'worker-1')
    const firstRenew = lease.spec?.renewTime
    await waitFor(async () => {
      lease = await b.clients.coordination.readNamespacedLease({ name: 'worker-1', namespace: 'kube-node-lease' })
      return String(lease.spec?.renewTime) !== String(firstRenew)
    }, 5000, 'the lease to be renewed')
    const after = await b.clients.core.readNode({ name: 'worker-1' })
    t.equal(after.metadata?.resourceVersion, before.metadata?.resourceVersion, 'the Node object did not change')
  })

  async function waitForLease() {
    let lease
    await waitFor(async () => {
      lease = await b.clients.coordination.readNamespacedLease({ name: 'worker-1', namespace: 'kube-node-lease' }).catch(() => undefined)
      return lease !== undefined
    }, 5000, 'the node lease')
    return lease!
  }

  await t.test('a node whose kubelet died: Unknown, and its pods neither start nor go', async (t) => {
    await createNode(b.clients, { name: 'dead', cpu: '2', memory: '4Gi' })
    await createPod(b.clients, { name: 'old', namespace: 'default', node: 'dead' })
    await waitPodsRunning(b.clients, 'default', ['old'])
    await b.kubelet!.stopHeartbeat('dead')
    const node = await b.clients.core.readNode({ name: 'dead' })
    t.match(node.status?.conditions?.find((c) => c.type === 'Ready'), { status: 'Unknown', reason: 'NodeStatusUnknown' })
    await createPod(b.clients, { name: 'new', namespace: 'default', node: 'dead' })
    await b.clients.core.deleteNamespacedPod({ name: 'old', namespace: 'default' })
    // The same on a live node, after: once its new pod runs and its old one is gone (podTerminateSeconds
    // 1), the kubelet stand-in has had the dead node's pods in hand as long, and left them.
    await createPod(b.clients, { name: 'old-live', namespace: 'default', node: 'worker-1' })
    await waitPodsRunning(b.clients, 'default', ['old-live'])
    await createPod(b.clients, { name: 'new-live', namespace: 'default', node: 'worker-1' })
    await b.clients.core.deleteNamespacedPod({ name: 'old-live', namespace: 'default' })
    await waitPodsRunning(b.clients, 'default', ['new-live'])
    await waitPodGone(b.clients, 'default', 'old-live')
    t.equal((await b.clients.core.readNamespacedPod({ name: 'new', namespace: 'default' })).status?.phase, 'Pending')
    t.ok((await b.clients.core.readNamespacedPod({ name: 'old', namespace: 'default' })).metadata?.deletionTimestamp, 'old is stuck terminating')
    await b.kubelet!.startHeartbeat('dead')
    await waitPodsRunning(b.clients, 'default', ['new'])
    await waitPodGone(b.clients, 'default', 'old')
  })

  await t.test('a static-token user without RBAC rights is refused', async (t) => {
    const kc = new KubeConfig()
    kc.loadFromFile(b.tokenKubeconfig!(NODE_MANAGER_USER.token))
    const err = await kc.makeApiClient(CoreV1Api).listNode().then(() => undefined, (e: unknown) => e as { code?: number; body?: string })
    t.equal(err?.code, 403)
    t.match(JSON.parse(String(err?.body)), { reason: 'Forbidden', message: /User "node-manager" cannot list resource "nodes"/ })
  })

  await t.test('a ClusterRole bound to the user grants just its rules', async (t) => {
    await grantClusterRole(b.kc, { name: 'node-reader', user: NODE_MANAGER_USER.name, rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }] })
    const kc = new KubeConfig()
    kc.loadFromFile(b.tokenKubeconfig!(NODE_MANAGER_USER.token))
    const core = kc.makeApiClient(CoreV1Api)
    // RBAC caches are fed by watches: the grant takes effect a moment later.
    await waitFor(() => core.listNode().then(() => true, () => false), 5000, 'node-manager to list nodes')
    const err = await core.listNamespacedPod({ namespace: 'default' }).then(() => undefined, (e: unknown) => e as { code?: number })
    t.equal(err?.code, 403, 'pods were not granted')
  })

  await t.test('the garbage collector removes pods of a deleted ReplicaSet', async (t) => {
    const ns = 'gc'
    await ensureNamespace(b.clients, ns)
    await createReplicaSet(b.clients, { name: 'rs', namespace: ns, labels: { app: 'rs' } })
    await createPod(b.clients, { name: 'rs-1', namespace: ns, node: 'worker-1', labels: { app: 'rs' }, owner: { kind: 'ReplicaSet', name: 'rs' } })
    await waitPodsRunning(b.clients, ns, ['rs-1'])
    await b.clients.apps.deleteNamespacedReplicaSet({ name: 'rs', namespace: ns, propagationPolicy: 'Background' })
    await waitPodGone(b.clients, ns, 'rs-1', 30_000)
    t.pass()
  })

  await t.test('close stops every process and removes the temp dir', async (t) => {
    const dir = b.apiserver!.dir
    await b.close()
    closed = true
    t.notOk(existsSync(dir))
    const err = await fetch(b.apiserver!.url + '/readyz').then(() => undefined, (e: unknown) => e)
    t.ok(err, 'the API server no longer answers')
  })
})
