// FactsIndex over the real watch cache (ClusterCache) on both backends: after each of a seeded
// series of random changes (pods added and deleted, nodes relabelled, cordoned, made NotReady,
// added and deleted), once the cache shows the change, the index's facts are exactly fresh
// nodeFacts over the cache; and the facts of nodes that did not change are kept (the same objects).
import t from 'tap'
import { ClusterCache } from '../../src/kube/cluster-cache.js'
import { FactsIndex, byName } from '../../src/selection/facts-index.js'
import { nodeFacts, type NodeFacts } from '../../src/selection/fit.js'
import { eachBackend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace, kubeRequest, waitFor } from '../helpers/fixtures.js'

const silent = { info() {}, warn() {}, error() {}, debug() {} } as never

/** Park-Miller: the same series each run (the seed is in the test name). */
function seeded(seed: number): (n: number) => number {
  let s = seed
  return (n) => { s = (s * 48271) % 2147483647; return s % n }
}

eachBackend(t, 'the facts index equals fresh nodeFacts after random changes (seed 27)', async (t, b) => {
  const cache = new ClusterCache({ kc: b.kc, log: silent, sessionSelector: 'app=streamspace-session', metricsEnabled: false, metricsPollMs: 60_000, metricsHistorySamples: 2 })
  cache.start()
  t.teardown(() => cache.stop())
  const index = new FactsIndex({
    nodes: () => cache.nodes.values(), podsOn: (n) => cache.podsOn(n), podsVersionOf: (n) => cache.podsVersionOf(n), version: () => cache.version,
  })
  // The same index told which nodes changed (as the service builds it): a pass looks at those only.
  const told = new FactsIndex({
    nodes: () => cache.nodes.values(), podsOn: (n) => cache.podsOn(n), podsVersionOf: (n) => cache.podsVersionOf(n), version: () => cache.version,
    node: (n) => cache.getNode(n), onChange: (l) => { cache.onViewInput(l) },
  })
  const fresh = (): NodeFacts[] => [...cache.nodes.values()].map((n) => nodeFacts(n, cache.podsOn(n.metadata!.name!))).sort(byName)
  await ensureNamespace(b.clients, 'streamspace')
  const nodes = new Set<string>()
  const pods = new Map<string, string>() // pod -> node
  let made = 0
  const addNode = async () => {
    const name = `fi-${++made}`
    await createNode(b.clients, { name, cpu: `${2 + (made % 3) * 2}`, memory: `${4 + made}Gi`, labels: { pool: made % 2 ? 'a' : 'b' } })
    nodes.add(name)
    return { what: `add node ${name}`, done: () => cache.getNode(name) !== undefined }
  }
  for (let i = 0; i < 4; i++) await addNode()
  await waitFor(() => cache.synced && [...nodes].every((n) => cache.getNode(n)), 20_000, 'cache synced with the nodes')
  t.same(index.all(), fresh(), 'at the start')
  t.same(told.all(), fresh(), 'at the start, told what changed')

  const rand = seeded(27)
  const pick = <T>(xs: Iterable<T>): T => { const a = [...xs]; return a[rand(a.length)] }
  const ops: (() => Promise<{ what: string; done: () => boolean } | undefined>)[] = [
    async () => {
      const node = pick(nodes), name = `p${++made}`
      await createPod(b.clients, { name, namespace: 'streamspace', node, labels: rand(2) ? { app: 'streamspace-session' } : {}, requests: { cpu: `${100 * (1 + rand(5))}m`, memory: `${1 + rand(3)}Gi` } })
      pods.set(name, node)
      return { what: `add pod ${name} on ${node}`, done: () => [...cache.podsOn(node)].some((p) => p.name === name) }
    },
    async () => {
      if (!pods.size) return undefined
      const name = pick(pods.keys()), node = pods.get(name)!
      pods.delete(name)
      await kubeRequest(b.kc, 'DELETE', `/api/v1/namespaces/streamspace/pods/${name}?gracePeriodSeconds=0`)
      return { what: `delete pod ${name}`, done: () => ![...cache.podsOn(node)].some((p) => p.name === name) }
    },
    async () => {
      const node = pick(nodes), value = `v${++made}`
      await kubeRequest(b.kc, 'PATCH', `/api/v1/nodes/${node}`, { metadata: { labels: { zone: value } } }, 'application/merge-patch+json')
      return { what: `label ${node} zone=${value}`, done: () => cache.getNode(node)?.metadata?.labels?.zone === value }
    },
    async () => {
      const node = pick(nodes), unschedulable = !cache.getNode(node)?.spec?.unschedulable
      await kubeRequest(b.kc, 'PATCH', `/api/v1/nodes/${node}`, { spec: { unschedulable } }, 'application/merge-patch+json')
      return { what: `${unschedulable ? 'cordon' : 'uncordon'} ${node}`, done: () => (cache.getNode(node)?.spec?.unschedulable === true) === unschedulable }
    },
    async () => {
      const node = pick(nodes), ready = rand(2) === 0
      await b.setNodeReady(node, ready)
      const status = ready ? 'True' : 'False'
      return { what: `${node} Ready=${status}`, done: () => cache.getNode(node)?.status?.conditions?.find((c) => c.type === 'Ready')?.status === status }
    },
    addNode,
    async () => {
      if (nodes.size <= 2) return undefined
      const node = pick(nodes)
      nodes.delete(node)
      for (const [p, n] of pods) if (n === node) pods.delete(p)
      await kubeRequest(b.kc, 'DELETE', `/api/v1/nodes/${node}`)
      return { what: `delete node ${node}`, done: () => cache.getNode(node) === undefined }
    },
  ]
  let checked = 0
  for (let step = 0; step < 30; step++) {
    const before = new Map(index.all().map((f) => [f.name, { facts: f, node: cache.getNode(f.name), pods: cache.podsVersionOf(f.name) }]))
    const change = await ops[rand(ops.length)]()
    if (!change) continue
    await waitFor(change.done, 15_000, change.what)
    const after = index.all()
    if (!t.same(after, fresh(), `after ${change.what}`)) break
    if (!t.same(told.all(), fresh(), `after ${change.what}, told what changed`)) break
    checked++
    // Kept: a node whose object and pods did not change has the very same facts object as before.
    const same = after.filter((f) => { const b = before.get(f.name); return b && b.node === cache.getNode(f.name) && b.pods === cache.podsVersionOf(f.name) })
    t.ok(same.length > 0 && same.every((f) => before.get(f.name)!.facts === f), `after ${change.what}: the facts of the ${same.length} unchanged nodes are kept`)
  }
  t.ok(checked >= 15, `${checked} changes checked`)
})

t.test('the facts are shared read-only: fitPods copies the nodes it places on, the index is unchanged', async (t) => {
  const { fitPods } = await import('../../src/selection/fit.js')
  const node = (name: string) => ({ metadata: { name }, status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] } })
  const index = new FactsIndex({ nodes: () => [node('a'), node('b')].values(), podsOn: () => [], podsVersionOf: () => 1, version: () => 1 })
  const shared = index.all()
  const snapshot = JSON.stringify(shared)
  const result = fitPods([{ name: 'x', cpuMilli: 1000, memoryBytes: 1 << 30 }, { name: 'y', cpuMilli: 1000, memoryBytes: 1 << 30 }], shared)
  t.equal(result.placements.length, 2)
  t.equal(JSON.stringify(index.all()), snapshot, 'the index facts are unchanged')
  t.equal(result.nodes.reduce((s, n) => s + n.requestedCpuMilli, 0), 2000, 'the result counts the placements')
  t.ok(result.nodes.every((n, i) => n.requestedCpuMilli === 0 ? n === shared[i] : n !== shared[i]), 'only the nodes placed on are copies')
})
