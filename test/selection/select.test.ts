// POST P/nodes/select through the real service, on a cluster with a known answer per strategy:
// least-sessions, most-resources, random (seeded, and staying among eligible nodes), round-robin
// (every eligible node once per cycle), the 409 summary, and bad input.
import t from 'tap'
import { eachBackend, type Backend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace } from '../helpers/fixtures.js'
import { startService, waitFor, type Service } from '../helpers/service.js'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createKubeClients } from '../../src/kube/client.js'
import { Strategies } from '../../src/config.js'
import { SelectBody, type Selection } from '../../src/schemas/selection.js'

// Eligible for {cpu: 1, memory: 1Gi}: a, b, c, g. Free share after placing it (CPU and memory averaged):
//   a: 4 cpu/8Gi, 2 sessions                        -> (2000/4000 + 5/8)/2  = 56.3%
//   b: 4 cpu/8Gi, 1 session + a 2 cpu/4Gi pod      -> (500/4000 + 2/8)/2   = 18.8%
//   c: 8 cpu/16Gi, 1 session                        -> (6500/8000 + 14/16)/2 = 84.4%
//   g: 4 cpu/8Gi, 0 sessions + a 3 cpu/1Gi pod     -> (0/4000 + 6/8)/2     = 37.5%
// Refused: d (taint dedicated=gpu, label gpu=true), e (NotReady), f (cordoned).
async function seed(b: Backend): Promise<void> {
  const c = b.clients
  await createNode(c, { name: 'a', cpu: '4', memory: '8Gi' })
  await createNode(c, { name: 'b', cpu: '4', memory: '8Gi' })
  await createNode(c, { name: 'c', cpu: '8', memory: '16Gi' })
  await createNode(c, { name: 'd', cpu: '8', memory: '16Gi', labels: { gpu: 'true' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })
  await createNode(c, { name: 'e', cpu: '16', memory: '32Gi' })
  await createNode(c, { name: 'f', cpu: '16', memory: '32Gi', unschedulable: true })
  await createNode(c, { name: 'g', cpu: '4', memory: '8Gi' })
  await b.setNodeReady('e', false)
  await ensureNamespace(c, 'streamspace')
  await ensureNamespace(c, 'apps')
  let n = 0
  const session = (node: string) => createPod(c, {
    name: `s${++n}`, namespace: 'streamspace', node,
    labels: { app: 'streamspace-session', session: `s${n}`, user: 'bob', template: 'firefox' },
    requests: { cpu: '500m', memory: '1Gi' },
  })
  await session('a'); await session('a'); await session('b'); await session('c')
  await createPod(c, { name: 'db', namespace: 'apps', node: 'b', requests: { cpu: '2', memory: '4Gi' } })
  await createPod(c, { name: 'batch', namespace: 'apps', node: 'g', requests: { cpu: '3', memory: '1Gi' } })
}

const REQ = { cpu: '1', memory: '1Gi' }

async function select(svc: Service, body: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const res = await svc.api('/nodes/select', { method: 'POST', json: body })
  return { status: res.status, body: await res.json() }
}

async function ready(svc: Service): Promise<void> {
  await waitFor(async () => {
    const s = await (await svc.api('/nodes/stats')).json() as { total_sessions: number; total_nodes: number; ready_nodes: number }
    return s.total_sessions === 4 && s.total_nodes === 7 && s.ready_nodes === 6
  }, 20_000, 'sessions running and e NotReady in the cache')
}

eachBackend(t, 'node selection', async (t, b) => {
  await seed(b)
  const svc = await startService(b.kc)
  t.teardown(() => svc.close())
  await ready(svc)

  await t.test('least-sessions (the default strategy)', async (t) => {
    const r = await select(svc, REQ)
    t.equal(r.status, 200)
    const s = r.body as Selection
    t.equal(s.node, 'g', 'the node without sessions')
    t.equal(s.strategy, 'least-sessions')
    t.same(s.candidates.map((c) => c.node), ['g', 'c', 'b', 'a'], 'sessions 0, then 1 (c before b: more free), then 2')
    t.match(s.reason, /^least-sessions: g runs 0 sessions, the fewest of 4 eligible nodes/)
    const g = s.candidates[0]
    t.same(g, { node: 'g', rank: 1, sessions: 0, pods: 1, cpu_free: '1', memory_free: '7Gi', cpu_free_percent: 25, memory_free_percent: 87.5, free_after_percent: 37.5 })
    t.same(s.excluded, [
      { node: 'd', reasons: ['node(s) had untolerated taint {dedicated: gpu}'] },
      { node: 'e', reasons: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'] },
      { node: 'f', reasons: ['node(s) were unschedulable'] },
    ])
  })

  await t.test('least-sessions tie broken by free resources', async (t) => {
    // b and c run 1 session each: c first, it has more room left.
    const r = await select(svc, { ...REQ, strategy: 'least-sessions' })
    t.equal(r.body.candidates[1].node, 'c')
    t.match(r.body.candidates[1], { sessions: 1, free_after_percent: 84.4 })
    t.match(r.body.candidates[2], { node: 'b', sessions: 1, free_after_percent: 18.8 })
  })

  await t.test('most-resources', async (t) => {
    const r = await select(svc, { ...REQ, strategy: 'most-resources' })
    t.equal(r.status, 200)
    t.equal(r.body.node, 'c')
    t.same(r.body.candidates.map((c: { node: string }) => c.node), ['c', 'a', 'g', 'b'])
    t.same(r.body.candidates.map((c: { free_after_percent: number }) => c.free_after_percent), [84.4, 56.3, 37.5, 18.8])
    t.match(r.body.reason, /^most-resources: c has the most free resources of 4 eligible nodes: 84.4%/)
  })

  await t.test('round-robin visits every eligible node once per cycle', async (t) => {
    const seen: string[] = []
    for (let i = 0; i < 8; i++) seen.push((await select(svc, { ...REQ, strategy: 'round-robin' })).body.node)
    t.same(seen.slice(0, 4).sort(), ['a', 'b', 'c', 'g'], 'first cycle: each eligible node once')
    t.same(seen.slice(4), seen.slice(0, 4), 'the second cycle repeats the order')
    t.same(seen.slice(0, 4), ['a', 'b', 'c', 'g'], 'in name order')
    // A node leaving the eligible set does not break the rotation: the next by name follows.
    const small = await select(svc, { cpu: '1600m', memory: '1Gi', strategy: 'round-robin' })
    t.equal(small.body.node, 'a', 'after g comes a (wrapped); b and g have no room for 1600m')
    t.match(small.body.reason, /wrapped around/)
    t.equal((await select(svc, { cpu: '1600m', strategy: 'round-robin' })).body.node, 'c', 'a -> c, skipping b')
  })

  await t.test('random stays among eligible nodes', async (t) => {
    const seen = new Set<string>()
    for (let i = 0; i < 60; i++) {
      const r = await select(svc, { ...REQ, strategy: 'random' })
      t.equal(r.status, 200)
      seen.add(r.body.node)
      if (!['a', 'b', 'c', 'g'].includes(r.body.node)) t.fail(`random chose ineligible ${r.body.node}`)
    }
    t.same([...seen].sort(), ['a', 'b', 'c', 'g'], 'every eligible node comes up in 60 draws (chance of missing one < 1e-7)')
  })

  await t.test('random with a fixed source: a known answer', async (t) => {
    const config = loadConfig({ JWT_SECRET: 'x'.repeat(32), LOG_LEVEL: 'silent', NODE_SELECTION_STRATEGY: 'random' })
    const app = await buildApp({ config, kube: createKubeClients(b.kc), jwtSecret: 'x'.repeat(32), random: () => 0.6 })
    t.teardown(() => app.close())
    await app.ready()
    await waitFor(() => app.cluster.synced && app.cluster.nodes.size === 7, 20_000, 'cache')
    const r = await app.selection.select(REQ)
    t.ok(r.ok)
    if (r.ok) {
      t.equal(r.selection.node, 'c', 'floor(0.6 * 4) = 2: the third of a, b, c, g')
      t.equal(r.selection.strategy, 'random', 'nodeSelectionStrategy from the configuration')
      t.same(r.selection.candidates.map((c) => c.node), ['c', 'a', 'b', 'g'])
    }
  })

  await t.test('nothing fits: 409 with the scheduler summary', async (t) => {
    const r = await select(svc, { cpu: '100', memory: '1Gi' })
    t.equal(r.status, 409)
    t.equal(r.body.message, '0/7 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable, 4 Insufficient cpu.')
    t.equal(r.body.details.excluded.length, 7)
    const gpu = await select(svc, { cpu: '1', node_selector: { gpu: 'true' } })
    t.equal(gpu.status, 409)
    t.equal(gpu.body.message, "0/7 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable, 4 node(s) didn't match Pod's node affinity/selector.")
    const tolerated = await select(svc, { cpu: '1', node_selector: { gpu: 'true' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] })
    t.equal(tolerated.status, 200)
    t.equal(tolerated.body.node, 'd', 'with the taint tolerated and the label selected, the GPU node')
    const everything = await select(svc, { memory: '20Gi', tolerations: [{ operator: 'Exists' }] })
    t.equal(everything.body.node, 'f', 'tolerating every taint passes NodeUnschedulable too, as in the scheduler: the cordoned 32Gi node')
    const memory = await select(svc, { memory: '40Gi', tolerations: [{ operator: 'Exists' }] })
    t.equal(memory.status, 409)
    t.equal(memory.body.message, '0/7 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 6 Insufficient memory.',
      'a NotReady node stays refused even when its taint is tolerated')
  })

  await t.test('bad input: 400 naming the field', async (t) => {
    const bad = async (body: unknown, field: RegExp) => {
      const res = await svc.api('/nodes/select', { method: 'POST', json: body })
      t.equal(res.status, 400, JSON.stringify(body))
      t.match(((await res.json()) as { message: string }).message, field)
    }
    await bad({ cpu: 'lots' }, /body\.cpu "lots" is not a Kubernetes quantity/)
    await bad({ memory: '-1Gi' }, /body\.memory "-1Gi" must not be negative/)
    await bad({ strategy: 'fastest' }, /body\.strategy/)
    await bad({ tolerations: [{ key: 'x', operator: 'Exists', value: 'y' }] }, /body\.tolerations\[0\]\.value must be empty/)
    await bad({ nodes: 3 }, /body\.nodes is not allowed/)
  })
})

t.test('the schema offers exactly the configured strategies', async (t) => {
  const strategy = (SelectBody.properties.strategy as unknown as { anyOf: { const: string }[] }).anyOf.map((s) => s.const)
  t.same(strategy, [...Strategies])
})
