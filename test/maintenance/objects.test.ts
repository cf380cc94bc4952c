// Plans as NodeMaintenance objects (issue 23): what every replica reads is the same object, the
// leader alone reconciles it, finished plans are collected, and nothing grows in memory.
import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { execFile } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eachBackend } from '../helpers/backend.js'
import { startSim } from '../../src/sim/index.js'
import { startService, type Service } from '../helpers/service.js'
import { FakeClock } from '../helpers/clock.js'
import { ensureNamespace, kubeRequest, waitFor } from '../helpers/fixtures.js'
import { call, endSession, node, nodeState, NS, sessionPod, until } from './helpers.js'
import type { Maintenance } from '../../src/maintenance/types.js'

const isLeader = async (s: Service) => ((await (await s.api('/cluster/health')).json()) as { leader: { is_self: boolean } }).leader.is_self
const NM = '/apis/nodes.stream.space/v1alpha1/nodemaintenances'

/** A simulated cluster of `nodes` nodes (each with its DaemonSet pods only). */
async function simWith(nodes: number): Promise<{ kc: KubeConfig; close(): Promise<void> }> {
  const sim = await startSim({ nodes, podsPerNode: 0 })
  const kc = new KubeConfig()
  kc.loadFromString(sim.kubeconfig())
  return { kc, close: () => sim.close() }
}

// Finding 2: a cancel sent to a follower was left as a key the leader tripped over for good.
eachBackend(t, 'two replicas: a cancel on the follower, then a second plan made on the follower runs; both answer the same', async (t, b) => {
  await ensureNamespace(b.clients, NS)
  const a = await startService(b.kc, { env: { POD_NAME: 'replica-a' } })
  t.teardown(() => a.close())
  await waitFor(() => isLeader(a), 20_000, 'replica-a leads')
  const f = await startService(b.kc, { env: { POD_NAME: 'replica-b' } })
  t.teardown(() => f.close())
  t.notOk(await isLeader(f), 'replica-b follows')
  await node(b, 'c1')
  await node(b, 'c2')
  await sessionPod(b, 'c1-s', 'c1', 'ann')
  await sessionPod(b, 'c2-s', 'c2', 'bob')
  await waitFor(async () => (await call<{ sessions: number }>(f, 'GET', '/nodes/c2')).body.sessions === 1, 10_000, 'the follower sees the sessions')

  const first = await call(f, 'POST', '/maintenance', { nodes: ['c1'], reason: 'first', force: true })
  t.equal(first.status, 201, first.body.message)
  await until(f, first.body.id, (p) => nodeState(p, 'c1').state === 'waiting_for_sessions', 'the leader took up the first plan')
  const cancelled = await call(f, 'DELETE', `/maintenance/${first.body.id}`)
  t.equal(cancelled.status, 200, cancelled.body.message)
  t.equal(cancelled.body.state, 'cancelled', 'the follower answers with the leader\'s account')
  t.match(nodeState(cancelled.body, 'c1').message, /^cancelled by alice while waiting_for_sessions/)

  const second = await call(f, 'POST', '/maintenance', { nodes: ['c2'], reason: 'second', force: true })
  t.equal(second.status, 201, second.body.message)
  await until(f, second.body.id, (p) => nodeState(p, 'c2').state === 'waiting_for_sessions', 'the second plan runs')
  t.equal((await b.clients.core.readNode({ name: 'c2' })).spec?.unschedulable, true, 'its node is cordoned')
  for (const s of [a, f]) {
    const list = await call<Maintenance[]>(s, 'GET', '/maintenance')
    t.equal(list.status, 200, 'GET /maintenance is 200')
  }
  await waitFor(async () => JSON.stringify((await call<Maintenance[]>(a, 'GET', '/maintenance')).body) === JSON.stringify((await call<Maintenance[]>(f, 'GET', '/maintenance')).body), 10_000, 'both replicas answer the same')
  t.ok(a.app.maintenance.runsHere(second.body.id) && !f.app.maintenance.runsHere(second.body.id), 'run by the leader only')
  await endSession(b, 'c2-s')
  await until(f, second.body.id, (p) => p.state === 'succeeded', 'the second plan ends')
})

// kubectl apply (GitOps): the same checks as POST, reported as the condition Accepted.
eachBackend(t, 'a NodeMaintenance applied with kubectl runs as POST does; a bad one is refused with Accepted=False', async (t, b) => {
  await ensureNamespace(b.clients, NS)
  const svc = await startService(b.kc)
  t.teardown(() => svc.close())
  await waitFor(() => svc.app.health.isLeader(), 20_000, 'leadership')
  await node(b, 'g1')
  await node(b, 'g-spare')
  const body = (name: string, spec: object) => ({ apiVersion: 'nodes.stream.space/v1alpha1', kind: 'NodeMaintenance', metadata: { name }, spec })
  // kubectl as an admin runs it: `kubectl apply -f` with its default validation (the server's OpenAPI).
  const dir = await mkdtemp(join(tmpdir(), 'nm-apply-'))
  const kubectl = (...args: string[]) => new Promise<string>((resolve, reject) => {
    execFile('kubectl', ['--kubeconfig', b.kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr || err.message}`))
      else resolve(stdout)
    })
  })
  const file = join(dir, 'plan.yaml')
  await writeFile(file, ['apiVersion: nodes.stream.space/v1alpha1', 'kind: NodeMaintenance', 'metadata:', '  name: gitops-1', 'spec:', '  nodes: [g1]', '  reason: from git', '  drain: {timeoutSeconds: 60}', ''].join('\n'))
  t.match(await kubectl('apply', '-f', file), /nodemaintenance\.nodes\.stream\.space\/gitops-1 created/)
  const p = await until(svc, 'gitops-1', (p) => p.state === 'succeeded', 'the applied plan drains its node')
  t.equal(nodeState(p, 'g1').state, 'drained')
  t.equal(p.created_by, 'unknown', 'nobody named: unknown')
  t.match(await kubectl('get', 'nodemaintenances'), /NAME\s+STATE\s+NODES\s+REASON\s+AGE\ngitops-1\s+succeeded\s+1\/1 drained\s+from git\s+\d+s/, 'kubectl get shows state, nodes and age')
  const r = await kubeRequest(b.kc, 'POST', NM, body('gitops-bad', { nodes: ['no-such-node'], reason: 'typo' }))
  t.equal(r.status, 201)
  const bad = await until(svc, 'gitops-bad', (p) => p.state === 'failed', 'refused')
  t.match(bad.message, /refused: nodes: Node "no-such-node" not found/)
  const obj = (await kubeRequest(b.kc, 'GET', `${NM}/gitops-bad`)).body as { status: { conditions: { type: string; status: string; reason: string; message: string }[] } }
  t.match(obj.status.conditions, [{ type: 'Accepted', status: 'False', reason: 'Refused', message: /no-such-node/ }])
})

// Finding 3 and 7: a plan kept every remaining node (~200 KB at 5,000 nodes) in one ConfigMap of 1 MiB;
// plans were never deleted, and the engine kept each plan's history in memory for good.
t.test('200 finished plans at 5,000 nodes are all stored, each small; the newest 100 are kept until the TTL collects them; memory keeps nothing per plan', async (t) => {
  const b = await simWith(5000)
  t.teardown(() => b.close())
  const clock = new FakeClock(Date.now())
  const svc = await startService(b.kc, { clock, env: { CHANGE_RATE_LIMIT_MAX: '100000' } })
  t.teardown(() => svc.close())
  await waitFor(() => svc.app.health.isLeader(), 30_000, 'leadership')
  const ids: string[] = []
  for (let i = 1; i <= 200; i++) {
    const name = `node-${String(i).padStart(5, '0')}`
    const r = await call(svc, 'POST', '/maintenance', { nodes: [name], reason: `batch ${i}`, force: true, drain: { force: true, ignore_daemonsets: true, delete_emptydir_data: true, timeout_seconds: 60 } })
    t.equal(r.status, 201, r.body.message)
    ids.push(r.body.id)
    const ended = await until(svc, r.body.id, (p) => p.state === 'succeeded' || p.state === 'failed', `plan ${i} ends`, 60_000)
    t.equal(ended.state, 'succeeded', `plan ${i} stored to its end`)
    clock.advance(1000) // each ends at its own time: the newest are known
  }
  // All 200 were stored to their end (no size limit hit); beyond the newest 100 the oldest are deleted.
  await waitFor(async () => ((await kubeRequest(b.kc, 'GET', NM)).body as { items: object[] }).items.length === 100, 30_000, 'the newest 100 kept')
  const list = await call<Maintenance[]>(svc, 'GET', '/maintenance')
  t.equal(list.status, 200)
  t.same(list.body.map((p) => p.id).sort(), ids.slice(100).sort(), 'the newest 100 plans, as every replica reads them')
  const objs = (await kubeRequest(b.kc, 'GET', NM)).body as { items: object[] }
  const largest = Math.max(...objs.items.map((o) => JSON.stringify(o).length))
  t.ok(largest < 20_000, `each object is small: the largest is ${largest} bytes (the fit keeps counts, not every remaining node)`)
  const fit = list.body[0].fit!
  t.ok(fit.remaining_count! >= 4800 && fit.remaining_nodes.length <= 20, `fit summary: ${fit.remaining_count} remaining, ${fit.remaining_nodes.length} named`)
  t.equal(svc.app.maintenance.runningCount, 0, 'no runner left in memory')

  clock.advance(7 * 86_400_000 + 1000)
  await waitFor(async () => ((await kubeRequest(b.kc, 'GET', NM)).body as { items: object[] }).items.length === 0, 30_000, 'the TTL (7 days) collects every finished plan')
  await waitFor(async () => (await call<Maintenance[]>(svc, 'GET', '/maintenance')).body.length === 0, 10_000, 'and GET /maintenance no longer lists them')
})

t.test('beyond the newest 100 finished plans, the oldest are deleted; a plan starting in 30 days sleeps once, never spins', async (t) => {
  const b = await simWith(120)
  t.teardown(() => b.close())
  const clock = new FakeClock(Date.now())
  let sleeps = 0
  const counting = { now: () => clock.now(), monotonic: () => clock.monotonic(), sleep: (ms: number, signal?: AbortSignal) => { sleeps++; return clock.sleep(ms, signal) } }
  const svc = await startService(b.kc, { clock: counting, env: { CHANGE_RATE_LIMIT_MAX: '100000' } })
  t.teardown(() => svc.close())
  await waitFor(() => svc.app.health.isLeader(), 30_000, 'leadership')
  for (let i = 1; i <= 105; i++) {
    const r = await call(svc, 'POST', '/maintenance', { nodes: [`node-${String(i).padStart(5, '0')}`], reason: `r${i}`, force: true, drain: { force: true, timeout_seconds: 60 } })
    t.equal(r.status, 201, r.body.message)
    await until(svc, r.body.id, (p) => p.state === 'succeeded' || p.state === 'failed', `plan ${i} ends`, 60_000)
    clock.advance(1000) // each ends at its own time: the oldest are known
  }
  await waitFor(async () => ((await kubeRequest(b.kc, 'GET', NM)).body as { items: object[] }).items.length === 100, 30_000, 'the newest 100 kept')
  const kept = (await call<Maintenance[]>(svc, 'GET', '/maintenance')).body.map((p) => p.reason)
  t.notOk(kept.includes('r1') || kept.includes('r5'), 'the oldest five went')
  t.ok(kept.includes('r6') && kept.includes('r105'), 'the newest stay')

  const before = sleeps
  const later = await call(svc, 'POST', '/maintenance', { nodes: ['node-00110'], reason: 'next month', start_at: new Date(clock.now() + 30 * 86_400_000).toISOString(), force: true })
  t.equal(later.status, 201, later.body.message)
  await until(svc, later.body.id, (p) => p.message.startsWith('starts at'), 'accepted and waiting for its start')
  await new Promise((r) => setTimeout(r, 500))
  t.ok(sleeps - before < 10, `a handful of sleeps while it waits 30 days (${sleeps - before})`)
  t.equal(nodeState((await call(svc, 'GET', `/maintenance/${later.body.id}`)).body, 'node-00110').state, 'pending', 'nothing done before its start')
})
