// A real Prometheus (Debian's package) scrapes the service, built in-process against the simulated
// cluster, with the chart's alert rules loaded; a node's ready series is read back through
// Prometheus' HTTP query API, and follows the node when it goes NotReady through its status.
import t from 'tap'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitFor } from '../helpers/service.js'
import { startStack } from '../helpers/stack.js'
import { startPrometheus } from '../helpers/prometheus.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const rulesFile = join(root, 'charts/streamspace-node-manager/files/alert-rules.yaml')

t.test('Prometheus scrapes the service and answers for a node\'s ready series', async (t) => {
  const { backend: b, service: svc } = await startStack(t, { nodes: [{ name: 'prom-1', cpu: '4', memory: '8Gi' }, { name: 'prom-2', cpu: '4', memory: '8Gi', ready: false }] })
  const target = new URL(svc.url).host
  // 2 s: the scrape timeout equals the interval, and a shared CI machine can be slow.
  const prom = await startPrometheus({ targets: [target], scrapeIntervalSeconds: 2, ruleFiles: [rulesFile] })
  t.teardown(() => prom.stop())

  const ready = async (node: string) => {
    const result = await prom.query(`streamspace_node_manager_node_ready{node="${node}"}`)
    return result.length === 1 ? { value: result[0].value[1], labels: result[0].metric } : undefined
  }
  await waitFor(async () => (await ready('prom-1')) !== undefined, 30_000, 'the first scrape in Prometheus')
  const first = (await ready('prom-1'))!
  t.equal(first.value, '1', 'prom-1 is Ready')
  t.match(first.labels, { __name__: 'streamspace_node_manager_node_ready', node: 'prom-1', job: 'streamspace-node-manager', instance: target })
  t.equal((await ready('prom-2'))?.value, '0', 'prom-2 is NotReady')

  const targets = await prom.targets()
  t.equal(targets.length, 1)
  t.equal(targets[0].health, 'up', 'the scrape parses')
  t.equal(targets[0].lastError, '')
  const up = await prom.query('up{job="streamspace-node-manager"}')
  t.equal(up[0]?.value[1], '1')
  const duration = Number((await prom.query('scrape_duration_seconds{job="streamspace-node-manager"}'))[0]?.value[1])
  t.ok(duration > 0 && duration < 2, `scrape took ${(duration * 1000).toFixed(1)} ms`)

  // The node goes NotReady through the status subresource, as a node controller would.
  await b.setNodeReady('prom-1', false)
  await waitFor(async () => (await ready('prom-1'))?.value === '0', 30_000, 'prom-1 NotReady in Prometheus')
  t.pass('prom-1 read back as 0 after it went NotReady')
  const notReady = await prom.query('sum(streamspace_node_manager_nodes{phase="NotReady"})')
  t.equal(notReady[0]?.value[1], '2')

  // The chart's rules load into Prometheus as they ship, and are evaluated.
  const rules = await fetch(`${prom.url}/api/v1/rules`).then((r) => r.json()) as { data: { groups: { name: string; rules: { name: string; health: string; state: string }[] }[] } }
  t.same(rules.data.groups.map((g) => g.name).sort(), ['streamspace-node-manager.drains', 'streamspace-node-manager.nodes', 'streamspace-node-manager.service'])
  await waitFor(async () => {
    const r = await fetch(`${prom.url}/api/v1/rules`).then((res) => res.json()) as typeof rules
    return r.data.groups.flatMap((g) => g.rules).find((x) => x.name === 'StreamSpaceNodeNotReady')?.state === 'pending'
  }, 30_000, 'StreamSpaceNodeNotReady pending (it fires after 5 minutes)')
  const all = (await fetch(`${prom.url}/api/v1/rules`).then((r) => r.json()) as typeof rules).data.groups.flatMap((g) => g.rules)
  t.ok(all.every((r) => r.health === 'ok'), 'every rule evaluates without error')
})
