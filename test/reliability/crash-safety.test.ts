// Crash safety of drains: the service runs as operators run it (`node --import tsx src/server.ts`,
// KUBE_MODE=kubeconfig) against the simulated cluster; a drain is running, held by a
// PodDisruptionBudget, when the process gets SIGTERM (graceful stop) or SIGKILL (no goodbye).
// Asserted each time: the node stays cordoned; no pod was deleted that kubectl drain (same
// options) would not have deleted: DaemonSet and mirror pods stay, PDB-protected pods stay while
// the budget forbids it, another node's unmanaged pod (refused without force) stays, pods on other
// nodes stay; a restarted service takes the drain (a NodeDrain object) up again and, once the budget allows,
// the same drain runs again and finishes. Simulated cluster only (a process per service start).
import t, { type Test } from 'tap'
import type { V1Pod } from '@kubernetes/client-node'
import { backendSkip, startBackend, type Backend } from '../helpers/backend.js'
import { waitFor } from '../helpers/service.js'
import { apiAt, startProcess, type Proc } from '../helpers/process.js'
import { createDaemonSet, createNode, createPod, createReplicaSet, ensureNamespace, isCordoned } from '../drain/fixtures.js'
import { createPDB } from '../helpers/fixtures.js'

// Six service processes start (tsx) in this file: about 2 minutes alone, 3.5 under the full suite's load.
t.setTimeout(600_000)

// Skipped only when TEST_BACKENDS leaves out the sim: six service processes against the real API
// server too would double the file's 2-3.5 minutes, past tap's per-file limit.

const api = (p: Proc, path: string, init: { method?: string; json?: unknown } = {}) => apiAt(p.url, path, init)

interface DrainStatus { phase: string; message: string; cordoned: boolean; evicted: string[]; pending: { pod: string; reason: string; pdb: string | null }[] }
const drainStatus = async (p: Proc, node: string) => (await (await api(p, `/nodes/${node}/drain`)).json()) as DrainStatus

/** Pods by namespace/name with their uid, across the cluster (what was deleted shows as missing). */
async function podUids(b: Backend): Promise<Map<string, string>> {
  const items: V1Pod[] = (await b.clients.core.listPodForAllNamespaces({})).items
  return new Map(items.map((p) => [`${p.metadata!.namespace}/${p.metadata!.name}`, p.metadata!.uid!]))
}

/**
 * One node, `node`, in namespace `ns`, as a cluster has it:
 *   web-0, web-1   ReplicaSet pods under PDB "web" (minAvailable 2: no eviction allowed)
 *   api-0..api-2   ReplicaSet pods, no PDB (evicted at once)
 *   ds-<node>      DaemonSet pod (kubectl skips it with --ignore-daemonsets)
 *   mirror-<node>  mirror pod in kube-system (kubectl never evicts it)
 * and `<node>-b` with an unmanaged pod (kubectl refuses the drain without --force) and a ReplicaSet
 * pod, and `<node>-c` with a pod of web elsewhere, which no drain here touches.
 */
async function fixture(b: Backend, node: string) {
  const ns = `crash-${node}`
  await ensureNamespace(b.clients, ns)
  await ensureNamespace(b.clients, 'kube-system')
  for (const n of [node, `${node}-b`, `${node}-c`]) await createNode(b.clients, n)
  const web = await createReplicaSet(b.clients, ns, 'web', 3, { app: 'web' })
  const apiRs = await createReplicaSet(b.clients, ns, 'api', 3, { app: 'api' })
  const ds = await createDaemonSet(b.clients, ns, 'agent', { app: 'agent' })
  await createPod(b.clients, { namespace: ns, name: 'web-0', node, owner: web, labels: { app: 'web' } })
  await createPod(b.clients, { namespace: ns, name: 'web-1', node, owner: web, labels: { app: 'web' } })
  await createPod(b.clients, { namespace: ns, name: 'web-2', node: `${node}-c`, owner: web, labels: { app: 'web' } })
  for (let i = 0; i < 3; i++) await createPod(b.clients, { namespace: ns, name: `api-${i}`, node, owner: apiRs, labels: { app: 'api' } })
  await createPod(b.clients, { namespace: ns, name: `ds-${node}`, node, owner: ds, labels: { app: 'agent' } })
  await createPod(b.clients, { namespace: 'kube-system', name: `mirror-${node}`, node, mirror: true, labels: { component: 'static' } })
  await createPod(b.clients, { namespace: ns, name: 'bare', node: `${node}-b`, labels: { app: 'bare' } })
  await createPod(b.clients, { namespace: ns, name: 'api-b', node: `${node}-b`, owner: apiRs, labels: { app: 'api' } })
  // All but one web pod must stay: with web-2 elsewhere, evicting either web pod here is refused.
  await createPDB(b.clients, { namespace: ns, name: 'web', selector: { app: 'web' }, minAvailable: 3, waitStatus: false })
  const may = {
    // What kubectl drain <node> (no --force, --ignore-daemonsets) deletes in the end.
    deleted: [`${ns}/api-0`, `${ns}/api-1`, `${ns}/api-2`, `${ns}/web-0`, `${ns}/web-1`],
    // What it deletes while the PDB allows no disruption of web.
    deletedWhileBlocked: [`${ns}/api-0`, `${ns}/api-1`, `${ns}/api-2`],
  }
  return { ns, may, web }
}

/** Pods that are gone or were replaced (another uid), compared to `before`. */
function deletedSince(before: Map<string, string>, now: Map<string, string>): string[] {
  return [...before].filter(([key, uid]) => now.get(key) !== uid).map(([key]) => key).sort()
}

async function crashDuringDrain(t: Test, signal: 'SIGTERM' | 'SIGKILL') {
  // SIGKILL comes while the evicted pods are still terminating (15 s), and the restarted drain meets them.
  const b = await startBackend('sim', { podTerminateSeconds: signal === 'SIGKILL' ? 15 : 1 })
  t.teardown(() => b.close())
  const node = signal === 'SIGTERM' ? 'term' : 'kill'
  const { ns, may, web } = await fixture(b, node)
  const before = await podUids(b)

  const first = await startProcess(t, b, `${node}-1`)
  // The drain without force on <node>-b is refused at once (an unmanaged pod), as kubectl refuses it.
  const refused = await api(first, `/nodes/${node}-b/drain`, { method: 'POST', json: {} })
  t.equal(refused.status, 422, 'unmanaged pod without force: refused')
  t.match((await refused.json() as { message: string }).message, /bare/)

  // The drain of <node>: SIGTERM catches a caller waiting for the result; SIGKILL one that is not.
  const waiting = signal === 'SIGTERM'
  const drainReq = api(first, `/nodes/${node}/drain`, { method: 'POST', json: { timeout_seconds: 300, wait: waiting } })
  if (!waiting) t.equal((await drainReq).status, 202)
  await waitFor(async () => {
    const st = await drainStatus(first, node)
    const web = st.pending.filter((p) => p.pod.includes('/web-'))
    const api = [...st.evicted, ...st.pending.filter((p) => p.pod.includes('/api-') && /terminating/.test(p.reason)).map((p) => p.pod)]
    return st.phase === 'running' && api.length === 3 && web.length === 2 && web.every((p) => p.pdb === 'web')
  }, 30_000, 'api pods evicted (terminating or gone), web pods held by PDB web')
  t.ok(await isCordoned(b.clients, node), 'cordoned while draining')

  first.child.kill(signal)
  const exit = await first.exited
  if (signal === 'SIGTERM') {
    t.equal(exit.code, 0, `graceful exit on SIGTERM (${JSON.stringify(exit)})`)
    const res = await drainReq.catch((err: Error) => err)
    t.notOk(res instanceof Error, `the waiting caller got an answer, not a cut connection${res instanceof Error ? `: ${res.message}` : ''}`)
    if (!(res instanceof Error)) {
      t.equal(res.status, 503, 'the waiting caller: 503')
      t.match((await res.json() as { message: string }).message, new RegExp(`the service is stopping: the drain of node ${node} goes on in the cluster`))
    }
  } else {
    t.equal(exit.signal, 'SIGKILL')
  }

  // Whatever was in flight has landed: nothing more goes.
  await new Promise((r) => setTimeout(r, signal === 'SIGKILL' ? 500 : 3000))
  t.ok(await isCordoned(b.clients, node), 'the node stays cordoned')
  const terminating = (await b.clients.core.listNamespacedPod({ namespace: ns })).items.filter((p) => p.metadata?.deletionTimestamp).map((p) => `${ns}/${p.metadata!.name}`)
  const goneOrGoing = [...new Set([...deletedSince(before, await podUids(b)), ...terminating])].sort()
  t.same(goneOrGoing, may.deletedWhileBlocked, 'deleted (or terminating) only what kubectl drain would have by now: the api pods')
  if (signal === 'SIGKILL') t.ok(terminating.length > 0, `${terminating.length} evicted pods still terminating when the service restarts`)

  // The drain is a NodeDrain object: the restarted service (the leader once the Lease is free)
  // takes it up again, from the node as it is, and it waits on the budget as before.
  const second = await startProcess(t, b, `${node}-2`)
  await waitFor(async () => (await drainStatus(second, node)).phase === 'running', 30_000, 'the restarted service runs the same drain again')
  const st = await drainStatus(second, node)
  t.ok(st.cordoned)
  t.ok(await isCordoned(b.clients, node), 'still cordoned')

  // The budget allows it now (two more web replicas elsewhere, as a scale-up brings): the drain
  // finishes by itself.
  await createPod(b.clients, { namespace: ns, name: 'web-3', node: `${node}-c`, owner: web, labels: { app: 'web' } })
  await createPod(b.clients, { namespace: ns, name: 'web-4', node: `${node}-c`, owner: web, labels: { app: 'web' } })
  const stillTerminating = (await b.clients.core.listNamespacedPod({ namespace: ns })).items.filter((p) => p.metadata?.deletionTimestamp).map((p) => p.metadata!.name)
  t.comment(`pods still terminating when the drain goes on: ${stillTerminating.join(', ') || 'none'}`)
  await waitFor(async () => (await drainStatus(second, node)).phase !== 'running', 120_000, 'the drain ends')
  const done = await drainStatus(second, node)
  t.equal(done.phase, 'succeeded', `the drain finishes: ${done.message}`)
  t.same(done.evicted.filter((p) => p.includes('/web-')).sort(), [`${ns}/web-0`, `${ns}/web-1`], 'it evicts what was left')
  t.ok(done.evicted.every((p) => may.deleted.includes(p)), `and nothing else (${done.evicted.join(', ')})`)
  t.ok(await isCordoned(b.clients, node), 'still cordoned after the drain')
  const after = await podUids(b)
  t.same(deletedSince(before, after), may.deleted, 'in all, exactly what kubectl drain deletes: DaemonSet, mirror, other nodes\' and the unmanaged pod stay')
  t.ok(after.has(`${ns}/ds-${node}`) && after.has(`kube-system/mirror-${node}`) && after.has(`${ns}/bare`), 'DaemonSet, mirror and unmanaged pods are there')
  second.child.kill('SIGTERM')
  t.equal((await second.exited).code, 0)
}

t.test('SIGTERM during a drain held by a PodDisruptionBudget', { skip: backendSkip('sim') }, async (t) => {
  await crashDuringDrain(t, 'SIGTERM')
})

t.test('SIGKILL during a drain held by a PodDisruptionBudget', { skip: backendSkip('sim') }, async (t) => {
  await crashDuringDrain(t, 'SIGKILL')
})

interface Plan { id: string; state: string; message?: string; nodes: { name: string; state: string; message?: string }[] }

t.test('SIGKILL of the leader during a maintenance plan\'s drain: the restarted service resumes the plan and it finishes', { skip: backendSkip('sim') }, async (t) => {
  const b = await startBackend('sim', { podTerminateSeconds: 1 })
  t.teardown(() => b.close())
  const node = 'plan'
  const { ns, may, web } = await fixture(b, node)
  const before = await podUids(b)
  const first = await startProcess(t, b, `${node}-1`)
  const getPlan = async (p: Proc, id: string) => (await (await api(p, `/maintenance/${id}`)).json()) as Plan
  await waitFor(async () => (await (await api(first, '/cluster/health')).json() as { leader: { is_self: boolean } }).leader.is_self, 30_000, 'first process leads')
  const created = await api(first, '/maintenance', { method: 'POST', json: { nodes: [node], reason: 'kernel upgrade', drain: { timeout_seconds: 300 } } })
  const body = await created.json() as Plan & { message?: string }
  t.equal(created.status, 201, body.message ?? '')
  const id = body.id
  await waitFor(async () => {
    const st = await drainStatus(first, node)
    return st.phase === 'running' && st.evicted.length === 3 && st.pending.length === 2 && st.pending.every((p) => p.pdb === 'web')
  }, 30_000, 'the plan\'s drain: api pods evicted, web pods held by PDB web')
  t.equal((await getPlan(first, id)).nodes[0]!.state, 'draining')

  first.child.kill('SIGKILL')
  await first.exited
  await new Promise((r) => setTimeout(r, 1000))
  t.ok(await isCordoned(b.clients, node), 'the node stays cordoned')
  t.same(deletedSince(before, await podUids(b)), may.deletedWhileBlocked, 'only the api pods are gone')

  // The budget allows it now; the restarted service takes the Lease once the dead leader's expires
  // (15 s) and carries on with the plan from its stored step.
  await createPod(b.clients, { namespace: ns, name: 'web-3', node: `${node}-c`, owner: web, labels: { app: 'web' } })
  await createPod(b.clients, { namespace: ns, name: 'web-4', node: `${node}-c`, owner: web, labels: { app: 'web' } })
  const second = await startProcess(t, b, `${node}-2`)
  let last: Plan | undefined
  await waitFor(async () => (last = await getPlan(second, id)).state === 'succeeded', 90_000, 'the plan succeeds after the restart')
    .catch((err: Error) => { throw new Error(`${err.message}; last: ${JSON.stringify(last)}`) })
  t.equal(last!.nodes[0]!.state, 'drained', last!.nodes[0]!.message ?? '')
  t.ok(await isCordoned(b.clients, node), 'drained and still cordoned (until the plan is completed)')
  t.same(deletedSince(before, await podUids(b)), may.deleted, 'in all, exactly what kubectl drain deletes')
  second.child.kill('SIGTERM')
  t.equal((await second.exited).code, 0)
})
