// Scrape cost at scale: the simulated cluster with 5,000 nodes and 150,000 pods and the service
// (`src/server.ts`, as deployed, LOG_LEVEL=info) each in its own process.
// 1. GET /metrics timed from this process: the first scrape (every node rendered), then scrapes
//    every 1 s while metrics.k8s.io polls (15 s, the default) and a node changes now and then.
// 2. A real Prometheus (Debian's package) scraping the service every 2 s for 60 s: its own
//    scrape_duration_seconds (the figure an operator sees).
// 3. In this process, on a synthetic cache of the same size: NodeSeries.render() against the
//    alternative the issue names, prom-client Gauges whose collect() sets the same per-node series.
// Run alone: npx tsx test/bench/metrics.ts [nodes] [podsPerNode] (--render-only: part 3 only)
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { KubeConfig } from '@kubernetes/client-node'
import { Gauge, Registry } from 'prom-client'
import { TEST_JWT_SECRET } from '../helpers/service.js'
import { kubeRequest } from '../helpers/fixtures.js'
import { startPrometheus } from '../helpers/prometheus.js'
import { NodeSeries, type NodeSeriesSource } from '../../src/nodes/node-series.js'
import { isRunningSession, isTerminated, readiness } from '../../src/nodes/view.js'
import { quantityToNumber } from '../../src/kube/quantity.js'
import type { NodeObject, SlimPod } from '../../src/kube/types.js'
import type { NodeUsage } from '../../src/kube/node-metrics.js'

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'))
const RENDER_ONLY = process.argv.includes('--render-only')
const NODES = Number(args[0] ?? 5000)
const PODS_PER_NODE = Number(args[1] ?? 30)

function start(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { out += d })
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => { if (ready.test(out)) { clearInterval(timer); resolve({ child, out: () => out }) } }, 50)
    child.on('exit', (code) => { clearInterval(timer); reject(new Error(`${args.join(' ')} exited ${code}:\n${out.slice(-2000)}`)) })
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const q = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))] }
const summary = (ms: number[]) => `p50 ${q(ms, 0.5).toFixed(1)} ms, p90 ${q(ms, 0.9).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms (${ms.length} scrapes)`
const cpuMs = (fn: () => unknown) => { const c = process.cpuUsage(); const t0 = performance.now(); fn(); const d = process.cpuUsage(c); return { wall: performance.now() - t0, cpu: (d.user + d.system) / 1000 } }

const dir = mkdtempSync(join(tmpdir(), 'bench-metrics-'))
const kubeconfig = join(dir, 'kubeconfig')
const children: ChildProcess[] = []
let prom: Awaited<ReturnType<typeof startPrometheus>> | undefined
if (!RENDER_ONLY) try {
  const sim = await start(['src/sim/cli.ts', '--port', '0', '--kubeconfig', kubeconfig, '--nodes', String(NODES), '--pods-per-node', String(PODS_PER_NODE)], {}, /Kubernetes API at/)
  children.push(sim.child)
  const svc = await start(['src/server.ts'], { KUBE_MODE: 'kubeconfig', KUBECONFIG: kubeconfig, JWT_SECRET: TEST_JWT_SECRET, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }, /Server listening at/)
  children.push(svc.child)
  const origin = svc.out().match(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/)?.[1]
  if (!origin) throw new Error(`no listen address in:\n${svc.out()}`)
  while ((await fetch(`${origin}/readyz`)).status !== 200) await sleep(200)
  console.log(`cluster: ${NODES} nodes, ${NODES * PODS_PER_NODE} pods; service caches synced`)

  const scrape = async () => {
    const t0 = performance.now()
    const res = await fetch(`${origin}/metrics`)
    const body = await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`)
    return { ms: performance.now() - t0, bytes: body.byteLength }
  }
  const first = await scrape()
  console.log(`GET /metrics, first scrape (every node rendered): ${first.ms.toFixed(1)} ms, ${(first.bytes / 1e6).toFixed(1)} MB`)

  // 40 scrapes 1 s apart: metrics.k8s.io polls every 15 s (every node's usage lines anew), and every
  // 5th second one node gets a label (its lines anew).
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfig)
  const times: number[] = []
  for (let i = 0; i < 40; i++) {
    if (i % 5 === 0) await kubeRequest(kc, 'PATCH', `/api/v1/nodes/node-${String(i + 1).padStart(5, '0')}`, { metadata: { labels: { bench: String(i) } } }, 'application/merge-patch+json').catch(() => undefined)
    await sleep(1000)
    times.push((await scrape()).ms)
  }
  console.log(`GET /metrics, 1 s apart under metrics polls and node changes: ${summary(times)}`)

  // The service's own CPU per scrape (wall times above include waiting for a shared CPU): its CPU
  // time (/proc) over 20 s of scrapes every 500 ms, less its CPU over 20 s without scrapes.
  const cpuOf = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10 }
  const window = async (scrapes: boolean) => {
    const c0 = cpuOf(svc.child.pid!)
    let n = 0
    const end = Date.now() + 20_000
    while (Date.now() < end) { if (scrapes) { await scrape(); n++ } await sleep(500) }
    return { cpu: cpuOf(svc.child.pid!) - c0, n }
  }
  const idle = await window(false)
  const busy = await window(true)
  console.log(`service CPU per scrape: ${((busy.cpu - idle.cpu) / busy.n).toFixed(1)} ms (${busy.cpu} ms CPU over 20 s with ${busy.n} scrapes, ${idle.cpu} ms without; metrics polls every 15 s in both)`)

  // Prometheus' own figure.
  prom = await startPrometheus({ targets: [new URL(origin).host], scrapeIntervalSeconds: 2 })
  await sleep(60_000)
  const sel = 'scrape_duration_seconds{job="streamspace-node-manager"}'
  const value = async (expr: string) => Number((await prom!.query(expr))[0]?.value[1]) * 1000
  const samples = (await prom.query(`count_over_time(${sel}[1m])`))[0]?.value[1]
  console.log(`Prometheus scrape_duration_seconds over 60 s (${samples} scrapes every 2 s): ` +
    `p50 ${(await value(`quantile_over_time(0.5, ${sel}[1m])`)).toFixed(1)} ms, ` +
    `p90 ${(await value(`quantile_over_time(0.9, ${sel}[1m])`)).toFixed(1)} ms, ` +
    `max ${(await value(`max_over_time(${sel}[1m])`)).toFixed(1)} ms; ` +
    `up ${(await prom.query('min_over_time(up{job="streamspace-node-manager"}[1m])'))[0]?.value[1]}`)
} finally {
  await prom?.stop()
  for (const c of children) c.kill()
}

// 3. Rendering alone: NodeSeries against prom-client Gauges, the same series from the same synthetic cache.
const nodes = new Map<string, NodeObject>()
const pods = new Map<string, SlimPod[]>()
const usage = new Map<string, NodeUsage>()
for (let i = 0; i < NODES; i++) {
  const name = `node-${String(i).padStart(5, '0')}`
  const c = (type: string, status: string) => ({ type, status })
  nodes.set(name, { metadata: { name }, spec: {}, status: { capacity: { cpu: '16', memory: '64Gi' }, allocatable: { cpu: '15890m', memory: '63Gi' }, conditions: [c('MemoryPressure', 'False'), c('DiskPressure', 'False'), c('PIDPressure', 'False'), c('Ready', 'True')] } })
  pods.set(name, Array.from({ length: PODS_PER_NODE }, (_, j) => ({ namespace: 'default', name: `p${j}`, node: name, phase: 'Running', terminating: false, session: j < 5, cpuRequestMilli: 100, memoryRequestBytes: 1e8 })))
  usage.set(name, { at: 0, cpu: '1', memory: '1Gi', cpuCores: 1.5, memoryBytes: 2e9 })
}
const podsVersions = new Map<string, number>()
const source: NodeSeriesSource = { nodes: () => nodes.values(), podsOnNode: (n) => pods.get(n) ?? [], podsVersionOf: (n) => podsVersions.get(n) ?? 0, usage: (n) => usage.get(n) }
const series = new NodeSeries(source)
series.renderChunks()
const rows: Record<string, { wall: number; cpu: number }[]> = { 'every node rendered (first scrape, relist)': [], 'after a metrics poll (usage lines of every node)': [], 'one node changed': [], 'nothing changed': [] }
for (let r = 0; r < 10; r++) {
  rows['every node rendered (first scrape, relist)'].push(cpuMs(() => new NodeSeries(source).renderChunks()))
  for (const [k, u] of usage) usage.set(k, { ...u, cpuCores: Math.random() * 10 })
  rows['after a metrics poll (usage lines of every node)'].push(cpuMs(() => series.renderChunks()))
  const name = `node-${String(r).padStart(5, '0')}`
  pods.set(name, pods.get(name)!.slice(1))
  podsVersions.set(name, r + 1)
  rows['one node changed'].push(cpuMs(() => series.renderChunks()))
  rows['nothing changed'].push(cpuMs(() => series.renderChunks()))
}
for (const [what, xs] of Object.entries(rows)) {
  console.log(`NodeSeries.renderChunks(), ${what}: wall p50 ${q(xs.map((x) => x.wall), 0.5).toFixed(1)} ms, CPU p50 ${q(xs.map((x) => x.cpu), 0.5).toFixed(1)} ms`)
}

const registry = new Registry()
const P = 'streamspace_node_manager_'
const sums = (name: string) => {
  let n = 0, sessions = 0, cpu = 0, mem = 0
  for (const p of pods.get(name) ?? []) if (!isTerminated(p)) { n++; cpu += p.cpuRequestMilli; mem += p.memoryRequestBytes; if (isRunningSession(p)) sessions++ }
  return { n, sessions, cpu, mem }
}
const gauge = (name: string, labelNames: string[], fill: (g: Gauge<string>, node: string, n: NodeObject) => void) => new Gauge({
  name: P + name, help: name, labelNames, registers: [registry], collect() { this.reset(); for (const [node, n] of nodes) fill(this, node, n) },
})
gauge('node_ready', ['node'], (g, node, n) => g.set({ node }, readiness(n).ready ? 1 : 0))
gauge('node_unschedulable', ['node'], (g, node, n) => g.set({ node }, n.spec?.unschedulable ? 1 : 0))
gauge('node_cpu_usage_ratio', ['node'], (g, node, n) => { const u = usage.get(node); if (u) g.set({ node }, u.cpuCores / quantityToNumber(n.status?.allocatable?.cpu)) })
gauge('node_memory_usage_ratio', ['node'], (g, node, n) => { const u = usage.get(node); if (u) g.set({ node }, u.memoryBytes / quantityToNumber(n.status?.allocatable?.memory)) })
gauge('node_cpu_requested_ratio', ['node'], (g, node, n) => g.set({ node }, sums(node).cpu / 1000 / quantityToNumber(n.status?.allocatable?.cpu)))
gauge('node_memory_requested_ratio', ['node'], (g, node, n) => g.set({ node }, sums(node).mem / quantityToNumber(n.status?.allocatable?.memory)))
gauge('node_pods', ['node'], (g, node) => g.set({ node }, sums(node).n))
gauge('node_sessions', ['node'], (g, node) => g.set({ node }, sums(node).sessions))
gauge('node_condition', ['node', 'condition', 'status'], (g, node, n) => {
  for (const c of n.status?.conditions ?? []) for (const [k, status] of [['True', 'true'], ['False', 'false'], ['Unknown', 'unknown']]) g.set({ node, condition: c.type, status }, c.status === k ? 1 : 0)
})
const viaGauges: { wall: number; cpu: number }[] = []
let size = 0
for (let r = 0; r < 5; r++) {
  const c = process.cpuUsage()
  const t0 = performance.now()
  size = Buffer.byteLength(await registry.metrics())
  const d = process.cpuUsage(c)
  viaGauges.push({ wall: performance.now() - t0, cpu: (d.user + d.system) / 1000 })
}
console.log(`prom-client Gauges with collect(), the same per-node series (${(size / 1e6).toFixed(1)} MB): wall p50 ${q(viaGauges.map((x) => x.wall), 0.5).toFixed(1)} ms, CPU p50 ${q(viaGauges.map((x) => x.cpu), 0.5).toFixed(1)} ms`)
