// Plans as NodeMaintenance objects (issue 23): what every replica reads is the same object, the
// leader alone reconciles it, finished plans are collected, and nothing grows in memory.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eachBackend } from '../helpers/backend.js'
import { startService, type Service } from '../helpers/service.js'
import { ensureNamespace, kubeRequest, waitFor } from '../helpers/fixtures.js'
import { call, endSession, node, nodeState, NS, sessionPod, until } from './helpers.js'
import type { Maintenance } from '../../src/maintenance/types.js'

const isLeader = async (s: Service) => ((await (await s.api('/cluster/health')).json()) as { leader: { is_self: boolean } }).leader.is_self
const NM = '/apis/nodes.stream.space/v1alpha1/nodemaintenances'

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
