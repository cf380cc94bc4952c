// Parity with kubectl drain: the same fixtures on two identical clusters, one drained by this
// service, the other by the machine's kubectl (/usr/bin/kubectl picks the release matching the
// server's /version). Both must evict exactly the same pods and refuse in the same cases,
// naming the same pods.
import t from 'tap'
import { execFile } from 'node:child_process'
import { startService } from '../helpers/service.js'
import { eachBackend, startBackend, type Backend } from '../helpers/backend.js'
import type { KubeClients } from '../../src/kube/client.js'
import { completePod, createPod, createReplicaSet, mixedNode, podsOnNode } from './fixtures.js'

const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl'

// Per eachBackend round: the cluster this service drains, and an identical one kubectl drains.
let theirs: Backend

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL, ['--kubeconfig', theirs.kubeconfigPath, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

interface Options { force?: boolean; ignore_daemonsets?: boolean; delete_emptydir_data?: boolean; disable_eviction?: boolean; timeout_seconds?: number }

function kubectlFlags(o: Options): string[] {
  const flags = [`--timeout=${o.timeout_seconds ?? 60}s`]
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

/** drained: 200 / kubectl exit 0. refused: 422 / kubectl exit 1 listing the pods. timeout: 504 / exit 1. */
type Outcome = 'drained' | 'refused' | 'timeout'

const cases: Array<{ name: string; setup: Setup; options: Options; outcome: Outcome }> = [
  { name: 'daemonset-ignored', setup: (c, n) => mixedNode(c, n).then(() => {}), options: {}, outcome: 'drained' },
  { name: 'daemonset-not-ignored', setup: (c, n) => mixedNode(c, n).then(() => {}), options: { ignore_daemonsets: false }, outcome: 'refused' },
  { name: 'unmanaged', setup: (c, n) => mixedNode(c, n, { unmanaged: true }).then(() => {}), options: {}, outcome: 'refused' },
  { name: 'unmanaged-force', setup: (c, n) => mixedNode(c, n, { unmanaged: true }).then(() => {}), options: { force: true }, outcome: 'drained' },
  { name: 'emptydir', setup: (c, n) => mixedNode(c, n, { emptyDir: true }).then(() => {}), options: {}, outcome: 'refused' },
  { name: 'emptydir-delete', setup: (c, n) => mixedNode(c, n, { emptyDir: true }).then(() => {}), options: { delete_emptydir_data: true }, outcome: 'drained' },
  // A PDB-protected ReplicaSet spread over two nodes: the budget allows both evictions here.
  { name: 'pdb', setup: (c, n) => mixedNode(c, n, { pdb: { minAvailable: 1 }, webElsewhere: 1 }).then(() => {}), options: {}, outcome: 'drained' },
  // A budget that allows no disruption: both give up at the timeout, having evicted nothing.
  { name: 'pdb-blocks', setup: (c, n) => mixedNode(c, n, { pdb: { maxUnavailable: 0 } }).then(() => {}), options: { timeout_seconds: 3 }, outcome: 'timeout' },
  { name: 'completed', setup: (c, n) => mixedNode(c, n, { completed: true }).then(() => {}), options: {}, outcome: 'drained' },
  {
    name: 'completed-emptydir-daemonset',
    async setup(c, n) {
      const { ns } = await mixedNode(c, n, { completed: true })
      const rs = await createReplicaSet(c, ns, 'batch', 1, { app: 'batch' })
      await createPod(c, { namespace: ns, name: 'batch-0', node: n, owner: rs, labels: { app: 'batch' }, emptyDir: true })
      await completePod(c, ns, 'batch-0', 'Failed')
    },
    options: {},
    outcome: 'drained',
  },
  {
    name: 'everything-refused',
    setup: (c, n) => mixedNode(c, n, { unmanaged: true, emptyDir: true }).then(() => {}),
    options: { ignore_daemonsets: false },
    outcome: 'refused',
  },
  {
    name: 'orphaned-daemonset-pod-force',
    async setup(c, n) {
      const { ns } = await mixedNode(c, n)
      await c.apps.deleteNamespacedDaemonSet({ namespace: ns, name: 'agent', propagationPolicy: 'Orphan' })
    },
    options: { force: true },
    outcome: 'drained',
  },
  {
    name: 'disable-eviction',
    setup: (c, n) => mixedNode(c, n, { pdb: { maxUnavailable: 0 } }).then(() => {}),
    options: { disable_eviction: true },
    outcome: 'drained',
    // kubectl 1.33 sends DELETE with a protobuf DeleteOptions body; the simulator reads only JSON.
  },
]

eachBackend(t, 'parity with kubectl drain', async (t, ours) => {
  theirs = await startBackend(ours.name)
  const svc = await startService(ours.kc)
  for (const k of cases) {
    await t.test(k.name, async (t) => {
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

      const status = { drained: 200, refused: 422, timeout: 504 }[k.outcome]
      t.equal(kc.code !== 0, k.outcome !== 'drained', `kubectl ${k.outcome === 'drained' ? 'drains' : 'fails'}`, { detail })
      t.equal(res.status, status, `service answers ${status}`, { detail })
      t.same(afterOurs, afterTheirs, 'the same pods are left on the node', { detail })
      const gone = (after: string[]) => before.filter((p) => !after.includes(p)).sort()
      t.same(gone(afterOurs), gone(afterTheirs), 'the same pods were evicted', { detail })
      if (k.outcome === 'timeout') {
        t.same(gone(afterOurs), [], 'nothing evicted')
        t.match(kc.stderr, /global timeout reached/, 'kubectl gave up at its timeout')
      } else if (k.outcome === 'refused') {
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
  await svc.close()
  await theirs.close()
})
