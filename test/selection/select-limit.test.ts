// POST P/nodes/select at scale: the answer lists the best `limit` candidates (default 100) and
// the first `limit` excluded nodes, with candidates_total and excluded_total. The partial ranking
// is checked against a full sort of every eligible node (the ranking as it was before the limit)
// on seeded random clusters with many ties, for each strategy; then through the service on both
// backends: the limit, the totals, the 409's exact summary over every node, and the 400.
import t from 'tap'
import type { NodeObject, SlimPod } from '../../src/kube/types.js'
import { NodeSelector, best, type Strategy } from '../../src/selection/select.js'
import { byName } from '../../src/selection/facts-index.js'
import { freeShareAfter, type NodeFacts } from '../../src/selection/fit.js'
import { eachBackend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace } from '../helpers/fixtures.js'
import { startService, waitFor } from '../helpers/service.js'

function seeded(seed: number): (n: number) => number {
  let s = seed
  return (n) => { s = (s * 48271) % 2147483647; return s % n }
}

/** `count` nodes named in a shuffled order, few distinct sizes and session counts (many ties), some refused. */
function cluster(count: number, seed: number) {
  const rand = seeded(seed)
  const nodes: NodeObject[] = []
  const pods = new Map<string, SlimPod[]>()
  for (let i = 0; i < count; i++) {
    const name = `n-${rand(100_000)}-${i}`
    nodes.push({
      metadata: { name },
      spec: rand(10) === 0 ? { unschedulable: true } : {},
      status: { allocatable: { cpu: `${2 + 2 * rand(3)}`, memory: `${4 * (1 + rand(3))}Gi`, pods: '110' }, conditions: [{ type: 'Ready', status: rand(20) === 0 ? 'False' : 'True' }] },
    })
    pods.set(name, Array.from({ length: rand(4) }, (_, j) => ({
      namespace: 's', name: `${name}-${j}`, node: name, phase: 'Running', terminating: false, session: true, cpuRequestMilli: 500 * rand(3), memoryRequestBytes: (1 << 30) * rand(2),
    })))
  }
  return { nodes: () => nodes.values(), podsOn: (n: string) => pods.get(n) ?? [], podsVersionOf: () => 1 }
}

const REQ = { cpu: '500m', memory: '1Gi' }
const POD = { cpuMilli: 500, memoryBytes: 1 << 30 }

t.test('the best `limit` are the first of a full sort, for every strategy (seeded random clusters)', async (t) => {
  for (const seed of [1, 2, 3]) {
    const source = cluster(700, seed)
    let draw = 0
    const selector = (strategy: Strategy) => new NodeSelector({ source, strategy: () => strategy, random: () => [0.1, 0.5, 0.99][draw++ % 3] })
    const eligible = selector('random').facts().filter((f) => f.ready && !f.unschedulable && f.allocatableCpuMilli - f.requestedCpuMilli >= 500 && f.allocatableMemoryBytes - f.requestedMemoryBytes >= 1 << 30)
    const free = (n: NodeFacts) => freeShareAfter(n, POD)
    const full: Record<'least-sessions' | 'most-resources', string[]> = {
      'least-sessions': [...eligible].sort((a, b) => a.sessions - b.sessions || free(b) - free(a) || byName(a, b)).map((n) => n.name),
      'most-resources': [...eligible].sort((a, b) => free(b) - free(a) || byName(a, b)).map((n) => n.name),
    }
    for (const strategy of ['least-sessions', 'most-resources'] as const) {
      for (const limit of [0, 1, 2, 37, 100, 100_000]) {
        const r = await selector(strategy).select({ ...REQ, limit })
        if (!r.ok) throw new Error('no fit')
        t.same(r.selection.candidates.map((c) => c.node), full[strategy].slice(0, limit), `seed ${seed}, ${strategy}, limit ${limit}`)
        t.equal(r.selection.node, full[strategy][0])
        t.equal(r.selection.candidates_total, eligible.length)
        t.equal(r.selection.excluded_total, 700 - eligible.length)
      }
    }
    const byNames = eligible.map((n) => n.name)
    for (const limit of [1, 50, 100_000]) {
      const rs = selector('random')
      draw = 1
      const r = await rs.select({ ...REQ, limit })
      if (!r.ok) throw new Error('no fit')
      const chosen = byNames[Math.floor(0.5 * byNames.length)]
      t.same(r.selection.candidates.map((c) => c.node), [chosen, ...byNames.filter((n) => n !== chosen)].slice(0, limit), `seed ${seed}, random, limit ${limit}`)
    }
    const rr = selector('round-robin')
    for (let i = 0; i < 3; i++) {
      const r = await rr.select({ ...REQ, limit: 5 })
      if (!r.ok) throw new Error('no fit')
      t.same(r.selection.candidates.map((c) => c.node), [0, 1, 2, 3, 4].map((k) => byNames[(i + k) % byNames.length]), `seed ${seed}, round-robin choice ${i + 1}`)
    }
  }
})

t.test('best: the k best of a total order, whatever k', async (t) => {
  const rand = seeded(9)
  const xs = Array.from({ length: 500 }, () => rand(50) * 1000 + rand(1000))
  const sorted = [...xs].sort((a, b) => a - b)
  for (const k of [0, 1, 2, 99, 499, 500, 600]) t.same(best(xs, k, (a, b) => a - b), sorted.slice(0, k), `k ${k}`)
})

eachBackend(t, 'the answer is bounded: limit, totals, the 409 summary over every node, the 400', async (t, b) => {
  await ensureNamespace(b.clients, 'streamspace')
  for (const name of ['l1', 'l2', 'l3', 'l4', 'l5']) await createNode(b.clients, { name, cpu: '4', memory: '8Gi', unschedulable: name === 'l5' })
  await createPod(b.clients, { name: 's1', namespace: 'streamspace', node: 'l1', labels: { app: 'streamspace-session' }, requests: { cpu: '3', memory: '1Gi' } })
  const svc = await startService(b.kc)
  t.teardown(() => svc.close())
  const select = async (body: Record<string, unknown>) => {
    const res = await svc.api('/nodes/select', { method: 'POST', json: body })
    return { status: res.status, body: await res.json() as any }
  }
  await waitFor(async () => (await select({ cpu: '2' })).body.excluded_total === 2, 20_000, 'l1 full and l5 cordoned in the cache')

  const all = await select({ cpu: '2', strategy: 'least-sessions' })
  t.same(all.body.candidates.map((c: { node: string }) => c.node), ['l2', 'l3', 'l4'], 'under the default limit: every candidate')
  t.same(all.body.excluded.map((e: { node: string }) => e.node), ['l1', 'l5'])
  t.match(all.body, { candidates_total: 3, excluded_total: 2 })

  const one = await select({ cpu: '2', strategy: 'least-sessions', limit: 1 })
  t.equal(one.status, 200)
  t.same(one.body.candidates, all.body.candidates.slice(0, 1), 'limit 1: the best candidate')
  t.same(one.body.excluded, all.body.excluded.slice(0, 1), 'limit 1: the first excluded by name')
  t.match(one.body, { node: 'l2', reason: all.body.reason, candidates_total: 3, excluded_total: 2 })

  const none = await select({ cpu: '5', limit: 1 })
  t.equal(none.status, 409)
  t.equal(none.body.message, '0/5 nodes are available: 1 node(s) were unschedulable, 4 Insufficient cpu.', 'the summary counts every node')
  t.same(none.body.details, { excluded: [{ node: 'l1', reasons: ['Insufficient cpu'] }], excluded_total: 5 })

  for (const limit of [-1, 100_001, 1.5, 'all']) {
    const res = await select({ limit })
    t.equal(res.status, 400, `limit ${JSON.stringify(limit)}`)
    t.match(res.body.message, /body\.limit/, `names the field: ${res.body.message}`)
  }
})
