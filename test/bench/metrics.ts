// Scrape cost at scale: the simulated cluster with 5,000 nodes and 150,000 pods (its own process),
// the service built in-process (buildApp) against it, and GET /metrics timed over HTTP:
// the first scrape (every node rendered), scrapes with nothing changed, after one node changed,
// and after a metrics.k8s.io poll (every node's usage changed, so every node is rendered again).
// Then the alternative the issue names, prom-client Gauges with collect() setting the same per-node
// series, timed on the same cache. Run alone: npx tsx test/bench/metrics.ts [nodes] [podsPerNode]
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { KubeConfig } from '@kubernetes/client-node'
import { Gauge, Registry } from 'prom-client'
import { startService, waitFor } from '../helpers/service.js'
import { kubeRequest } from '../helpers/fixtures.js'
import { NodeSeries } from '../../src/nodes/node-series.js'
import { isRunningSession, isTerminated, readiness } from '../../src/nodes/view.js'
import { quantityToNumber } from '../../src/kube/quantity.js'

const NODES = Number(process.argv[2] ?? 5000)
const PODS_PER_NODE = Number(process.argv[3] ?? 30)
const ROUNDS = 20

function start(args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { out += d })
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => { if (ready.test(out)) { clearInterval(timer); resolve(child) } }, 50)
    child.on('exit', (code) => { clearInterval(timer); reject(new Error(`${args.join(' ')} exited ${code}:\n${out}`)) })
  })
}

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b)
  return `p50 ${s[Math.floor(s.length / 2)].toFixed(1)} ms, max ${s[s.length - 1].toFixed(1)} ms (${s.length} scrapes)`
}

const dir = mkdtempSync(join(tmpdir(), 'bench-metrics-'))
const kubeconfig = join(dir, 'kubeconfig')
const sim = await start(['src/sim/cli.ts', '--port', '0', '--kubeconfig', kubeconfig, '--nodes', String(NODES), '--pods-per-node', String(PODS_PER_NODE)], /Kubernetes API at/)
const kc = new KubeConfig()
kc.loadFromFile(kubeconfig)
// Metrics polled every 2 s here so the "after a poll" case comes round quickly.
const svc = await startService(kc, { env: { METRICS_POLL_SECONDS: '2' }, waitReady: false }).catch((err) => { sim.kill(); throw err })
try {
  const cluster = svc.app.cluster
  const t0 = performance.now()
  await waitFor(async () => (await fetch(`${svc.url}/readyz`)).status === 200, 180_000, 'service ready')
  console.log(`caches synced in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  await waitFor(() => cluster.podCount >= NODES * PODS_PER_NODE && cluster.metrics?.available === true, 120_000, 'pods and usage in the cache')
  console.log(`cluster: ${cluster.nodes.size} nodes, ${cluster.podCount} pods`)

  const scrape = async () => {
    const t0 = performance.now()
    const res = await fetch(`${svc.url}/metrics`)
    const body = await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`)
    return { ms: performance.now() - t0, bytes: body.byteLength }
  }
  const first = await scrape()
  console.log(`GET /metrics, first scrape (every node rendered): ${first.ms.toFixed(1)} ms, ${(first.bytes / 1e6).toFixed(1)} MB`)

  const warm: number[] = []
  for (let i = 0; i < ROUNDS; i++) warm.push((await scrape()).ms)
  console.log(`GET /metrics, nothing changed since the last scrape: ${stats(warm)}`)

  // One node changes (a label), seen through the watch, then a scrape.
  const oneChanged: number[] = []
  for (let i = 0; i < 5; i++) {
    const name = [...cluster.nodes.keys()][i]
    const before = cluster.nodes.get(name)
    await kubeRequest(kc, 'PATCH', `/api/v1/nodes/${name}`, { metadata: { labels: { bench: String(i) } } }, 'application/merge-patch+json')
    await waitFor(() => cluster.nodes.get(name) !== before, 10_000, 'the change seen')
    oneChanged.push((await scrape()).ms)
  }
  console.log(`GET /metrics, one node changed: ${stats(oneChanged)}`)

  // A metrics.k8s.io poll replaces every node's usage sample: every node's lines are rendered anew.
  const afterPoll: number[] = []
  for (let i = 0; i < 5; i++) {
    const usage = cluster.usage([...cluster.nodes.keys()][0])
    await waitFor(() => cluster.usage([...cluster.nodes.keys()][0]) !== usage, 30_000, 'a new usage sample')
    afterPoll.push((await scrape()).ms)
  }
  console.log(`GET /metrics, after a metrics poll (every node rendered): ${stats(afterPoll)}`)

  // Rendering alone, in this process, without HTTP.
  const series = new NodeSeries({ nodes: () => cluster.nodes.values(), podsOnNode: (n) => cluster.podsOnNode(n), usage: (n) => cluster.usage(n) })
  const cold: number[] = []
  const reuse: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    const fresh = new NodeSeries({ nodes: () => cluster.nodes.values(), podsOnNode: (n) => cluster.podsOnNode(n), usage: (n) => cluster.usage(n) })
    let t0 = performance.now()
    fresh.render()
    cold.push(performance.now() - t0)
    series.render()
    t0 = performance.now()
    series.render()
    reuse.push(performance.now() - t0)
  }
  console.log(`NodeSeries.render(), every node rendered: ${stats(cold)}`)
  console.log(`NodeSeries.render(), lines reused: ${stats(reuse)}`)

  // The alternative: prom-client Gauges whose collect() sets every per-node series at scrape time.
  const registry = new Registry()
  const P = 'streamspace_node_manager_'
  const gauge = (name: string, labelNames: string[], fill: (g: Gauge<string>) => void) => new Gauge({
    name: P + name, help: name, labelNames, registers: [registry], collect() { this.reset(); fill(this) },
  })
  const each = (fn: (name: string, node: NonNullable<ReturnType<typeof cluster.getNode>>) => void) => { for (const [name, node] of cluster.nodes) fn(name, node) }
  const podSums = (name: string) => {
    let pods = 0, sessions = 0, cpu = 0, mem = 0
    for (const p of cluster.podsOnNode(name)) if (!isTerminated(p)) { pods++; cpu += p.cpuRequestMilli; mem += p.memoryRequestBytes; if (isRunningSession(p)) sessions++ }
    return { pods, sessions, cpu, mem }
  }
  gauge('node_ready', ['node'], (g) => each((node, n) => g.set({ node }, readiness(n).ready ? 1 : 0)))
  gauge('node_unschedulable', ['node'], (g) => each((node, n) => g.set({ node }, n.spec?.unschedulable ? 1 : 0)))
  gauge('node_cpu_usage_ratio', ['node'], (g) => each((node, n) => { const u = cluster.usage(node); if (u) g.set({ node }, u.cpuCores / quantityToNumber(n.status?.allocatable?.cpu)) }))
  gauge('node_memory_usage_ratio', ['node'], (g) => each((node, n) => { const u = cluster.usage(node); if (u) g.set({ node }, u.memoryBytes / quantityToNumber(n.status?.allocatable?.memory)) }))
  gauge('node_cpu_requested_ratio', ['node'], (g) => each((node, n) => g.set({ node }, podSums(node).cpu / 1000 / quantityToNumber(n.status?.allocatable?.cpu))))
  gauge('node_memory_requested_ratio', ['node'], (g) => each((node, n) => g.set({ node }, podSums(node).mem / quantityToNumber(n.status?.allocatable?.memory))))
  gauge('node_pods', ['node'], (g) => each((node) => g.set({ node }, podSums(node).pods)))
  gauge('node_sessions', ['node'], (g) => each((node) => g.set({ node }, podSums(node).sessions)))
  gauge('node_condition', ['node', 'condition', 'status'], (g) => each((node, n) => {
    for (const c of n.status?.conditions ?? []) for (const [k, status] of [['True', 'true'], ['False', 'false'], ['Unknown', 'unknown']]) g.set({ node, condition: c.type, status }, c.status === k ? 1 : 0)
  }))
  const gauges: number[] = []
  let gaugeBytes = 0
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    gaugeBytes = (await registry.metrics()).length
    gauges.push(performance.now() - t0)
  }
  console.log(`prom-client Gauges with collect(), same per-node series: ${stats(gauges)}, ${(gaugeBytes / 1e6).toFixed(1)} MB`)
} finally {
  await svc.close()
  sim.kill()
}
