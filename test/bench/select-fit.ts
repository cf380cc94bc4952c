// Times POST P/nodes/select's domain call and the maintenance fit check directly, on an in-memory
// source shaped as ClusterCache (nodes, pods by node, a pods version per node): the quick loop
// beside `npm run bench` (which measures them through the service). Prints JSON.
//   npx tsx test/bench/select-fit.ts [--nodes 65000] [--pods-per-node 3] [--runs 200]
import { performance } from 'node:perf_hooks'
import type { NodeObject, SlimPod } from '../../src/kube/types.js'
import { NodeSelector, type Strategy } from '../../src/selection/select.js'
import { FactsIndex } from '../../src/selection/facts-index.js'
import { planFit } from '../../src/maintenance/fit.js'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const NODES = arg('nodes', 65_000), PODS = arg('pods-per-node', 3), RUNS = arg('runs', 200)

const nodes = new Map<string, NodeObject>()
const pods = new Map<string, SlimPod[]>()
const versions = new Map<string, number>()
for (let i = 0; i < NODES; i++) {
  const name = `node-${String(i).padStart(5, '0')}`
  nodes.set(name, {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': `zone-${i % 3}`, pool: i % 10 === 0 ? 'gpu' : 'desktops' } },
    spec: i % 10 === 0 ? { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } : {},
    status: { allocatable: { cpu: '7910m', memory: '31482812Ki', pods: '110' }, conditions: [{ type: 'Ready', status: i % 97 === 0 ? 'False' : 'True' }] },
  })
  pods.set(name, Array.from({ length: PODS }, (_, j) => ({
    namespace: 'streamspace', name: `${name}-s${j}`, node: name, phase: 'Running', terminating: false, session: j > 0,
    ...(j === 0 ? { ownerKind: 'DaemonSet', ownerName: 'agent' } : {}),
    cpuRequestMilli: 100 + ((i * 7 + j * 13) % 900), memoryRequestBytes: (256 + ((i + j) % 1024)) * 1024 * 1024,
  })))
  versions.set(name, i + 1)
}
let version = 0
const source = { nodes: () => nodes.values(), podsOn: (n: string) => pods.get(n) ?? [], podsVersionOf: (n: string) => versions.get(n) ?? 0, version: () => version }
const facts = new FactsIndex(source)

const quantiles = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b)
  const q = (p: number) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] * 10) / 10
  return { p50: q(0.5), p99: q(0.99), max: q(1) }
}
async function time(runs: number, f: () => unknown): Promise<{ p50: number; p99: number; max: number }> {
  const ms: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    await f()
    ms.push(performance.now() - t0)
  }
  return quantiles(ms)
}

const out: Record<string, unknown> = { nodes: NODES, pods_per_node: PODS, runs: RUNS }
for (const strategy of ['least-sessions', 'most-resources', 'random', 'round-robin'] as Strategy[]) {
  const selector = new NodeSelector({ source, facts, strategy: () => strategy })
  let n = 0
  // Every 10th request follows a change to one node's pods, as sessions come and go.
  out[`select_${strategy}_ms`] = await time(RUNS, async () => {
    if (++n % 10 === 0) { versions.set(`node-${String(n % NODES).padStart(5, '0')}`, NODES + n); version++ }
    const r = await selector.select({ cpu: '500m', memory: '1Gi' })
    if (!r.ok) throw new Error('no fit')
  })
}
const draining = Array.from({ length: 10 }, (_, i) => `node-${String(i * 7 + 1).padStart(5, '0')}`)
out.fit_check_ms = await time(Math.max(5, Math.round(RUNS / 10)), () => planFit(facts.all(), (n) => pods.get(n) ?? [], draining))
console.log(JSON.stringify(out))
