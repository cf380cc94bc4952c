// The health monitor alone, with a fake clock and NodeIncident objects in memory: incidents from
// node objects, grace, resend and resolve timing, cordons, deleted nodes, alertOnNodeFailure off,
// and takeovers by a new leader (which reads the incidents, never the Events).
import t from 'tap'
import { FakeClock } from '../helpers/clock.js'
import { systemClock, type Clock } from '../../src/clock.js'
import { HealthMonitor, clusterStatus, nodesWithProblems, type HealthSettings, type NodeSource } from '../../src/health/monitor.js'
import { FakeIncidents } from './fake-incidents.js'
import { nodeProblems } from '../../src/health/problems.js'
import type { PostableAlert, WebhookMessage } from '../../src/health/alerts.js'
import type { NodeObject } from '../../src/kube/types.js'

class Nodes implements NodeSource {
  map = new Map<string, NodeObject>()
  synced = () => true
  private listeners = new Set<(n: string | undefined) => void>()
  nodes() { return this.map.values() }
  getNode(name: string) { return this.map.get(name) }
  onChange(l: (n: string | undefined) => void) { this.listeners.add(l); return () => { this.listeners.delete(l) } }
  set(node: NodeObject) { this.map.set(node.metadata!.name!, node); for (const l of this.listeners) l(node.metadata!.name!) }
  delete(name: string) { this.map.delete(name); for (const l of this.listeners) l(name) }
}

function node(name: string, at: number, opts: { ready?: 'True' | 'False' | 'Unknown'; memoryPressure?: boolean; cordonedAt?: number; unschedulable?: boolean } = {}): NodeObject {
  const c = (type: string, status: string, reason: string) => ({ type, status, reason, message: `${type} is ${status}`, lastTransitionTime: new Date(at).toISOString() })
  return {
    metadata: { name, uid: `uid-${name}`, annotations: opts.cordonedAt !== undefined ? { 'streamspace.io/cordoned-at': new Date(opts.cordonedAt).toISOString() } : {} },
    spec: { unschedulable: opts.unschedulable ?? opts.cordonedAt !== undefined },
    status: {
      conditions: [
        c('MemoryPressure', opts.memoryPressure ? 'True' : 'False', opts.memoryPressure ? 'KubeletHasInsufficientMemory' : 'KubeletHasSufficientMemory'),
        c('Ready', opts.ready ?? 'True', opts.ready === 'False' ? 'KubeletNotReady' : opts.ready === 'Unknown' ? 'NodeStatusUnknown' : 'KubeletReady'),
      ],
    },
  }
}

const settle = async () => { for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r)) }

interface ReadEvent { metadata?: { name?: string }; reason?: string; message?: string; involvedObject?: { name?: string; uid?: string } }

interface Rig {
  clock: FakeClock
  nodes: Nodes
  incidents: FakeIncidents
  am: PostableAlert[][]
  hooks: WebhookMessage[]
  /** Each webhook message's X-StreamSpace-Delivery id. */
  ids: string[]
  /** Whether its incident was stored (and paged) when each webhook message was handed over. */
  storedWhenSent: boolean[]
  events: (ReadEvent & { node: string; reason: string; type: string })[]
  monitor: HealthMonitor
  settings: HealthSettings
  /** Advances the fake clock in 1 s steps, letting the monitor run after each. */
  run(ms: number): Promise<void>
}

let eventSeq = 0
function rig(shared?: { clock: FakeClock; nodes: Nodes; events: Rig['events']; incidents: FakeIncidents }, settings: Partial<HealthSettings> & { webhookDown?: boolean; amDown?: boolean } = {}): Rig {
  const clock = shared?.clock ?? new FakeClock()
  const nodes = shared?.nodes ?? new Nodes()
  const incidents = shared?.incidents ?? new FakeIncidents()
  const events = shared?.events ?? []
  const am: PostableAlert[][] = []
  const hooks: WebhookMessage[] = []
  const ids: string[] = []
  const storedWhenSent: boolean[] = []
  const { webhookDown: _, amDown: __, ...given } = settings
  const s: HealthSettings = { intervalMs: 60_000, graceMs: 30_000, cordonedMs: 60 * 60_000, alertsEnabled: true, ...given }
  const monitor = new HealthMonitor({
    source: nodes, incidents, clock, settings: () => s,
    // Receivers that answer 2xx at once.
    // Receivers that answer 2xx at once (amDown: Alertmanager never answers, as if the leader died before its POST).
    alertmanagers: [{ put: (alerts, done) => { am.push(alerts); if (!settings.amDown) for (const a of alerts) done?.(a, 'delivered') } }],
    webhook: {
      enqueue: (m, d) => {
        hooks.push(m)
        ids.push(d?.id ?? '')
        storedWhenSent.push(incidents.list().some((o) => o.spec.node === m.alerts[0].labels.node && o.status?.paged))
        if (!settings.webhookDown) d?.onDelivered?.()
      },
    },
    recordEvent: async (n, e) => { events.push({ node: n.metadata!.name!, metadata: { name: `${n.metadata!.name}.${(++eventSeq).toString(16).padStart(8, '0')}` }, involvedObject: { name: n.metadata!.name!, uid: n.metadata!.uid }, ...e }) },
    nodeUrl: (n) => `https://streamspace.example.com/api/plugins/streamspace-node-manager/admin/nodes/${n}`,
    externalUrl: 'https://streamspace.example.com',
  })
  return {
    clock, nodes, incidents, am, hooks, ids, storedWhenSent, events, monitor, settings: s,
    async run(ms) {
      await settle()
      for (let done = 0; done < ms; done += 1000) { clock.advance(1000); await settle() }
    },
  }
}

const flat = (am: PostableAlert[][]) => am.flat()

t.test('a NotReady node pages once after the grace, is re-sent every 60 s, resolves, and the resolve is re-sent for 15 min', async (t) => {
  const r = rig()
  const t0 = r.clock.now()
  r.nodes.set(node('w1', t0))
  r.monitor.start()
  t.teardown(() => r.monitor.stop())
  await r.run(1000)
  t.equal(r.monitor.checks, 1, 'checked at start')
  t.same(flat(r.am), [], 'healthy: nothing sent')

  const down = r.clock.now()
  r.nodes.set(node('w1', down, { ready: 'False' }))
  await r.run(29_000)
  t.same(flat(r.am), [], 'within the 30 s grace nobody is paged')
  t.equal(r.monitor.incidents().active[0]?.state, 'pending')
  await r.run(1000)
  t.equal(flat(r.am).length, 1, 'paged when the grace ends (node change, not the next interval)')
  const a = flat(r.am)[0]
  t.same(a.labels, { alertname: 'StreamSpaceNodeNotReady', node: 'w1', condition: 'Ready', severity: 'critical', service: 'streamspace-node-manager' })
  t.equal(a.startsAt, new Date(down).toISOString(), 'startsAt: when the condition changed')
  t.equal(Date.parse(a.endsAt), r.clock.now() + 240_000, 'endsAt: now + 4 min')
  t.match(a.annotations.summary, /w1 is NotReady/)
  t.match(a.annotations.description, /Ready=False \(KubeletNotReady\)/)
  t.equal(a.generatorURL, 'https://streamspace.example.com/api/plugins/streamspace-node-manager/admin/nodes/w1')
  t.equal(r.hooks.length, 1, 'one webhook message')
  t.equal(r.hooks[0].version, '4')
  t.equal(r.hooks[0].status, 'firing')
  t.equal(r.hooks[0].alerts[0].endsAt, '0001-01-01T00:00:00Z', 'firing: zero endsAt, as Alertmanager writes')
  t.match(r.hooks[0].groupKey, /alertname="StreamSpaceNodeNotReady", node="w1"/)
  t.equal(r.events.length, 1, 'one Event on the node')
  t.match(r.events[0], { reason: 'StreamSpaceNodeNotReady', type: 'Warning' })

  await r.run(59_000)
  t.equal(flat(r.am).length, 1, 'no resend before 60 s')
  await r.run(1000)
  t.equal(flat(r.am).length, 2, 'resent after 60 s')
  t.same(flat(r.am)[1].labels, a.labels, 'with the same labels')
  t.equal(flat(r.am)[1].startsAt, a.startsAt, 'and the same startsAt')
  t.equal(Date.parse(flat(r.am)[1].endsAt), r.clock.now() + 240_000)
  t.equal(r.hooks.length, 1, 'the webhook is not re-sent')

  const up = r.clock.now()
  r.nodes.set(node('w1', up))
  await r.run(0)
  const resolved = flat(r.am)[2]
  t.equal(resolved.endsAt, new Date(up).toISOString(), 'resolved: endsAt = when it ended')
  t.equal(r.hooks.length, 2)
  t.equal(r.hooks[1].status, 'resolved')
  t.match(r.events[1], { reason: 'StreamSpaceNodeNotReadyResolved', type: 'Normal' })
  t.same(r.monitor.incidents().recent.map((i) => i.state), ['resolved'])

  await r.run(15 * 60_000)
  const resends = flat(r.am).slice(3)
  t.ok(resends.length >= 14 && resends.length <= 15, `resolved alert re-sent every minute for 15 min (${resends.length})`)
  t.ok(resends.every((x) => x.endsAt === resolved.endsAt), 'each with the same endsAt')
  const n = flat(r.am).length
  await r.run(5 * 60_000)
  t.equal(flat(r.am).length, n, 'then nothing more')
  t.same(r.monitor.incidents(), { active: [], recent: [] }, 'forgotten after 15 min')
  t.equal(r.hooks.length, 2, 'webhook: one firing, one resolved')
})

t.test('a late heartbeat (NotReady for less than the grace) pages nobody', async (t) => {
  const r = rig()
  r.nodes.set(node('w1', r.clock.now()))
  r.monitor.start()
  t.teardown(() => r.monitor.stop())
  await r.run(1000)
  r.nodes.set(node('w1', r.clock.now(), { ready: 'Unknown' }))
  await r.run(20_000)
  r.nodes.set(node('w1', r.clock.now()))
  await r.run(120_000)
  t.same(flat(r.am), [])
  t.same(r.hooks, [])
  t.same(r.events, [])
  t.same(r.monitor.incidents(), { active: [], recent: [] })
})

t.test('pressure conditions and Unknown: one incident per node and problem', async (t) => {
  const r = rig(undefined, { graceMs: 0 })
  r.nodes.set(node('w1', r.clock.now(), { memoryPressure: true }))
  r.nodes.set(node('w2', r.clock.now(), { ready: 'Unknown' }))
  r.monitor.start()
  t.teardown(() => r.monitor.stop())
  await r.run(1000)
  const labels = flat(r.am).map((a) => `${a.labels.alertname}/${a.labels.node}/${a.labels.condition}/${a.labels.severity}`).sort()
  t.same(labels, ['StreamSpaceNodeCondition/w1/MemoryPressure/warning', 'StreamSpaceNodeNotReady/w2/Ready/critical'])
  t.match(flat(r.am).find((a) => a.labels.node === 'w2')!.annotations.summary, /Unknown/)
  // The Ready incident continues through False -> Unknown: same incident, no second page.
  r.nodes.set(node('w2', r.clock.now(), { ready: 'False' }))
  await r.run(5000)
  t.equal(r.hooks.length, 2, 'a status change within an incident is not a new page')
})

t.test('cordoned too long pages after the threshold; 0 turns it off', async (t) => {
  const r = rig(undefined, { cordonedMs: 10 * 60_000 })
  const start = r.clock.now()
  r.nodes.set(node('w1', start, { cordonedAt: start - 5 * 60_000 }))
  r.nodes.set(node('w2', start, { unschedulable: true })) // no recorded cordon time: timed from first sight
  r.monitor.start()
  t.teardown(() => r.monitor.stop())
  await r.run(4 * 60_000)
  t.same(flat(r.am), [], 'not before the threshold')
  t.same(nodesWithProblems(r.nodes.nodes(), r.clock.now(), 10 * 60_000), [], 'GET health lists no cordon under the threshold')
  await r.run(61_000)
  t.same(flat(r.am).map((a) => a.labels.node), ['w1'], 'w1 (cordoned 10 min ago) pages')
  t.equal(flat(r.am)[0].labels.alertname, 'StreamSpaceNodeCordonedTooLong')
  t.equal(flat(r.am)[0].labels.condition, 'Unschedulable')
  t.equal(flat(r.am)[0].startsAt, new Date(start - 5 * 60_000).toISOString())
  t.same(nodesWithProblems(r.nodes.nodes(), r.clock.now(), 10 * 60_000).map((n) => n.name), ['w1'])
  await r.run(5 * 60_000)
  t.ok(flat(r.am).some((a) => a.labels.node === 'w2'), 'w2 pages 10 min after it was first seen cordoned')
  r.nodes.set(node('w1', r.clock.now()))
  await r.run(1000)
  t.ok(r.hooks.some((h) => h.status === 'resolved' && h.alerts[0].labels.node === 'w1'), 'uncordon resolves')

  const off = rig(undefined, { cordonedMs: 0 })
  off.nodes.set(node('w1', off.clock.now(), { cordonedAt: off.clock.now() - 86_400_000 }))
  off.monitor.start()
  await off.run(10 * 60_000)
  await off.monitor.stop()
  t.same(flat(off.am), [], 'CORDONED_ALERT_MINUTES=0: never')
})

t.test('deleted nodes: nothing for a healthy or pending one; a paged one is resolved as deleted', async (t) => {
  const r = rig()
  r.nodes.set(node('healthy', r.clock.now()))
  r.nodes.set(node('pending', r.clock.now()))
  r.nodes.set(node('paged', r.clock.now(), { ready: 'False' }))
  r.monitor.start()
  t.teardown(() => r.monitor.stop())
  await r.run(31_000)
  t.equal(r.hooks.length, 1)
  r.nodes.set(node('pending', r.clock.now(), { ready: 'False' }))
  await r.run(5000)
  r.nodes.delete('healthy')
  r.nodes.delete('pending')
  r.nodes.delete('paged')
  await r.run(120_000)
  t.same(r.hooks.map((h) => `${h.status}/${h.alerts[0].labels.node}`), ['firing/paged', 'resolved/paged'])
  t.match(r.hooks[1].alerts[0].annotations.description, /deleted/)
  t.same(r.monitor.incidents().recent.map((i) => i.ended), ['deleted'])
  t.same(r.events.map((e) => [e.reason, e.involvedObject]), [['StreamSpaceNodeNotReady', { name: 'paged', uid: 'uid-paged' }], ['StreamSpaceNodeNotReadyResolved', { name: 'paged', uid: 'uid-paged' }]],
    'the resolve Event names the deleted node (its marker tells a later leader the incident ended)')
})

t.test('alertOnNodeFailure false: incidents are tracked, nobody is paged', async (t) => {
  const r = rig(undefined, { alertsEnabled: false, graceMs: 0 })
  r.nodes.set(node('w1', r.clock.now(), { ready: 'False' }))
  r.monitor.start()
  t.teardown(() => r.monitor.stop())
  await r.run(5 * 60_000)
  t.same(flat(r.am), [])
  t.same(r.hooks, [])
  t.equal(r.monitor.incidents().active[0]?.state, 'firing')
  t.equal(r.monitor.incidents().active[0]?.paged, false)
})

t.test('settings changed at run time (PUT P/config): alertOnNodeFailure turned on pages at once, a new interval applies', async (t) => {
  const r = rig(undefined, { alertsEnabled: false, graceMs: 0, intervalMs: 600_000 })
  r.nodes.set(node('w1', r.clock.now(), { ready: 'False' }))
  r.monitor.start()
  t.teardown(() => r.monitor.stop())
  await r.run(5000)
  r.settings.alertsEnabled = true
  await r.run(2000)
  t.same(flat(r.am), [], 'without being told, the monitor waits for its next check')
  r.monitor.settingsChanged()
  await r.run(1000)
  t.same(flat(r.am).map((a) => a.labels.alertname), ['StreamSpaceNodeNotReady'], 'told of the change: paged at once')
})

t.test('a new leader does not page again what the previous one paged', async (t) => {
  const a = rig()
  const start = a.clock.now()
  a.nodes.set(node('w1', start, { ready: 'False' }))
  a.monitor.start()
  await a.run(31_000)
  t.equal(a.hooks.length, 1, 'the first leader pages')
  await a.monitor.stop()

  const b = rig({ clock: a.clock, nodes: a.nodes, events: a.events, incidents: a.incidents })
  b.monitor.start()
  t.teardown(() => b.monitor.stop())
  await b.run(1000)
  t.equal(b.hooks.length, 0, 'no second webhook')
  t.equal(b.events.length, 1, 'no second Event')
  t.equal(flat(b.am).length, 1, 'Alertmanager still hears of it (identical alert)')
  t.same(flat(b.am)[0].labels, flat(a.am)[0].labels)
  t.equal(flat(b.am)[0].startsAt, flat(a.am)[0].startsAt)
  a.nodes.set(node('w1', a.clock.now()))
  await b.run(1000)
  t.same(b.hooks.map((h) => h.status), ['resolved'], 'the new leader resolves it')
  // A later, new incident on the same node pages again.
  a.nodes.set(node('w1', a.clock.now(), { ready: 'False' }))
  await b.run(31_000)
  t.same(b.hooks.map((h) => h.status), ['resolved', 'firing'])
})

t.test('problems, nodesWithProblems and clusterStatus', async (t) => {
  const now = Date.UTC(2026, 0, 1)
  t.same(nodeProblems(node('ok', now)), [])
  t.same(nodeProblems({ metadata: { name: 'bare' } }).map((p) => [p.condition, p.status, p.reason]), [['Ready', 'Unknown', 'NoReadyCondition']])
  const nodes = [node('a', now), node('b', now, { ready: 'False' }), node('c', now, { memoryPressure: true })]
  const problems = nodesWithProblems(nodes, now, 3600_000)
  t.same(problems.map((p) => [p.name, p.phase, p.conditions.map((c) => c.type)]), [['b', 'NotReady', ['Ready']], ['c', 'Ready', ['MemoryPressure']]])
  t.equal(problems[0].conditions[0].since, new Date(now).toISOString())
  t.equal(clusterStatus(nodes, problems), 'degraded')
  t.equal(clusterStatus([node('a', now)], []), 'healthy')
  t.equal(clusterStatus([node('a', now), node('b', now, { ready: 'False' })], problems), 'critical', 'half not Ready')
  t.equal(clusterStatus([], []), 'healthy')
})

// Finding 3: a firing incident not yet paged made nextDue return "now" (about 800 turns a second
// while the page waited for its Events read). Now nothing is read to page, and a write the API
// server does not take is retried after 5 s (a hung one after its 10 s timeout).
t.test('the monitor never spins: an API server that does not take the incident is retried, not polled', async (t) => {
  for (const mode of ['hangs', 'fails'] as const) {
    const nodes = new Nodes()
    const incidents = new FakeIncidents()
    if (mode === 'hangs') incidents.hang = new Promise<never>(() => undefined)
    else incidents.create = async () => { throw new Error('HTTP 500 from POST') }
    let sleeps = 0
    const clock: Clock = { now: () => Date.now(), sleep: (ms, signal) => { sleeps++; return systemClock.sleep(ms, signal) } }
    const hooks: WebhookMessage[] = []
    const monitor = new HealthMonitor({
      source: nodes, incidents, clock, settings: () => ({ intervalMs: 60_000, graceMs: 0, cordonedMs: 0, alertsEnabled: true }),
      webhook: { enqueue: (m) => { hooks.push(m) } },
      nodeUrl: (n) => n, externalUrl: 'x',
    })
    nodes.set(node('w1', Date.now() - 1000, { ready: 'False' }))
    monitor.start()
    await new Promise((r) => setTimeout(r, 1000))
    await monitor.stop()
    t.ok(sleeps <= 4, `API ${mode}: ${sleeps} sleeps in 1 s (no busy loop)`)
    t.same(hooks, [], `API ${mode}: nobody paged before the incident is written`)
    t.equal(incidents.calls.read ?? 0, 0, 'nothing read to decide a page')
  }
})

// Finding 2: an incident outlives the Events (the API server deletes them after 1 h).
t.test('an incident older than the Events\' TTL does not page again after a change of leader, and is resolved by it', async (t) => {
  const a = rig()
  const start = a.clock.now()
  a.nodes.set(node('w1', start, { ready: 'False' }))
  a.monitor.start()
  await a.run(31_000)
  t.equal(a.hooks.length, 1, 'paged once')
  a.clock.advance(3 * 3600_000) // a long incident: hours pass (the monitor resends meanwhile)
  await a.run(1000)
  await a.monitor.stop()
  a.events.length = 0 // the API server's --event-ttl (1 h) removed the Events

  const b = rig({ clock: a.clock, nodes: a.nodes, events: a.events, incidents: a.incidents })
  b.monitor.start()
  t.teardown(() => b.monitor.stop())
  await b.run(5000)
  t.same(b.hooks, [], 'the new leader does not page again')
  t.equal(b.events.length, 0, 'nor records a second firing Event')
  t.equal(a.incidents.map.size, 1, 'one incident')
  t.equal(flat(b.am)[0]?.startsAt, new Date(start).toISOString(), 'Alertmanager hears the same alert (same startsAt)')
  a.nodes.set(node('w1', a.clock.now()))
  await b.run(1000)
  t.same(b.hooks.map((h) => [h.status, h.alerts[0].startsAt]), [['resolved', new Date(start).toISOString()]], 'and it is resolved by the new leader')
})

// Finding 2: False -> Unknown moves lastTransitionTime; a new leader's startsAt no longer matched.
t.test('Ready False -> Unknown, with a change of leader between: one incident, one page, startsAt kept', async (t) => {
  const a = rig()
  const start = a.clock.now()
  a.nodes.set(node('w1', start, { ready: 'False' }))
  a.monitor.start()
  await a.run(31_000)
  await a.monitor.stop()
  a.clock.advance(60_000)
  a.nodes.set(node('w1', a.clock.now(), { ready: 'Unknown' })) // the kubelet stopped reporting: a new lastTransitionTime
  a.clock.advance(60_000)
  const b = rig({ clock: a.clock, nodes: a.nodes, events: a.events, incidents: a.incidents })
  b.monitor.start()
  t.teardown(() => b.monitor.stop())
  await b.run(40_000)
  t.same([...a.hooks, ...b.hooks].map((h) => h.status), ['firing'], 'one page in all')
  t.equal(a.incidents.map.size, 1, 'one NodeIncident')
  const [inc] = a.incidents.list()
  t.equal(inc.spec.startsAt, new Date(start).toISOString(), 'startsAt unchanged')
  t.equal(inc.status?.observed?.status, 'Unknown', 'the incident follows the condition')
  t.ok(flat(b.am).every((x) => x.startsAt === inc.spec.startsAt), 'Alertmanager gets the same alert')
  t.match(flat(b.am).at(-1)!.annotations.summary, /Unknown/)
})

t.test('the leader writes the incident before paging; what a receiver did not take is delivered by the next leader, same delivery id', async (t) => {
  const a = rig(undefined, { webhookDown: true })
  a.nodes.set(node('w1', a.clock.now(), { ready: 'False' }))
  a.monitor.start()
  await a.run(31_000)
  t.equal(a.hooks.length, 1, 'handed to the webhook (which does not take it)')
  t.ok(a.storedWhenSent[0], 'the incident was stored, paged, before the message went out')
  await a.run(60_000)
  t.equal(a.hooks.length, 2, 'redelivered a minute later')
  t.equal(a.ids[1], a.ids[0], 'with the same delivery id')
  await a.monitor.stop()

  const b = rig({ clock: a.clock, nodes: a.nodes, events: a.events, incidents: a.incidents })
  b.monitor.start()
  t.teardown(() => b.monitor.stop())
  await b.run(1000)
  t.same(b.hooks.map((h) => h.status), ['firing'], 'the new leader delivers the firing message')
  t.equal(b.ids[0], a.ids[0], 'same delivery id across leaders')
  t.equal(b.events.length, 1, 'no second firing Event (the Events are shared with the first leader)')
  await b.run(2000)
  t.match(a.incidents.list()[0].status?.deliveries?.webhook, { firing: { result: 'delivered' } }, 'the delivery is recorded in the incident')
  await b.run(120_000)
  t.equal(b.hooks.length, 1, 'and not sent again')
})

t.test('resolved incidents are deleted after their TTL (7 days); open ones stay', async (t) => {
  const r = rig()
  r.nodes.set(node('w1', r.clock.now(), { ready: 'False' }))
  r.nodes.set(node('w2', r.clock.now(), { memoryPressure: true }))
  r.monitor.start()
  t.teardown(() => r.monitor.stop())
  await r.run(31_000)
  r.nodes.set(node('w1', r.clock.now()))
  await r.run(1000)
  t.equal(r.incidents.map.size, 2)
  r.clock.advance(7 * 86_400_000 - 5000)
  await r.run(1000)
  t.equal(r.incidents.map.size, 2, 'kept before its TTL')
  await r.run(5000)
  t.same(r.incidents.list().map((o) => o.spec.node), ['w2'], 'the resolved one deleted after 7 days, the open one kept')
})

t.test('a new leader resolves what a previous leader paged and what ended while nobody led', async (t) => {
  const a = rig()
  const start = a.clock.now()
  a.nodes.set(node('recovers', start, { ready: 'False' }))
  a.nodes.set(node('vanishes', start, { memoryPressure: true }))
  a.nodes.set(node('stays', start, { ready: 'Unknown' }))
  a.nodes.set(node('was-resolved', start, { ready: 'False' }))
  a.monitor.start()
  await a.run(31_000)
  a.nodes.set(node('was-resolved', a.clock.now()))
  await a.run(1000)
  t.same(a.hooks.map((h) => `${h.status}/${h.alerts[0].labels.node}`).sort(), ['firing/recovers', 'firing/stays', 'firing/vanishes', 'firing/was-resolved', 'resolved/was-resolved'])
  await a.monitor.stop()

  // Nobody leads: one node recovers, one is deleted.
  a.clock.advance(10_000)
  const recoveredAt = a.clock.now()
  a.nodes.set(node('recovers', recoveredAt))
  a.nodes.delete('vanishes')
  a.clock.advance(10_000)

  let synced = false
  const b = rig({ clock: a.clock, nodes: a.nodes, events: a.events, incidents: a.incidents })
  b.nodes.synced = () => synced
  b.monitor.start()
  t.teardown(() => b.monitor.stop())
  await b.run(2000)
  t.same(b.hooks, [], 'nothing before the node list is complete (an unlisted node is not a deleted one)')
  synced = true
  a.nodes.set(node('stays', start, { ready: 'Unknown' })) // any change wakes the monitor
  await b.run(2000)
  t.same(b.hooks.map((h) => `${h.status}/${h.alerts[0].labels.node}`).sort(), ['resolved/recovers', 'resolved/vanishes'], 'the two that ended while nobody led are resolved; the others are not paged again')
  const rec = b.hooks.find((h) => h.alerts[0].labels.node === 'recovers')!.alerts[0]
  t.equal(rec.startsAt, new Date(start).toISOString(), 'with the startsAt it was paged with')
  t.equal(rec.endsAt, new Date(recoveredAt).toISOString(), 'ended when the condition turned back (its lastTransitionTime)')
  t.same(rec.labels, { alertname: 'StreamSpaceNodeNotReady', node: 'recovers', condition: 'Ready', severity: 'critical', service: 'streamspace-node-manager' })
  t.equal(b.hooks.find((h) => h.alerts[0].labels.node === 'vanishes')!.alerts[0].labels.severity, 'warning')
  t.ok(flat(b.am).some((x) => x.labels.node === 'recovers' && x.endsAt === rec.endsAt), 'Alertmanager hears the resolve too')
  t.ok(flat(b.am).some((x) => x.labels.node === 'stays' && Date.parse(x.endsAt) > b.clock.now()), 'the open incident is still sent as firing')

  // A third leader finds every marker consistent: nothing to do.
  await b.monitor.stop()
  const c = rig({ clock: a.clock, nodes: a.nodes, events: a.events, incidents: a.incidents })
  c.monitor.start()
  t.teardown(() => c.monitor.stop())
  await c.run(2000)
  t.same(c.hooks, [], 'no resolve sent twice')
})

t.test('a condition that ended and came back while nobody led is a new incident for the new leader', async (t) => {
  const a = rig()
  const first = a.clock.now()
  a.nodes.set(node('w1', first, { ready: 'False' }))
  a.monitor.start()
  await a.run(31_000)
  await a.monitor.stop()
  a.clock.advance(5000)
  const again = a.clock.now()
  a.nodes.set(node('w1', again, { ready: 'False' })) // a new lastTransitionTime: it recovered and failed again
  a.clock.advance(40_000)
  const b = rig({ clock: a.clock, nodes: a.nodes, events: a.events, incidents: a.incidents })
  b.monitor.start()
  t.teardown(() => b.monitor.stop())
  await b.run(1000)
  // Changed on purpose: the first incident is resolved (its receivers hear that it ended), then the new one pages.
  t.same(b.hooks.map((h) => [h.status, h.alerts[0].startsAt]), [['resolved', new Date(first).toISOString()], ['firing', new Date(again).toISOString()]], 'the old one resolved, the new one paged with its own startsAt')
  t.equal(b.hooks[0].alerts[0].endsAt, new Date(again).toISOString(), 'the old one ended at the latest when the new one began')
})

// Found by the chaos check (docs/reliability.md, invariant 4): a leader paged an incident and died
// before Alertmanager took it; the node recovered; the next leader sent Alertmanager only the
// resolved alert, so Alertmanager never had it firing. Like the webhook, Alertmanager now gets the
// firing alert first, then the resolved one.
t.test('an incident Alertmanager never took firing is sent to it firing, then resolved, by the next leader', async (t) => {
  const a = rig(undefined, { amDown: true })
  a.nodes.set(node('w1', a.clock.now(), { ready: 'False' }))
  a.monitor.start()
  await a.run(31_000)
  t.same(a.hooks.map((h) => h.status), ['firing'], 'paged: the webhook took it')
  t.ok(flat(a.am).length > 0, 'handed to Alertmanager, which never answered')
  await a.monitor.stop()
  a.nodes.set(node('w1', a.clock.now()))
  a.clock.advance(5_000)

  const b = rig({ clock: a.clock, nodes: a.nodes, events: a.events, incidents: a.incidents })
  b.monitor.start()
  t.teardown(() => b.monitor.stop())
  await b.run(3000)
  const kinds = flat(b.am).filter((x) => x.labels.node === 'w1').map((x) => (Date.parse(x.endsAt) > b.clock.now() ? 'firing' : 'resolved'))
  t.same(kinds.slice(0, 2), ['firing', 'resolved'], 'Alertmanager gets it firing, then resolved')
  t.match(a.incidents.list()[0].status?.deliveries?.['alertmanager 0'], { firing: { result: 'delivered' }, resolved: { result: 'delivered' } }, 'both recorded in the incident')
})
