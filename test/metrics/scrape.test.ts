// GET /metrics against a cluster: the per-node series and cluster totals follow the cluster as the
// watch cache sees it, and a real scrape passes `promtool check metrics` (Debian's promtool).
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace, kubeRequest } from '../helpers/fixtures.js'
import { startService, waitFor } from '../helpers/service.js'
import { startStack } from '../helpers/stack.js'
import { parseExposition, promtool, valueOf, type Sample } from '../helpers/prometheus.js'

const P = 'streamspace_node_manager_'

async function scrape(url: string): Promise<{ text: string; samples: Sample[]; contentType: string | null }> {
  const res = await fetch(`${url}/metrics`)
  if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`)
  const text = await res.text()
  return { text, samples: parseExposition(text), contentType: res.headers.get('content-type') }
}

eachBackend(t, 'per-node series and cluster totals from the cache; promtool check metrics clean', async (t, b) => {
  await createNode(b.clients, { name: 'm1', cpu: '4', memory: '8Gi' })
  await createNode(b.clients, { name: 'm2', cpu: '2', memory: '4Gi', unschedulable: true })
  await ensureNamespace(b.clients, 'streamspace')
  await createPod(b.clients, { name: 'web', namespace: 'default', node: 'm1', requests: { cpu: '1', memory: '2Gi' } })
  await createPod(b.clients, { name: 'sess', namespace: 'streamspace', node: 'm1', labels: { app: 'streamspace-session' }, requests: { cpu: '500m', memory: '1Gi' } })
  await createPod(b.clients, { name: 'done', namespace: 'default', node: 'm1', phase: 'Succeeded', requests: { cpu: '1', memory: '1Gi' } })
  const svc = await startService(b.kc)
  t.teardown(() => svc.close())

  let s: Awaited<ReturnType<typeof scrape>> | undefined
  await waitFor(async () => {
    s = await scrape(svc.url)
    return valueOf(s.samples, `${P}node_sessions`, { node: 'm1' }) === 1 && valueOf(s.samples, `${P}node_pods`, { node: 'm1' }) === 2
  }, 15_000, 'pods seen on m1')
  const { samples, text, contentType } = s!
  t.match(contentType, /^text\/plain; version=0\.0\.4/)
  const v = (name: string, labels: Record<string, string> = {}) => valueOf(samples, P + name, labels)

  t.equal(v('node_ready', { node: 'm1' }), 1)
  t.equal(v('node_unschedulable', { node: 'm1' }), 0)
  t.equal(v('node_unschedulable', { node: 'm2' }), 1)
  t.equal(v('node_cpu_requested_ratio', { node: 'm1' }), 0.375, '1.5 of 4 cores requested (the Succeeded pod does not count)')
  t.equal(v('node_memory_requested_ratio', { node: 'm1' }), 0.375, '3Gi of 8Gi')
  t.equal(v('node_cpu_requested_ratio', { node: 'm2' }), 0)
  t.equal(v('node_pods', { node: 'm2' }), 0)
  t.equal(v('node_condition', { node: 'm1', condition: 'Ready', status: 'true' }), 1)
  t.equal(v('node_condition', { node: 'm1', condition: 'Ready', status: 'false' }), 0)
  t.equal(v('node_condition', { node: 'm1', condition: 'Ready', status: 'unknown' }), 0)
  t.equal(v('node_condition', { node: 'm1', condition: 'MemoryPressure', status: 'false' }), 1)
  t.equal(v('nodes', { phase: 'Ready' }), 2)
  t.equal(v('nodes_unschedulable'), 1)
  t.equal(v('pods'), 2)
  t.equal(v('sessions'), 1)
  t.equal(v('cluster_cpu_capacity_cores'), 6)
  t.equal(v('cluster_memory_allocatable_bytes'), 12 * 2 ** 30)
  t.equal(v('cluster_cpu_requested_cores'), 1.5)
  t.equal(v('cache_synced'), 1)
  t.equal(v('cache_stale'), 0)
  t.equal(v('watch_restarts_total', { resource: 'nodes' }), 0, 'no watch restarts yet')
  t.type(v('watch_restarts_total', { resource: 'pods' }), 'number')
  if (b.metrics) {
    // The simulator's metrics-server reports every Ready node: the ratio is usage over allocatable.
    await waitFor(async () => valueOf((await scrape(svc.url)).samples, `${P}node_cpu_usage_ratio`, { node: 'm1' }) !== undefined, 15_000, 'usage sample')
    const usage = await (await svc.api('/nodes/m1')).json() as { usage: { cpu_percent: number } }
    const ratio = valueOf((await scrape(svc.url)).samples, `${P}node_cpu_usage_ratio`, { node: 'm1' })!
    t.ok(ratio > 0 && ratio <= 1, `cpu usage ratio ${ratio} in (0, 1]`)
    t.ok(Math.abs(ratio * 100 - usage.usage.cpu_percent) < 0.1, 'the same figure as the API\'s cpu_percent')
  } else {
    t.equal(v('node_cpu_usage_ratio', { node: 'm1' }), undefined, 'no usage series without metrics-server')
    t.equal(v('cluster_cpu_usage_cores'), undefined)
  }

  const lint = promtool(['check', 'metrics'], text)
  t.equal(lint.code, 0, `promtool check metrics exit code\n${lint.stdout}${lint.stderr}`)
  t.equal((lint.stdout + lint.stderr).trim(), '', 'no lint findings')

  // The node goes NotReady through its status (as a node controller would): the series follow.
  await b.setNodeReady('m1', false)
  await waitFor(async () => valueOf((await scrape(svc.url)).samples, `${P}node_ready`, { node: 'm1' }) === 0, 15_000, 'm1 not ready in /metrics')
  const after = (await scrape(svc.url)).samples
  t.equal(valueOf(after, `${P}node_condition`, { node: 'm1', condition: 'Ready', status: 'false' }), 1)
  t.equal(valueOf(after, `${P}node_condition`, { node: 'm1', condition: 'Ready', status: 'true' }), 0)
  t.equal(valueOf(after, `${P}nodes`, { phase: 'NotReady' }), 1)

  // A deleted node's series go with it.
  await kubeRequest(b.kc, 'DELETE', '/api/v1/nodes/m2')
  await waitFor(async () => valueOf((await scrape(svc.url)).samples, `${P}node_ready`, { node: 'm2' }) === undefined, 15_000, 'm2 gone from /metrics')
})

t.test('watch restarts are counted', async (t) => {
  const { backend: b, service: svc } = await startStack(t, { nodes: [{ name: 'w1', cpu: '1', memory: '1Gi' }] })
  const restarts = async () => valueOf((await scrape(svc.url)).samples, `${P}watch_restarts_total`, { resource: 'nodes' }) ?? -1
  t.equal(await restarts(), 0, 'no restart on a fresh, quiet watch')
  // The server cuts every watch stream after 300 ms (a broken connection): each is started again and counted.
  b.sim!.faults.dropWatchMs = 300
  await waitFor(async () => (await restarts()) >= 2, 15_000, 'two restarts counted')
  b.sim!.faults.dropWatchMs = 0
  const text = (await scrape(svc.url)).text
  t.match(text, /# TYPE streamspace_node_manager_watch_restarts_total counter/)
  // Still following the cluster after the restarts.
  await createNode(b.clients, { name: 'w2', cpu: '1', memory: '1Gi' })
  await waitFor(async () => valueOf((await scrape(svc.url)).samples, `${P}node_ready`, { node: 'w2' }) === 1, 15_000, 'w2 seen')
})
