// The read model rebuilds only what changed: the nodes the caches name (onViewInput) and the
// views whose AGE text is due. Checked against the same model without the change feed (which
// looks at every node on every rebuild) over random changes: the same list, bytes and stats.
import t from 'tap'
import { NodeReadModel, type WatchCaches } from '../../src/nodes/read-model.js'
import type { NodeUsage } from '../../src/kube/node-metrics.js'
import type { NodeObject, SlimPod } from '../../src/kube/types.js'
import { FakeClock } from '../helpers/clock.js'

const START = Date.parse('2026-12-06T00:00:00Z')

/** Caches in memory, with the change feed ClusterCache gives; `feed: false` leaves it out. */
function memoryCaches(clock: FakeClock) {
  const nodes = new Map<string, NodeObject>()
  const pods = new Map<string, SlimPod[]>()
  const podsVersion = new Map<string, number>()
  const usage = new Map<string, NodeUsage>()
  const listeners = new Set<(name: string | undefined) => void>()
  let version = 1, seq = 0
  const changed = (name: string | undefined) => { version++; for (const l of listeners) l(name) }
  const base = () => ({
    nodes, synced: true, stale: false, staleSince: undefined, lastError: undefined, metrics: undefined,
    get version() { return version },
    podsVersionOf: (name: string) => podsVersion.get(name) ?? 0,
    podsOn: (name: string) => pods.get(name) ?? [],
    podsOnNode: (name: string) => [...(pods.get(name) ?? [])],
    usage: (name: string) => usage.get(name),
  })
  const withFeed = Object.assign(base(), { onViewInput: (l: (name: string | undefined) => void) => { listeners.add(l); return () => listeners.delete(l) } })
  return {
    withFeed: withFeed as unknown as WatchCaches,
    withoutFeed: base() as unknown as WatchCaches,
    node(name: string, ageMs: number, labels: Record<string, string> = {}) {
      nodes.set(name, {
        metadata: { name, creationTimestamp: new Date(clock.now() - ageMs).toISOString(), labels },
        status: { capacity: { cpu: '8', memory: '32Gi' }, allocatable: { cpu: '7910m', memory: '31Gi' }, conditions: [{ type: 'Ready', status: 'True' }] },
      })
      changed(name)
    },
    remove(name: string) { nodes.delete(name); changed(name) },
    pod(node: string, name: string, session: boolean) {
      const list = pods.get(node) ?? []
      pods.set(node, [...list, { namespace: 'ns', name, node, phase: 'Running', terminating: false, session, cpuRequestMilli: 100, memoryRequestBytes: 2 ** 20 }])
      podsVersion.set(node, ++seq)
      changed(node)
    },
    dropPods(node: string) { pods.delete(node); podsVersion.set(node, ++seq); changed(node) },
    /** A metrics poll: new usage for every node. */
    poll(rand: () => number) {
      for (const name of nodes.keys()) usage.set(name, { at: clock.now(), cpu: '1', memory: '1Gi', cpuCores: rand() * 7, memoryBytes: rand() * 30 * 2 ** 30 })
      changed(undefined)
    },
  }
}

/** A small deterministic random source (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

t.test('a rebuild of only what changed gives what a rebuild of everything gives', async (t) => {
  for (const seed of [1, 2, 3]) {
    const rand = random(seed)
    const clock = new FakeClock(START)
    const caches = memoryCaches(clock)
    // Young nodes (AGE changes every second) and old ones; more than one part of the list (1,024 nodes each).
    for (let i = 0; i < 2_500; i++) caches.node(`node-${String(i).padStart(5, '0')}`, i % 50 === 0 ? i * 100 : 86_400_000 * (1 + (i % 9)))
    const incremental = new NodeReadModel(caches.withFeed, { clock })
    const full = new NodeReadModel(caches.withoutFeed, { clock })
    let checks = 0
    for (let step = 0; step < 60; step++) {
      const name = `node-${String(Math.floor(rand() * 2_600)).padStart(5, '0')}`
      const r = rand()
      if (r < 0.25) caches.node(name, Math.floor(rand() * 3_600_000), { step: String(step) })
      else if (r < 0.35) caches.remove(name)
      else if (r < 0.6) caches.pod(name, `p-${step}`, rand() < 0.5)
      else if (r < 0.7) caches.dropPods(name)
      else if (r < 0.8) caches.poll(rand)
      // Time passes: AGE texts of young nodes change with nothing else changing.
      clock.advance(Math.floor(rand() * 3_000))
      const a = incremental.preparedList(), b = full.preparedList()
      if (a.etag !== b.etag || !a.body.equals(b.body)) {
        t.fail(`seed ${seed} step ${step}: the lists differ (${a.body.length} vs ${b.body.length} bytes)`)
        return
      }
      t.same(incremental.stats(), full.stats(), `seed ${seed} step ${step}: the same stats`)
      checks++
    }
    t.equal(checks, 60, `seed ${seed}: 60 random changes, the same list after each`)
  }
})

t.test('a view is made again only when its node, its pods, its usage or its AGE text changed', async (t) => {
  const clock = new FakeClock(START)
  const caches = memoryCaches(clock)
  for (let i = 0; i < 3_000; i++) caches.node(`node-${String(i).padStart(5, '0')}`, 86_400_000 * 3)
  caches.node('young', 5_000)
  const reads = new NodeReadModel(caches.withFeed, { clock })
  const before = reads.views()
  caches.pod('node-00007', 'web-1', false)
  const after = reads.views()
  t.equal(after.filter((v, i) => v !== before[i]).map((v) => v.name).join(), 'node-00007', 'a pod added: only its node\'s view is new')
  t.equal(after.find((v) => v.name === 'node-00007')!.pods, 1)
  clock.advance(1_000)
  const aged = reads.views()
  t.equal(aged.filter((v, i) => v !== after[i]).map((v) => `${v.name} ${v.age}`).join(), 'young 6s', 'a second later: only the young node\'s AGE changed')
})
