// The cleanup command (`npm run cleanup`, src/cleanup.ts) on the simulator: what the service wrote
// (made here with the service's own functions) is removed, what others wrote stays, the leader
// Lease is taken over first, a second run finds nothing, an unreachable cluster exits 1. The whole
// path through `helm uninstall` on a real API server is test/chart/uninstall.test.ts.
import t from 'tap'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startBackend } from '../helpers/backend.js'
import { createMachineDeployment, createNode, ensureNamespace, kubeRequest } from '../helpers/fixtures.js'
import { CA_MAX_SIZE, CA_MIN_SIZE, applyPatch, RECORD, WRITTEN } from '../../src/autoscaling/cluster-api.js'
import { CA_SCALE_DOWN_DISABLED, KARPENTER_DO_NOT_DISRUPT, PROTECTED_BY, protectionPatch } from '../../src/autoscaling/protection.js'
import { applyOverprovisioning, ensurePriorityClass } from '../../src/kube/cluster-api.js'
import { CORDON_REASON, CORDONED_AT, CORDONED_BY, patchNodeAnnotations } from '../../src/kube/node-patches.js'
import { LEADER_LEASE_NAME, OVERPROVISIONING_NAME as OP } from '../../src/kube/permissions.js'
import { CLEANUP_IDENTITY } from '../../src/autoscaling/cleanup.js'

const NS = 'streamspace'

/** Runs `tsx src/cleanup.ts` (what `npm run cleanup` runs); asynchronously, as the simulator answers from this process. */
export async function runCleanup(kubeconfig: string): Promise<{ status: number | null; stdout: string; stderr: string; seconds: number }> {
  const started = Date.now()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cleanup.ts'], {
    env: { PATH: process.env.PATH, KUBE_MODE: 'kubeconfig', KUBECONFIG: kubeconfig, POD_NAMESPACE: NS, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = '', stderr = ''
  child.stdout.on('data', (d) => { stdout += d })
  child.stderr.on('data', (d) => { stderr += d })
  const status = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { status, stdout, stderr, seconds: (Date.now() - started) / 1000 }
}

t.test('cleanup removes what the service wrote and nothing else; a second run finds nothing', async (t) => {
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  const c = b.clients
  await ensureNamespace(c, NS)
  await ensureNamespace(c, 'capi')
  // w1: protected by us (cluster-autoscaler's), Karpenter's annotation was someone else's; cordon record of a node since uncordoned.
  await createNode(c, { name: 'w1', cpu: '4', memory: '8Gi' })
  await patchNodeAnnotations(c, 'w1', { [KARPENTER_DO_NOT_DISRUPT]: 'true', team: 'blue' })
  await patchNodeAnnotations(c, 'w1', { ...protectionPatch({ [KARPENTER_DO_NOT_DISRUPT]: 'true' }, true)!, [CORDONED_BY]: 'alice', [CORDON_REASON]: 'old', [CORDONED_AT]: '2026-01-01T00:00:00Z' })
  t.equal((await c.core.readNode({ name: 'w1' })).metadata?.annotations?.[PROTECTED_BY], CA_SCALE_DOWN_DISABLED, 'only cluster-autoscaler\'s was ours')
  // w2: still cordoned, with who and why.
  await createNode(c, { name: 'w2', cpu: '4', memory: '8Gi', unschedulable: true })
  await patchNodeAnnotations(c, 'w2', { [CORDONED_BY]: 'bob', [CORDON_REASON]: 'disk', [CORDONED_AT]: '2026-01-02T00:00:00Z' })
  // A MachineDeployment whose max-size was 7 before us, and one never ours.
  await createMachineDeployment(c, { name: 'md-1', namespace: 'capi', annotations: { [CA_MAX_SIZE]: '7' } })
  await kubeRequest(b.kc, 'PATCH', '/apis/cluster.x-k8s.io/v1beta1/namespaces/capi/machinedeployments/md-1', { metadata: { annotations: applyPatch({ [CA_MAX_SIZE]: '7' }, { [CA_MIN_SIZE]: '1', [CA_MAX_SIZE]: '3' }) } }, 'application/merge-patch+json')
  await createMachineDeployment(c, { name: 'md-other', namespace: 'capi', annotations: { [CA_MIN_SIZE]: '2' } })
  await ensurePriorityClass(c, { name: OP, value: -10, description: 'test' })
  await applyOverprovisioning(c, { namespace: NS, name: OP, priorityClassName: OP, replicas: 1, cpu: '100m', memory: '64Mi', image: 'pause' }, false)
  await kubeRequest(b.kc, 'POST', '/apis/nodes.stream.space/v1alpha1/nodemaintenances', { apiVersion: 'nodes.stream.space/v1alpha1', kind: 'NodeMaintenance', metadata: { name: 'plan-1' }, spec: { nodes: ['w2'], reason: 'disk' } })
  // A leader holds the Lease (renewed just now).
  const now = new Date().toISOString().replace('Z', '000Z')
  await kubeRequest(b.kc, 'POST', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, { metadata: { name: LEADER_LEASE_NAME }, spec: { holderIdentity: 'replica-a', leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaseTransitions: 0 } })

  const run = await runCleanup(b.kubeconfigPath)
  t.equal(run.status, 0, run.stderr)
  t.match(run.stdout, /^cleanup: 5 removed, 1 left, 0 failed$/m)
  t.match(run.stdout, /left: node w2: still cordoned, its annotations .* kept/)
  t.match(run.stdout, /"previousLeader":"replica-a".*waiting 12 s for the leader to step down/, 'took the Lease from the leader and waited for it to step down')
  t.ok(run.seconds >= 12, `(${run.seconds} s)`)

  const w1 = (await c.core.readNode({ name: 'w1' })).metadata?.annotations ?? {}
  t.same(w1, { [KARPENTER_DO_NOT_DISRUPT]: 'true', team: 'blue' }, 'w1: ours gone (protection, stale cordon record), others\' kept')
  const w2 = (await c.core.readNode({ name: 'w2' })).metadata?.annotations ?? {}
  t.same([w2[CORDONED_BY], w2[CORDON_REASON]], ['bob', 'disk'], 'w2: still cordoned, its reason kept')
  const md1 = (await kubeRequest(b.kc, 'GET', '/apis/cluster.x-k8s.io/v1beta1/namespaces/capi/machinedeployments/md-1')).body.metadata.annotations
  t.same(md1, { [CA_MAX_SIZE]: '7' }, 'md-1: its max-size from before us back, our record and min-size gone')
  t.notOk(RECORD in md1 || WRITTEN in md1)
  t.same((await kubeRequest(b.kc, 'GET', '/apis/cluster.x-k8s.io/v1beta1/namespaces/capi/machinedeployments/md-other')).body.metadata.annotations, { [CA_MIN_SIZE]: '2' }, 'md-other untouched')
  t.equal((await kubeRequest(b.kc, 'GET', `/apis/scheduling.k8s.io/v1/priorityclasses/${OP}`)).status, 404, 'PriorityClass gone')
  t.equal((await kubeRequest(b.kc, 'GET', `/apis/apps/v1/namespaces/${NS}/deployments/${OP}`)).status, 404, 'Deployment gone')
  t.equal((await kubeRequest(b.kc, 'GET', '/apis/nodes.stream.space/v1alpha1/nodemaintenances/plan-1')).status, 404, 'NodeMaintenance record gone')
  const lease = (await kubeRequest(b.kc, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEADER_LEASE_NAME}`)).body
  t.same([lease.spec.holderIdentity, lease.spec.leaseDurationSeconds], [CLEANUP_IDENTITY, 60], 'the Lease held by the cleanup, so no replica writes again meanwhile')

  const again = await runCleanup(b.kubeconfigPath)
  t.equal(again.status, 0, again.stderr)
  t.match(again.stdout, /^cleanup: 0 removed, 1 left, 0 failed$/m, 'idempotent: nothing left to remove')
  t.notMatch(again.stdout, /waiting 12 s/, 'the Lease already its own: no wait')
})

t.test('an unreachable cluster: each part said FAILED, exit 1', async (t) => {
  const dir = t.testdir()
  const kubeconfig = join(dir, 'kubeconfig')
  writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'http://127.0.0.1:1', insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`)
  const run = await runCleanup(kubeconfig)
  t.equal(run.status, 1, run.stderr)
  t.match(run.stdout, /FAILED: leader Lease: /)
  t.match(run.stdout, /FAILED: node annotations: /)
})
