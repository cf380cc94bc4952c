// NodeSeries reuses each node's lines and blocks of them between scrapes: whatever changes
// (a node object, a usage sample, the pods on a node, nodes coming and going), the text it renders
// must be exactly what a fresh renderer makes from the same cluster, and only what changed is redone.
import t from 'tap'
import { NodeSeries, escapeLabel, type NodeSeriesSource } from '../../src/nodes/node-series.js'
import type { NodeObject, SlimPod } from '../../src/kube/types.js'
import type { NodeUsage } from '../../src/kube/node-metrics.js'
import { parseExposition, valueOf } from '../helpers/prometheus.js'

const P = 'streamspace_node_manager_'

function node(name: string, opts: { ready?: string; unschedulable?: boolean; cpu?: string; conditions?: [string, string][] } = {}): NodeObject {
  return {
    metadata: { name },
    spec: { unschedulable: opts.unschedulable },
    status: {
      capacity: { cpu: opts.cpu ?? '4', memory: '8Gi' },
      allocatable: { cpu: opts.cpu ?? '4', memory: '8Gi' },
      conditions: [...(opts.conditions ?? []).map(([type, status]) => ({ type, status })), { type: 'Ready', status: opts.ready ?? 'True' }],
    },
  }
}

const pod = (nodeName: string, name: string, o: Partial<SlimPod> = {}): SlimPod => ({
  namespace: 'default', name, node: nodeName, phase: 'Running', terminating: false, session: false,
  cpuRequestMilli: 500, memoryRequestBytes: 2 ** 30, ...o,
})

/** An in-memory read model: the cluster cache's contract (objects replaced, never mutated). */
class Cluster implements NodeSeriesSource {
  readonly nodeMap = new Map<string, NodeObject>()
  readonly podMap = new Map<string, SlimPod[]>()
  readonly usageMap = new Map<string, NodeUsage>()
  nodes() { return this.nodeMap.values() }
  podsOnNode(name: string) { return this.podMap.get(name) ?? [] }
  usage(name: string) { return this.usageMap.get(name) }
}

/** The same, also telling when a node's pods changed (as ClusterCache.podsVersionOf). */
class VersionedCluster extends Cluster {
  private readonly versions = new Map<string, number>()
  private seq = 0
  override readonly podMap = new Proxy(new Map<string, SlimPod[]>(), {
    get: (target, prop) => {
      if (prop === 'set') return (k: string, v: SlimPod[]) => { this.versions.set(k, ++this.seq); return target.set(k, v) }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  podsVersionOf(name: string) { return this.versions.get(name) ?? 0 }
}

const usage = (cores: number, bytes: number): NodeUsage => ({ at: Date.now(), cpu: `${cores}`, memory: `${bytes}`, cpuCores: cores, memoryBytes: bytes })

t.test('figures', async (t) => {
  const c = new Cluster()
  c.nodeMap.set('a', node('a', { conditions: [['MemoryPressure', 'True']] }))
  c.nodeMap.set('b', node('b', { ready: 'Unknown', unschedulable: true, cpu: '0' }))
  c.podMap.set('a', [pod('a', 'p1'), pod('a', 's1', { session: true }), pod('a', 'gone', { phase: 'Succeeded' }), pod('a', 'starting', { phase: 'Pending' })])
  c.usageMap.set('a', usage(1, 2 * 2 ** 30))
  const s = parseExposition(new NodeSeries(c).render().toString())
  const v = (name: string, labels: Record<string, string> = {}) => valueOf(s, P + name, labels)
  t.equal(v('node_ready', { node: 'a' }), 1)
  t.equal(v('node_ready', { node: 'b' }), 0, 'Unknown is not ready')
  t.equal(v('node_unschedulable', { node: 'b' }), 1)
  t.equal(v('node_pods', { node: 'a' }), 3, 'Succeeded pods do not count; Pending ones do')
  t.equal(v('node_sessions', { node: 'a' }), 1, 'a running session pod')
  t.equal(v('node_cpu_requested_ratio', { node: 'a' }), 0.375, '1.5 of 4 cores')
  t.equal(v('node_memory_requested_ratio', { node: 'a' }), 0.375, '3Gi of 8Gi')
  t.equal(v('node_cpu_usage_ratio', { node: 'a' }), 0.25)
  t.equal(v('node_memory_usage_ratio', { node: 'a' }), 0.25)
  t.equal(v('node_cpu_usage_ratio', { node: 'b' }), undefined, 'no sample: no series')
  t.equal(v('node_cpu_requested_ratio', { node: 'b' }), undefined, 'no allocatable CPU: no ratio (not NaN or Inf)')
  t.equal(v('node_condition', { node: 'a', condition: 'MemoryPressure', status: 'true' }), 1)
  t.equal(v('node_condition', { node: 'a', condition: 'MemoryPressure', status: 'false' }), 0)
  t.equal(v('node_condition', { node: 'b', condition: 'Ready', status: 'unknown' }), 1)
  t.equal(v('nodes', { phase: 'Ready' }), 1)
  t.equal(v('nodes', { phase: 'Unknown' }), 1)
  t.equal(v('nodes', { phase: 'NotReady' }), 0)
  t.equal(v('nodes_unschedulable'), 1)
  t.equal(v('cluster_cpu_capacity_cores'), 4)
  t.equal(v('cluster_memory_capacity_bytes'), 16 * 2 ** 30)
  t.equal(v('cluster_cpu_requested_cores'), 1.5)
  t.equal(v('cluster_cpu_usage_cores'), 1)
  t.equal(v('pods'), 3)
  t.equal(v('sessions'), 1)
})

t.test('label values are escaped', async (t) => {
  t.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd')
  const c = new Cluster()
  c.nodeMap.set('n', node('n', { conditions: [['Weird"Type', 'True']] }))
  const s = parseExposition(new NodeSeries(c).render().toString())
  t.equal(valueOf(s, `${P}node_condition`, { node: 'n', condition: 'Weird"Type', status: 'true' }), 1)
})

for (const [label, make] of [['pods summed at every scrape', () => new Cluster()], ['with pod versions', () => new VersionedCluster()]] as const) t.test(`incremental renders equal fresh ones, and redo only what changed (${label})`, async (t) => {
  const c = make()
  for (let i = 0; i < 300; i++) {
    const name = `n${String(i).padStart(3, '0')}`
    c.nodeMap.set(name, node(name))
    c.podMap.set(name, [pod(name, 'p1'), pod(name, 'p2')])
    c.usageMap.set(name, usage(1, 2 ** 30))
  }
  const series = new NodeSeries(c)
  const check = (what: string, expect: { rendered: number; reused?: boolean }) => {
    const text = series.render().toString()
    t.equal(text, new NodeSeries(c).render().toString(), `${what}: same text as a fresh render`)
    t.equal(series.lastRender.rendered, expect.rendered, `${what}: ${expect.rendered} nodes rendered`)
    if (expect.reused !== undefined) t.equal(series.lastRender.reused, expect.reused, `${what}: whole text reused ${expect.reused}`)
    return series.lastRender
  }
  t.equal(check('first', { rendered: 300 }).blocksRebuilt, 3, 'three blocks of 128')
  check('nothing changed', { rendered: 0, reused: true })
  c.podMap.set('n005', [pod('n005', 'p1')])
  t.equal(check('a pod went', { rendered: 1, reused: false }).blocksRebuilt, 1, 'one block rebuilt')
  c.nodeMap.set('n200', node('n200', { ready: 'False' }))
  t.equal(check('a node went NotReady', { rendered: 1 }).blocksRebuilt, 1)
  for (const name of c.usageMap.keys()) c.usageMap.set(name, usage(2, 2 ** 30))
  check('a metrics poll', { rendered: 300 })
  c.usageMap.delete('n007')
  check('a sample missing', { rendered: 1 })
  c.nodeMap.delete('n000')
  check('a node deleted (every block shifts)', { rendered: 0, reused: false })
  c.nodeMap.set('zzz', node('zzz'))
  check('a node added', { rendered: 1 })
  // A relist replaces every object with an equal copy.
  for (const [name, n] of c.nodeMap) c.nodeMap.set(name, structuredClone(n))
  check('relist', { rendered: 300 })
  t.notMatch(series.render().toString(), /node="n000"/, 'the deleted node has no series')
})
