// Retention of plans as NodeMaintenance objects (issue 23, findings 3, 6 and 7): a plan kept every
// remaining node (~200 KB at 5,000 nodes) in one ConfigMap of 1 MiB; plans were never deleted; the
// engine kept each plan's history in memory for good; a start far ahead spun. On the simulator,
// which seeds thousands of nodes in seconds.
import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import { startService } from '../helpers/service.js'
import { FakeClock } from '../helpers/clock.js'
import { kubeRequest, waitFor } from '../helpers/fixtures.js'
import { call, nodeState, until } from './helpers.js'
import type { Maintenance } from '../../src/maintenance/types.js'

const NM = '/apis/nodes.stream.space/v1alpha1/nodemaintenances'

/** A simulated cluster of `nodes` nodes (each with its DaemonSet pods only). */
async function simWith(nodes: number): Promise<{ kc: KubeConfig; close(): Promise<void> }> {
  const sim = await startSim({ nodes, podsPerNode: 0 })
  const kc = new KubeConfig()
  kc.loadFromString(sim.kubeconfig())
  return { kc, close: () => sim.close() }
}

t.test('200 finished plans at 5,000 nodes are all stored, each small; the newest 100 are kept until the TTL collects them; memory keeps nothing per plan', async (t) => {
  const b = await simWith(5000)
  t.teardown(() => b.close())
  const clock = new FakeClock(Date.now())
  const svc = await startService(b.kc, { clock, env: { CHANGE_RATE_LIMIT_MAX: '100000' } })
  t.teardown(() => svc.close())
  await waitFor(() => svc.app.health.isLeader(), 30_000, 'leadership')
  const ids: string[] = []
  for (let i = 1; i <= 200; i++) {
    const name = `node-${String(i).padStart(5, '0')}`
    const r = await call(svc, 'POST', '/maintenance', { nodes: [name], reason: `batch ${i}`, force: true, drain: { force: true, ignore_daemonsets: true, delete_emptydir_data: true, timeout_seconds: 60 } })
    t.equal(r.status, 201, r.body.message)
    ids.push(r.body.id)
    const ended = await until(svc, r.body.id, (p) => p.state === 'succeeded' || p.state === 'failed', `plan ${i} ends`, 60_000)
    t.equal(ended.state, 'succeeded', `plan ${i} stored to its end`)
    clock.advance(1000) // each ends at its own time: the newest are known
  }
  // All 200 were stored to their end (no size limit hit); beyond the newest 100 the oldest are deleted.
  await waitFor(async () => ((await kubeRequest(b.kc, 'GET', NM)).body as { items: object[] }).items.length === 100, 30_000, 'the newest 100 kept')
  const list = await call<Maintenance[]>(svc, 'GET', '/maintenance')
  t.equal(list.status, 200)
  t.same(list.body.map((p) => p.id).sort(), ids.slice(100).sort(), 'the newest 100 plans, as every replica reads them')
  const objs = (await kubeRequest(b.kc, 'GET', NM)).body as { items: object[] }
  const largest = Math.max(...objs.items.map((o) => JSON.stringify(o).length))
  t.ok(largest < 20_000, `each object is small: the largest is ${largest} bytes (the fit keeps counts, not every remaining node)`)
  const fit = list.body[0].fit!
  t.ok(fit.remaining_count! >= 4800 && fit.remaining_nodes.length <= 20, `fit summary: ${fit.remaining_count} remaining, ${fit.remaining_nodes.length} named`)
  t.equal(svc.app.maintenance.runningCount, 0, 'no runner left in memory')

  clock.advance(7 * 86_400_000 + 1000)
  await waitFor(async () => ((await kubeRequest(b.kc, 'GET', NM)).body as { items: object[] }).items.length === 0, 30_000, 'the TTL (7 days) collects every finished plan')
  await waitFor(async () => (await call<Maintenance[]>(svc, 'GET', '/maintenance')).body.length === 0, 10_000, 'and GET /maintenance no longer lists them')
})

t.test('beyond the newest 100 finished plans, the oldest are deleted; a plan starting in 30 days sleeps once, never spins', async (t) => {
  const b = await simWith(120)
  t.teardown(() => b.close())
  const clock = new FakeClock(Date.now())
  let sleeps = 0
  const counting = { now: () => clock.now(), monotonic: () => clock.monotonic(), sleep: (ms: number, signal?: AbortSignal) => { sleeps++; return clock.sleep(ms, signal) } }
  const svc = await startService(b.kc, { clock: counting, env: { CHANGE_RATE_LIMIT_MAX: '100000' } })
  t.teardown(() => svc.close())
  await waitFor(() => svc.app.health.isLeader(), 30_000, 'leadership')
  for (let i = 1; i <= 105; i++) {
    const r = await call(svc, 'POST', '/maintenance', { nodes: [`node-${String(i).padStart(5, '0')}`], reason: `r${i}`, force: true, drain: { force: true, timeout_seconds: 60 } })
    t.equal(r.status, 201, r.body.message)
    await until(svc, r.body.id, (p) => p.state === 'succeeded' || p.state === 'failed', `plan ${i} ends`, 60_000)
    clock.advance(1000) // each ends at its own time: the oldest are known
  }
  await waitFor(async () => ((await kubeRequest(b.kc, 'GET', NM)).body as { items: object[] }).items.length === 100, 30_000, 'the newest 100 kept')
  const kept = (await call<Maintenance[]>(svc, 'GET', '/maintenance')).body.map((p) => p.reason)
  t.notOk(kept.includes('r1') || kept.includes('r5'), 'the oldest five went')
  t.ok(kept.includes('r6') && kept.includes('r105'), 'the newest stay')

  const before = sleeps
  const later = await call(svc, 'POST', '/maintenance', { nodes: ['node-00110'], reason: 'next month', start_at: new Date(clock.now() + 30 * 86_400_000).toISOString(), force: true })
  t.equal(later.status, 201, later.body.message)
  await until(svc, later.body.id, (p) => p.message.startsWith('starts at'), 'accepted and waiting for its start')
  await new Promise((r) => setTimeout(r, 500))
  t.ok(sleeps - before < 10, `a handful of sleeps while it waits 30 days (${sleeps - before})`)
  t.equal(nodeState((await call(svc, 'GET', `/maintenance/${later.body.id}`)).body, 'node-00110').state, 'pending', 'nothing done before its start')
})
