// METRICS_PER_NODE (auto | on | off): per-node series on /metrics or cluster totals only; auto
// turns them off above 5,000 nodes, and says so in the log and in the metrics_per_node gauge.
import t from 'tap'
import { startBackend } from '../helpers/backend.js'
import { createNode } from '../helpers/fixtures.js'
import { startService, waitFor } from '../helpers/service.js'
import { parseExposition, valueOf } from '../helpers/prometheus.js'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { CLUSTER_FAMILIES, NodeSeries, PER_NODE_AUTO_LIMIT, perNodeSeriesOn } from '../../src/nodes/node-series.js'
import type { NodeObject } from '../../src/kube/types.js'

const P = 'streamspace_node_manager_'

async function scrape(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text()
  return { text, samples: parseExposition(text) }
}

/** The cluster totals' lines, as rendered. */
const totalNames = new Set(CLUSTER_FAMILIES.map((f) => f.name))
const totals = (text: string) => text.split('\n').filter((l) => totalNames.has(l.split(/[{ ]/)[0]!)).join('\n')

t.test('the decision: on, off, or auto up to 5,000 nodes', async (t) => {
  t.equal(PER_NODE_AUTO_LIMIT, 5000)
  t.equal(perNodeSeriesOn('auto', 5000), true)
  t.equal(perNodeSeriesOn('auto', 5001), false)
  t.equal(perNodeSeriesOn('on', 65000), true)
  t.equal(perNodeSeriesOn('off', 1), false)
  t.throws(() => loadConfig({ METRICS_PER_NODE: 'sometimes' }), ConfigError)
  t.throws(() => loadConfig({ METRICS_PER_NODE: 'sometimes' }), /METRICS_PER_NODE/)
  t.equal(loadConfig({}).service.metricsPerNode, 'auto')
})

t.test('NodeSeries: totals alone when per-node is off, the same totals; back on as a fresh render', async (t) => {
  const nodes = new Map<string, NodeObject>()
  for (const name of ['a', 'b', 'c']) {
    nodes.set(name, { metadata: { name }, status: { capacity: { cpu: '4', memory: '8Gi' }, allocatable: { cpu: '4', memory: '8Gi' }, conditions: [{ type: 'Ready', status: 'True' }] } })
  }
  const source = { nodes: () => nodes.values(), podsOnNode: () => [], usage: () => undefined }
  let on = true
  const series = new NodeSeries(source, () => on)
  const full = series.render().toString()
  t.match(full, `${P}node_ready{node="a"} 1`)
  on = false
  const slim = series.render().toString()
  t.notMatch(slim, `${P}node_`, 'no per-node family, not even its HELP')
  t.equal(totals(slim), totals(full), 'the same cluster totals')
  t.match(slim, `${P}nodes{phase="Ready"} 3`)
  on = true
  t.equal(series.render().toString(), full, 'on again: what a fresh render makes')
})

t.test('METRICS_PER_NODE on the service: off, and auto with few nodes', async (t) => {
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  await createNode(b.clients, { name: 'm1', cpu: '4', memory: '8Gi' })
  for (const [mode, want] of [['off', 0], ['auto', 1], ['on', 1]] as const) {
    const lines: string[] = []
    const svc = await startService(b.kc, { env: { METRICS_PER_NODE: mode, LOG_LEVEL: 'info' }, logStream: { write: (l) => lines.push(l) } })
    t.teardown(() => svc.close())
    let s!: Awaited<ReturnType<typeof scrape>>
    await waitFor(async () => { s = await scrape(svc.url); return valueOf(s.samples, `${P}nodes`, { phase: 'Ready' }) === 1 }, 15_000, 'm1 seen')
    t.equal(valueOf(s.samples, `${P}metrics_per_node`), want, `${mode}: gauge ${want}`)
    t.equal(s.text.includes(`${P}node_ready{node="m1"} 1`), want === 1, `${mode}: per-node series ${want ? 'present' : 'absent'}`)
    await waitFor(() => lines.some((l) => l.includes('per-node series on /metrics')), 5_000, 'the log line')
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; metricsPerNode: string; nodes: number }).find((l) => l.msg.includes('per-node series'))!
    t.match(logged, { metricsPerNode: mode, nodes: 1, msg: want ? /: on/ : /: off/ }, `${mode}: the log says so`)
  }
})

t.test('METRICS_PER_NODE=auto above 5,000 nodes: totals only, said in the log and the gauge', async (t) => {
  const sim = await startSim({ nodes: PER_NODE_AUTO_LIMIT + 1, podsPerNode: 0 })
  t.teardown(() => sim.close())
  const lines: string[] = []
  const kc = new KubeConfig()
  kc.loadFromString(sim.kubeconfig())
  const svc = await startService(kc, { env: { LOG_LEVEL: 'info' }, logStream: { write: (l) => lines.push(l) } })
  t.teardown(() => svc.close())
  const s = await scrape(svc.url)
  t.equal(valueOf(s.samples, `${P}nodes`, { phase: 'Ready' }), 5001)
  t.equal(valueOf(s.samples, `${P}metrics_per_node`), 0, 'gauge 0')
  t.notMatch(s.text, `${P}node_ready{`, 'no per-node series')
  t.ok(s.text.length < 100_000, `a small scrape (${s.text.length} bytes)`)
  const warning = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.msg.includes('per-node series'))
  t.match(warning, { level: 40, msg: /off, 5001 nodes is above 5000 \(METRICS_PER_NODE=auto\)/ }, 'a warning says why')
})
