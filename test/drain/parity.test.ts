// Parity with kubectl drain: the same fixtures on two identical clusters, one drained by this
// service, the other by the machine's kubectl (/usr/bin/kubectl picks the release matching the
// server's /version). Both must evict exactly the same pods and refuse in the same cases,
// naming the same pods.
import t from 'tap'
import { execFile } from 'node:child_process'
import { startService } from '../helpers/service.js'
import { startCluster } from './cluster.js'
import type { KubeClients } from '../../src/kube/client.js'
import { completePod, createPod, createReplicaSet, mixedNode, podsOnNode } from './fixtures.js'

const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl'

const [ours, theirs] = await Promise.all([startCluster(), startCluster()])
const svc = await startService(ours.kc)
t.teardown(async () => {
  await svc.close()
  await Promise.all([ours.close(), theirs.close()])
})

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL, ['--kubeconfig', theirs.kubeconfigPath, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

interface Options { force?: boolean; ignore_daemonsets?: boolean; delete_emptydir_data?: boolean; disable_eviction?: boolean }

function kubectlFlags(o: Options): string[] {
  const flags = ['--timeout=60s']
  if (o.ignore_daemonsets !== false) flags.push('--ignore-daemonsets')
  if (o.force) flags.push('--force')
  if (o.delete_emptydir_data) flags.push('--delete-emptydir-data')
  if (o.disable_eviction) flags.push('--disable-eviction')
  return flags
}

/** "cannot delete <why>: ns/a, ns/b" lines of kubectl's error, as pod names. */
function kubectlRefused(stderr: string): string[] {
  const pods = new Set<string>()
  for (const line of stderr.split('\n')) {
    const m = /cannot delete [^:]*(?:"[^"]*"[^:]*)*: (.*)$/.exec(line.replace(/^error: .*due to error: \[?/, ''))
    if (!m) continue
    for (const part of m[1].split(/, |\], continuing command\.\.\.|\]/)) {
      const pod = part.trim().match(/^([a-z0-9.-]+\/[a-z0-9.-]+)$/)?.[1]
      if (pod) pods.add(pod)
    }
  }
  return [...pods].sort()
}

type Setup = (c: KubeClients, node: string) => Promise<void>

const cases: Array<{ name: string; setup: Setup; options: Options; refused: boolean; simTodo?: string }> = [
  { name: 'daemonset-ignored', setup: (c, n) => mixedNode(c, n).then(() => {}), options: {}, refused: false },
  { name: 'daemonset-not-ignored', setup: (c, n) => mixedNode(c, n).then(() => {}), options: { ignore_daemonsets: false }, refused: true },
  { name: 'unmanaged', setup: (c, n) => mixedNode(c, n, { unmanaged: true }).then(() => {}), options: {}, refused: true },
  { name: 'unmanaged-force', setup: (c, n) => mixedNode(c, n, { unmanaged: true }).then(() => {}), options: { force: true }, refused: false },
  { name: 'emptydir', setup: (c, n) => mixedNode(c, n, { emptyDir: true }).then(() => {}), options: {}, refused: true },
  { name: 'emptydir-delete', setup: (c, n) => mixedNode(c, n, { emptyDir: true }).then(() => {}), options: { delete_emptydir_data: true }, refused: false },
  { name: 'pdb', setup: (c, n) => mixedNode(c, n, { pdb: { maxUnavailable: 1 } }).then(() => {}), options: {}, refused: false },
  { name: 'completed', setup: (c, n) => mixedNode(c, n, { completed: true }).then(() => {}), options: {}, refused: false },
  {
    name: 'completed-emptydir-daemonset',
    async setup(c, n) {
      const { ns } = await mixedNode(c, n, { completed: true })
      const rs = await createReplicaSet(c, ns, 'batch', 1, { app: 'batch' })
      await createPod(c, { namespace: ns, name: 'batch-0', node: n, owner: rs, labels: { app: 'batch' }, emptyDir: true })
      await completePod(c, ns, 'batch-0', 'Failed')
    },
    options: {},
    refused: false,
  },
  {
    name: 'everything-refused',
    setup: (c, n) => mixedNode(c, n, { unmanaged: true, emptyDir: true }).then(() => {}),
    options: { ignore_daemonsets: false },
    refused: true,
  },
  {
    name: 'orphaned-daemonset-pod-force',
    async setup(c, n) {
      const { ns } = await mixedNode(c, n)
      await c.apps.deleteNamespacedDaemonSet({ namespace: ns, name: 'agent', propagationPolicy: 'Orphan' })
    },
    options: { force: true },
    refused: false,
  },
  {
    name: 'disable-eviction',
    setup: (c, n) => mixedNode(c, n, { pdb: { maxUnavailable: 0 } }).then(() => {}),
    options: { disable_eviction: true },
    refused: false,
    // kubectl 1.33 sends DELETE with a protobuf DeleteOptions body; the simulator reads only JSON.
    simTodo: 'the simulated cluster answers 400 to kubectl\'s protobuf DELETE body',
  },
]

for (const k of cases) {
  const todo = ours.name === 'sim' && k.simTodo ? k.simTodo : false
  t.test(k.name, { todo }, async (t) => {
    const node = `p-${k.name}`
    await Promise.all([k.setup(ours.clients, node), k.setup(theirs.clients, node)])
    const before = await podsOnNode(ours.clients, node)
    t.same(await podsOnNode(theirs.clients, node), before, 'identical fixtures')

    const [res, kc] = await Promise.all([
      svc.api(`/nodes/${node}/drain`, { method: 'POST', json: k.options }),
      kubectl(['drain', node, ...kubectlFlags(k.options)]),
    ])
    const body = await res.json()
    const afterOurs = await podsOnNode(ours.clients, node)
    const afterTheirs = await podsOnNode(theirs.clients, node)
    const detail = `kubectl exit ${kc.code}\n${kc.stdout}\n${kc.stderr}\nservice ${res.status} ${JSON.stringify(body)}`

    t.equal(kc.code !== 0, k.refused, `kubectl ${k.refused ? 'refuses' : 'drains'}`, { detail })
    t.equal(res.status, k.refused ? 422 : 200, `service ${k.refused ? 'refuses (422)' : 'drains (200)'}`, { detail })
    t.same(afterOurs, afterTheirs, 'the same pods are left on the node', { detail })
    const gone = (after: string[]) => before.filter((p) => !after.includes(p)).sort()
    t.same(gone(afterOurs), gone(afterTheirs), 'the same pods were evicted', { detail })
    if (k.refused) {
      t.same(gone(afterOurs), [], 'nothing evicted when refused')
      const ourRefused = (body.details.refused as Array<{ pod: string }>).map((r) => r.pod).sort()
      t.same(ourRefused, kubectlRefused(kc.stderr), 'refusing for the same pods', { detail })
    } else {
      t.same([...body.evicted].sort(), gone(afterOurs), 'our result lists exactly the pods that went')
      const kubectlEvicted = [...kc.stdout.matchAll(/^pod\/(\S+) (?:evicted|deleted)$/gm)].map((m) => m[1]).sort()
      t.same(body.evicted.map((p: string) => p.split('/')[1]).sort(), kubectlEvicted, 'kubectl reported the same evictions')
    }
  })
}
