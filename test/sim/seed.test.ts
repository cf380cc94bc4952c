// The clusters the sim starts with (demo, generated at scale) and its CLI.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node'
import t from 'tap'
import { parseArgs, parseFaults, USAGE } from '../../src/sim/cli-args.js'
import { eventually, raw, readyNode, simWithClients } from './helpers.js'

t.test('demo cluster: a small StreamSpace cluster', async (t) => {
  const { sim, core, apps, policy } = await simWithClients(t, {})
  const nodes = (await core.listNode({})).items
  t.ok(nodes.length >= 4 && nodes.length <= 6, `${nodes.length} nodes`)
  const cpus = new Set(nodes.map((n) => n.status?.capacity?.cpu))
  t.ok(cpus.size >= 3, 'nodes of different sizes')
  const cp = nodes.find((n) => n.metadata?.labels?.['node-role.kubernetes.io/control-plane'] !== undefined)
  t.same(cp?.spec?.taints, [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }])
  const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
  t.ok(ready.length >= nodes.length - 1, 'most nodes Ready')
  const sessions = (await core.listNamespacedPod({ namespace: 'streamspace', labelSelector: 'app=streamspace-session' })).items
  t.ok(sessions.length >= 4)
  for (const s of sessions) t.match(s.metadata?.labels, { session: String, user: String, template: String })
  const system = (await core.listNamespacedPod({ namespace: 'kube-system' })).items
  t.ok(system.some((p) => p.metadata?.ownerReferences?.[0]?.kind === 'DaemonSet'), 'DaemonSet pods')
  t.ok(system.some((p) => p.metadata?.annotations?.['kubernetes.io/config.mirror']), 'mirror pods')
  t.ok((await apps.listDaemonSetForAllNamespaces({})).items.length >= 1)
  const pdbs = (await policy.listPodDisruptionBudgetForAllNamespaces({})).items
  t.ok(pdbs.length >= 1)
  t.ok(pdbs.every((p) => (p.status?.expectedPods ?? 0) > 0), 'PDB status computed')
  const metrics = await raw(sim, '/apis/metrics.k8s.io/v1beta1/nodes')
  t.equal(metrics.body.items.length, ready.length)
  // A silent kubelet: every condition Unknown; back: the kubelet reports them again.
  sim.setNodeReady('worker-small-1', 'Unknown')
  const silent = await core.readNode({ name: 'worker-small-1' })
  t.same(silent.status?.conditions?.map((c) => `${c.type}=${c.status}`), ['MemoryPressure=Unknown', 'DiskPressure=Unknown', 'PIDPressure=Unknown', 'Ready=Unknown'])
  sim.setNodeReady('worker-small-1', true)
  const back = await core.readNode({ name: 'worker-small-1' })
  t.same(back.status?.conditions?.map((c) => `${c.type}=${c.status}`), ['MemoryPressure=False', 'DiskPressure=False', 'PIDPressure=False', 'Ready=True'])
  // Every node carries realistic status: the ~7 KB shape the service sees on real clusters.
  const size = JSON.stringify(nodes.find((n) => n.metadata?.name === 'worker-large-1')).length
  t.ok(size > 5000, `node JSON is ${size} bytes`)
})

t.test('demo cluster: ReplicaSets replace evicted pods on schedulable nodes, so a drain can finish', async (t) => {
  const { core, policy } = await simWithClients(t, { podTerminateSeconds: 1 })
  const onNode = async (node: string) => (await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items
  const dns = (await onNode('worker-small-1')).find((p) => p.metadata?.labels?.['k8s-app'] === 'kube-dns')!
  const before = (await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' })).items.map((p) => p.metadata!.name)
  await core.patchNode({ name: 'worker-small-1', body: [{ op: 'add', path: '/spec/unschedulable', value: true }] })
  await core.createNamespacedPodEviction({ namespace: 'kube-system', name: dns.metadata!.name!, body: { metadata: { name: dns.metadata!.name! } } })
  const replacement = await eventually(async () => (await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' }))
    .items.find((p) => !before.includes(p.metadata!.name)))
  t.not(replacement.spec?.nodeName, 'worker-small-1', 'not on the cordoned node')
  t.not(replacement.spec?.nodeName, 'control-plane-1', 'not on the tainted control plane')
  t.not(replacement.spec?.nodeName, 'worker-medium-2', 'not on the NotReady node')
  t.equal(replacement.status?.phase, 'Running')
  // With the replacement healthy, the budget allows the other coredns pod to go too.
  const pdb = await eventually(async () => {
    const p = await policy.readNamespacedPodDisruptionBudget({ namespace: 'kube-system', name: 'coredns' })
    return (p.status?.disruptionsAllowed ?? 0) >= 1 ? p : undefined
  })
  t.equal(pdb.status?.currentHealthy, 2)
})

t.test('generated cluster at moderate scale: pages, selectors, watch', async (t) => {
  const started = Date.now()
  const { core, sim } = await simWithClients(t, { nodes: 300, podsPerNode: 30, sessionsPerNode: 3 })
  t.ok(Date.now() - started < 15_000, `started in ${Date.now() - started} ms`)
  let pods = 0
  let cont: string | undefined
  do {
    const page = await core.listPodForAllNamespaces({ limit: 500, _continue: cont })
    pods += page.items.length
    cont = page.metadata?._continue
  } while (cont)
  // 30 workload pods per node, plus 2 coredns pods, plus the sessions.
  t.equal(pods, 300 * 30 + 2 + 300 * 3)
  const nodes = await core.listNode({ limit: 100 })
  t.equal(nodes.items[0].metadata?.name, 'node-00001')
  t.equal(nodes.metadata?.remainingItemCount, 200)
  const onNode = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-00123' })
  t.ok(onNode.items.length >= 33)
  const kinds = new Set(onNode.items.map((p) => p.metadata?.ownerReferences?.[0]?.kind ?? 'none'))
  t.same([...kinds].sort(), ['DaemonSet', 'ReplicaSet', 'none'])
  t.ok(onNode.items.every((p) => p.spec?.containers?.[0].resources?.requests?.cpu), 'pods have resource requests')
  const sessions = await core.listNamespacedPod({ namespace: 'streamspace', labelSelector: 'app=streamspace-session' })
  t.equal(sessions.items.length, 900)
  const metrics = await raw(sim, '/apis/metrics.k8s.io/v1beta1/nodes')
  t.equal(metrics.body.items.length, 300)
})

t.test('CLI: writes a kubeconfig, prints the URL, serves, exits on SIGTERM', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sim-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const kubeconfig = join(dir, 'kubeconfig')
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/sim/cli.ts', '--port', '0', '--kubeconfig', kubeconfig, '--nodes', '3',
    '--pods-per-node', '4', '--sessions-per-node', '1', '--metrics', 'off', '--faults', 'latency=1', '--bookmark-seconds', '0.25'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve(out.split('\n')[0])
    })
    child.on('exit', (code) => reject(new Error(`exited ${code}`)))
  })
  t.match(line, /^sim: Kubernetes API at http:\/\/127\.0\.0\.1:\d+ \(3 nodes, /)
  const text = await readFile(kubeconfig, 'utf8')
  t.match(text, /insecure-skip-tls-verify: true/)
  t.match(text, /current-context: streamspace-sim/)
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfig)
  t.equal(kc.getContextObject(kc.getCurrentContext())?.namespace, 'default')
  const core = kc.makeApiClient(CoreV1Api)
  t.equal((await core.listNode({})).items.length, 3)
  const metrics = await fetch(`${kc.getCurrentCluster()!.server}/apis/metrics.k8s.io/v1beta1/nodes`)
  t.equal(metrics.status, 404)
  // --bookmark-seconds reaches the server: a one-second watch gets about four bookmarks.
  const watch = await fetch(`${kc.getCurrentCluster()!.server}/api/v1/nodes?watch=true&allowWatchBookmarks=true&timeoutSeconds=1`)
  const bookmarks = (await watch.text()).split('\n').filter((l) => l.includes('"BOOKMARK"')).length
  t.ok(bookmarks >= 2 && bookmarks <= 5, `bookmarks in 1 s at 0.25 s: ${bookmarks}`)
  child.kill('SIGTERM')
  const code = await new Promise((resolve) => child.on('exit', resolve))
  t.equal(code, 0)
})

t.test('CLI fault spec', async (t) => {
  t.same(parseFaults('error=0.1,latency=50,drop-watch=30000,conflict=0.2'), { errorRate: 0.1, latencyMs: 50, dropWatchMs: 30000, conflictRate: 0.2 })
  t.same(parseFaults('watch-error=504'), { watchErrorCode: 504 })
  t.throws(() => parseFaults('error=2'))
  t.throws(() => parseFaults('bogus=1'))
})

t.test('CLI options: --bookmark-seconds and --help', async (t) => {
  t.equal(parseArgs(['--bookmark-seconds', '60']).bookmarkSeconds, 60)
  t.equal(parseArgs(['--bookmark-seconds', '0.5']).bookmarkSeconds, 0.5)
  t.equal(parseArgs([]).bookmarkSeconds, undefined)
  for (const bad of ['0', '-1', 'soon', '']) t.throws(() => parseArgs(['--bookmark-seconds', bad]), /--bookmark-seconds needs a number of seconds > 0/)
  t.throws(() => parseArgs(['--bookmark-seconds']), /got nothing/)
  t.match(USAGE, /--bookmark-seconds B .*default 15.*about 60/)
  t.equal(parseArgs(['--help']).help, true)
})

t.test('with controllers, seeded sessions are Session objects run by Deployments; hibernate and resume', async (t) => {
  const { sim, core, apps, kc } = await simWithClients(t, {})
  const custom = kc.makeApiClient(CustomObjectsApi)
  const list = await custom.listNamespacedCustomObject({ group: 'stream.space', version: 'v1alpha1', plural: 'sessions', namespace: 'streamspace' }) as any
  t.equal(list.items.length, 6, 'the demo cluster\'s six sessions')
  const s = list.items[0]
  t.match(s, { spec: { user: String, template: String, state: 'running' }, status: { phase: 'Running' } })
  const name = s.metadata.name
  const d = await apps.readNamespacedDeployment({ name, namespace: 'streamspace' })
  t.equal(d.metadata?.ownerReferences?.[0]?.uid, s.metadata.uid, 'the Session owns its Deployment')
  const podsOf = async () => (await core.listNamespacedPod({ namespace: 'streamspace', labelSelector: `session=${name}` })).items
  const [pod] = await podsOf()
  t.match(pod.metadata?.labels, { app: 'streamspace-session', session: name, user: s.spec.user, template: s.spec.template })
  t.equal(pod.metadata?.ownerReferences?.[0]?.kind, 'ReplicaSet')
  const rs = await apps.readNamespacedReplicaSet({ name: pod.metadata!.ownerReferences![0].name, namespace: 'streamspace' })
  t.equal(rs.metadata?.ownerReferences?.[0]?.uid, d.metadata?.uid, 'Deployment -> ReplicaSet -> pod, as the controllers keep them')
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
  await custom.patchNamespacedCustomObject({ group: 'stream.space', version: 'v1alpha1', plural: 'sessions', namespace: 'streamspace', name, body: { spec: { state: 'hibernated' } } }, merge)
  await eventually(async () => (await podsOf()).every((p) => p.metadata?.deletionTimestamp), 5000)
  t.equal((await apps.readNamespacedDeployment({ name, namespace: 'streamspace' })).spec?.replicas, 0)
  await custom.patchNamespacedCustomObject({ group: 'stream.space', version: 'v1alpha1', plural: 'sessions', namespace: 'streamspace', name, body: { spec: { state: 'running' } } }, merge)
  const back = await eventually(async () => (await podsOf()).find((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running'), 5000)
  t.not(back.metadata?.uid, pod.metadata?.uid, 'a new pod')
  t.ok(sim.cluster.store.get('nodes', undefined, back.spec!.nodeName!), 'bound to a node')
  // Generated clusters keep bare session pods unless controllers are on.
  const plain = await simWithClients(t, { nodes: 2, sessionsPerNode: 1 })
  t.equal(((await plain.kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: 'stream.space', version: 'v1alpha1', plural: 'sessions' })) as any).items.length, 0)
  const withObjects = await simWithClients(t, { nodes: 2, sessionsPerNode: 1, controllers: true })
  t.equal(((await withObjects.kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: 'stream.space', version: 'v1alpha1', plural: 'sessions' })) as any).items.length, 2)
})

t.test('controllers: a ReplicaSet pod that fits nowhere stays Pending and is bound when a node turns up', async (t) => {
  const { core, apps } = await simWithClients(t, { nodes: 0, controllers: true })
  const labels = { app: 'waiting' }
  await apps.createNamespacedDeployment({ namespace: 'default', body: { metadata: { name: 'waiting' }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'busybox:1.37.0' }] } } } } })
  const pods = async () => (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=waiting' })).items
  const pending = await eventually(async () => (await pods())[0])
  t.equal(pending.status?.phase, 'Pending')
  t.notOk(pending.spec?.nodeName)
  await core.createNode({ body: readyNode('late-1') })
  const bound = await eventually(async () => (await pods()).find((p) => p.spec?.nodeName === 'late-1' && p.status?.phase === 'Running'))
  t.equal(bound.metadata?.uid, pending.metadata?.uid, 'the same pod, bound')
})
