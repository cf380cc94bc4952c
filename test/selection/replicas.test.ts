// least-sessions counts sessions still starting, and round-robin gives one sequence whichever
// replica answers (issue 24, finding 7).
import t from 'tap'
import type { NodeObject, SlimPod } from '../../src/kube/types.js'
import { NodeSelector, type SelectOutcome } from '../../src/selection/select.js'
import { SELECTION_CONFIGMAP_NAME } from '../../src/selection/cursor.js'
import { eachBackend } from '../helpers/backend.js'
import { createNode, ensureNamespace, waitFor } from '../helpers/fixtures.js'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createKubeClients } from '../../src/kube/client.js'
import type { KubeConfig } from '@kubernetes/client-node'

const node = (name: string): NodeObject => ({
  metadata: { name },
  status: { allocatable: { cpu: '8', memory: '16Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
})
const session = (name: string, on: string, phase: string): SlimPod =>
  ({ namespace: 'streamspace', name, node: on, phase, terminating: false, session: true, cpuRequestMilli: 0, memoryRequestBytes: 0 })

const chosen = (o: SelectOutcome) => (o.ok ? o.selection.node : `409 ${o.noFit.summary}`)

t.test('least-sessions counts sessions whose pods are still Pending', async (t) => {
  // A burst of logins went to a: two session pods bound there, images still pulling. b runs one.
  const pods: Record<string, SlimPod[]> = {
    a: [session('s1', 'a', 'Pending'), session('s2', 'a', 'Pending')],
    b: [session('s3', 'b', 'Running')],
  }
  const selector = new NodeSelector({ source: { nodes: () => [node('a'), node('b')], podsOn: (n) => pods[n] ?? [] }, strategy: () => 'least-sessions' })
  const r = await selector.select({})
  t.equal(chosen(r), 'b', 'b runs 1 session, a has 2 starting (before the fix: a, counted as 0)')
  if (r.ok) t.same(r.selection.candidates.map((c) => [c.node, c.sessions]), [['b', 1], ['a', 2]])
})

async function replica(kc: KubeConfig) {
  const config = loadConfig({ JWT_SECRET: 'x'.repeat(32), LOG_LEVEL: 'silent', NODE_SELECTION_STRATEGY: 'round-robin', POD_NAMESPACE: 'streamspace' })
  const app = await buildApp({ config, kube: createKubeClients(kc), jwtSecret: 'x'.repeat(32) })
  await app.ready()
  await waitFor(() => app.cluster.synced && app.cluster.nodes.size === 3, 20_000, 'cache')
  return app
}

eachBackend(t, 'round-robin: one sequence across replicas', async (t, b) => {
  for (const name of ['a', 'b', 'c']) await createNode(b.clients, { name, cpu: '4', memory: '8Gi' })
  await ensureNamespace(b.clients, 'streamspace')
  const [one, two] = [await replica(b.kc), await replica(b.kc)]
  t.teardown(async () => { await one.close(); await two.close() })

  const seq: string[] = []
  for (const app of [one, two, two, one, two, one]) seq.push(chosen(await app.selection.select({})))
  t.same(seq, ['a', 'b', 'c', 'a', 'b', 'c'], 'alternating replicas continue each other\'s rotation (before the fix: a, a, b, b, c, c)')
  const last = await one.selection.select({})
  t.match(last.ok && last.selection.reason, /^round-robin: a is next by name after c among 3 eligible nodes \(wrapped around\)$/)

  // Both replicas at once: no step handed out twice (the cursor moves only by a conditional update).
  const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? one : two).selection.select({})))
  const counts: Record<string, number> = {}
  for (const r of burst) counts[chosen(r)] = (counts[chosen(r)] ?? 0) + 1
  t.same(counts, { a: 4, b: 4, c: 4 }, '12 concurrent selections: each node exactly 4 times')
  const cm = await b.clients.core.readNamespacedConfigMap({ name: SELECTION_CONFIGMAP_NAME, namespace: 'streamspace' })
  t.equal(cm.data?.['round-robin-last'], 'a', '19 steps from the start: the cursor is at a')
})
