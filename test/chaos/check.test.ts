// The chaos checker can fail: a small clean history passes, and each invariant (1-6) broken on
// purpose in a copy of it is caught and named.
import t from 'tap'
import { check } from './check.js'
import type { AuditEntry, History, ObjectVersion } from './history.js'

const T = Date.parse('2026-12-06T00:00:00Z')
const at = (s: number) => T + s * 1000
const isoAt = (s: number) => new Date(at(s)).toISOString()

const sessionPod = (uid: string, node: string): NonNullable<AuditEntry['pod']> => ({ uid, node, labels: { app: 'streamspace-session', user: 'alice' }, terminating: false })
const evict = (s: number, host: string, name: string, pod = sessionPod(`uid-${name}`, 'n1')): AuditEntry => ({
  at: at(s) + 5, start: at(s), method: 'POST', verb: 'create', resource: 'pods/eviction', namespace: 'streamspace', name, host, userAgent: 'node', status: 201, pod,
})
const obj = (s: number, kind: ObjectVersion['kind'], name: string, spec: Record<string, unknown>, status: Record<string, unknown>): ObjectVersion => ({
  at: at(s), kind, name, uid: `uid-${kind}-${name}`, deleted: false, spec, status,
})

/** One plan (evict at its deadline) draining n1, a label write on n2, one incident delivered, a 503 during a fault. */
function clean(): History {
  const labels = { alertname: 'StreamSpaceNodeNotReady', node: 'n3', condition: 'Ready' }
  return {
    seed: 1, startedAt: at(0), quietAt: at(100), endedAt: at(120),
    replicas: [
      { at: at(0), replica: 'r1', host: 'h1', event: 'started' },
      { at: at(0), replica: 'r2', host: 'h2', event: 'started' },
    ],
    calls: [
      { start: at(1), end: at(2), method: 'POST', path: '/maintenance', status: 201, intent: { op: 'plan', nodes: ['n1'], id: 'p1' } },
      { start: at(3), end: at(4), method: 'PUT', path: '/nodes/n2/labels', status: 200, intent: { op: 'label', node: 'n2', key: 'k', value: 'v1' } },
      { start: at(5), end: at(6), method: 'PUT', path: '/nodes/n2/labels', status: 503, intent: { op: 'label', node: 'n2', key: 'k', value: 'v2' } },
      { start: at(7), end: at(8), method: 'GET', path: '/nodes', status: 200 },
    ],
    audit: [
      { at: at(5.5), start: at(5.5), method: 'PATCH', verb: 'patch', resource: 'nodes', name: 'n2', host: 'h1', userAgent: 'node', status: 503 },
      evict(20, 'h1', 'desk-1'),
      evict(21, 'h1', 'web-1', { uid: 'uid-web-1', node: 'n1', labels: { app: 'web' }, terminating: false }),
    ],
    objects: [
      obj(1.5, 'NodeMaintenance', 'p1', { nodes: ['n1'], sessionPolicy: 'evict', sessionDeadline: isoAt(10) }, { state: 'running' }),
      obj(15, 'NodeDrain', 'n1', { requestedBy: 'ops (maintenance p1)' }, {}),
      obj(16, 'NodeDrain', 'n1', { requestedBy: 'ops (maintenance p1)' }, { phase: 'running' }),
      obj(30, 'NodeDrain', 'n1', { requestedBy: 'ops (maintenance p1)' }, { phase: 'succeeded' }),
      obj(31, 'NodeMaintenance', 'p1', { nodes: ['n1'], sessionPolicy: 'evict', sessionDeadline: isoAt(10) }, { state: 'succeeded', nodes: [{ name: 'n1', state: 'drained', message: 'drained', cordoned_by_plan: true }] }),
      obj(40, 'NodeIncident', 'n3-ready-1', { ...labels, startsAt: isoAt(40) }, { state: 'firing' }),
      obj(60, 'NodeIncident', 'n3-ready-1', { ...labels, startsAt: isoAt(40) }, { state: 'resolved', endsAt: isoAt(60) }),
    ],
    webhook: [
      { at: at(41), id: 'n3-ready-1/firing', answered: 500, status: 'firing', labels },
      { at: at(42), id: 'n3-ready-1/firing', answered: 200, status: 'firing', labels },
      { at: at(61), id: 'n3-ready-1/resolved', answered: 200, status: 'resolved', labels },
    ],
    alertmanager: [
      { at: at(41), answered: 200, alerts: [{ labels: { ...labels, severity: 'critical' }, startsAt: isoAt(40), endsAt: isoAt(41 + 240) }] },
      { at: at(61), answered: 200, alerts: [{ labels: { ...labels, severity: 'critical' }, startsAt: isoAt(40), endsAt: isoAt(60) }] },
    ],
    final: [
      { name: 'n1', labels: {}, taints: [], unschedulable: true, pods: [{ namespace: 'kube-system', name: 'kube-proxy-n1', daemonSet: true, mirror: false, terminating: false }] },
      { name: 'n2', labels: { k: 'v1' }, taints: [], unschedulable: false, pods: [] },
      { name: 'n3', labels: {}, taints: [], unschedulable: false, pods: [] },
    ],
  }
}

/** The violations of a copy of the clean history changed by `change`, as "invariant: message". */
function broken(change: (h: History) => void): string[] {
  const h = structuredClone(clean())
  change(h)
  return check(h).map((v) => `${v.invariant}: ${v.message}`)
}

t.same(check(clean()), [], 'the clean history has no violation')

t.test('1: sessions', async (t) => {
  const wait = broken((h) => { for (const o of h.objects) if (o.kind === 'NodeMaintenance') o.spec.sessionPolicy = 'wait' })
  t.match(wait, [/^1: session pod removed by plan p1 whose policy is wait: create pods\/eviction streamspace\/desk-1 by h1/])
  const early = broken((h) => { for (const o of h.objects) if (o.kind === 'NodeMaintenance') o.spec.sessionDeadline = isoAt(25) })
  t.match(early, [/^1: session pod removed by plan p1 \(policy evict\) before its deadline .*desk-1/])
  const noDrain = broken((h) => { h.objects = h.objects.filter((o) => o.kind !== 'NodeDrain'); h.final[0]!.unschedulable = true })
  t.match(noDrain, [/^1: session pod removed with no NodeDrain on its node n1/])
})

t.test('2: evictions and drains', async (t) => {
  const twice = broken((h) => { h.audit.push(evict(22, 'h2', 'desk-1')) })
  t.match(twice, [/^2: pod evicted twice \(uid uid-desk-1\): create pods\/eviction streamspace\/desk-1 by h1 .*; create pods\/eviction streamspace\/desk-1 by h2/])
  const interleaved = broken((h) => {
    h.audit.push(evict(22, 'h2', 'a', sessionPod('u-a', 'n1')), evict(23, 'h1', 'b', sessionPod('u-b', 'n1')))
    for (const o of h.objects) if (o.kind === 'NodeMaintenance') o.spec.sessionPolicy = 'hibernate'
  })
  t.match(interleaved, [/^2: node n1 drained by two runners at once: .* by h1 .* then .* by h2 .* then .* by h1/])
  const four = broken((h) => {
    for (const n of ['a', 'b', 'c', 'd']) h.objects.push(obj(50, 'NodeDrain', n, {}, { phase: 'running' }), obj(55, 'NodeDrain', n, {}, { phase: 'failed' }))
  })
  t.match(four, [/^2: 4 drains running at .* \(at most 3\): a, b, c, d/])
})

t.test('3: final states', async (t) => {
  const running = broken((h) => { h.objects.push(obj(32, 'NodeMaintenance', 'p2', { nodes: ['n3'] }, { state: 'running' })) })
  t.match(running, [/^3: plan p2 ended running/])
  const queued = broken((h) => { h.objects.push(obj(32, 'NodeDrain', 'n3', {}, {})) })
  t.match(queued, [/^3: drain of n3 ended queued/])
  const uncordoned = broken((h) => { h.final[0]!.unschedulable = false })
  t.match(uncordoned, [/^3: node n1 is not cordoned, but drain of n1 \(succeeded\) left it cordoned/])
  const notEmpty = broken((h) => { h.final[0]!.pods.push({ namespace: 'apps', name: 'web-2', daemonSet: false, mirror: false, terminating: false }) })
  t.match(notEmpty, [/^3: node n1 still runs apps\/web-2, but drain of n1 \(succeeded\) says it is drained/])
  const uncordonedLater = broken((h) => {
    h.final[0]!.unschedulable = false
    h.calls.push({ start: at(50), end: at(51), method: 'POST', path: '/nodes/n1/uncordon', status: 200, intent: { op: 'uncordon', node: 'n1' } })
  })
  t.same(uncordonedLater, [], 'a later acknowledged uncordon explains it')
})

t.test('4: incidents', async (t) => {
  const noResolved = broken((h) => { h.webhook.pop() })
  t.match(noResolved, [/^4: incident n3-ready-1 .* resolved but no webhook delivery n3-ready-1\/resolved was received/])
  const onlyFailed = broken((h) => { h.webhook.splice(1, 1) })
  t.match(onlyFailed, [/^4: incident n3-ready-1 .* fired but no webhook delivery n3-ready-1\/firing/])
  const amMissing = broken((h) => { h.alertmanager.shift() })
  t.match(amMissing, [/^4: incident n3-ready-1 .* fired but Alertmanager never got it firing/])
  const twice = broken((h) => {
    const labels = { alertname: 'StreamSpaceNodeNotReady', node: 'n3', condition: 'Ready' }
    h.objects.push(obj(45, 'NodeIncident', 'n3-ready-2', { ...labels, startsAt: isoAt(45) }, { state: 'firing' }))
    h.objects.push(obj(60, 'NodeIncident', 'n3-ready-2', { ...labels, startsAt: isoAt(45) }, { state: 'resolved', endsAt: isoAt(60) }))
    h.webhook.push({ at: at(46), id: 'n3-ready-2/firing', answered: 200, status: 'firing', labels }, { at: at(61), id: 'n3-ready-2/resolved', answered: 200, status: 'resolved', labels })
    h.alertmanager.push({ at: at(46), answered: 200, alerts: [{ labels, startsAt: isoAt(45), endsAt: isoAt(300) }] })
  })
  t.match(twice, [/^4: StreamSpaceNodeNotReady\/n3\/Ready paged twice: incidents n3-ready-1 and n3-ready-2 overlap/])
  const stray = broken((h) => { h.webhook.push({ at: at(70), id: 'nobody/firing', answered: 200, status: 'firing', labels: {} }) })
  t.match(stray, [/^4: webhook delivery nobody\/firing .* names no incident that fired/])
  const neverPaged = broken((h) => {
    h.objects.push(obj(70, 'NodeIncident', 'n2-ready-1', { node: 'n2', alertname: 'StreamSpaceNodeNotReady', condition: 'Ready', startsAt: isoAt(65) }, {}))
    h.objects.push(obj(71, 'NodeIncident', 'n2-ready-1', { node: 'n2', alertname: 'StreamSpaceNodeNotReady', condition: 'Ready', startsAt: isoAt(65) }, { state: 'resolved', endsAt: isoAt(66), paged: false }))
  })
  t.same(neverPaged, [], 'an incident found ended before it paged is owed to nobody')
  const unresolved = broken((h) => { h.objects.pop() })
  t.match(unresolved, [/^4: incident n3-ready-1 .* still firing at the end/])
})

t.test('5: acknowledged writes', async (t) => {
  const lost = broken((h) => { h.final[1]!.labels = {} })
  t.match(lost, [/^5: acknowledged write lost: PUT \/nodes\/n2\/labels .* left "v1", the node has null/])
  // The 503'd write may have applied after the acknowledged one: v2 at the end is explained.
  t.same(broken((h) => { h.final[1]!.labels = { k: 'v2' } }), [], 'superseded by a later write whose outcome was unknown')
  const taint = broken((h) => {
    h.calls.push({ start: at(9), end: at(10), method: 'POST', path: '/nodes/n2/taints', status: 200, intent: { op: 'taint', node: 'n2', key: 't', value: 'x', effect: 'NoSchedule' } })
  })
  t.match(taint, [/^5: acknowledged write lost: POST \/nodes\/n2\/taints/])
})

t.test('6: server errors', async (t) => {
  const e500 = broken((h) => { h.calls.push({ start: at(9), end: at(10), method: 'POST', path: '/nodes/n2/cordon', status: 500, intent: { op: 'cordon', node: 'n2' } }) })
  t.match(e500, [/^6: a write answered 500 while a replica led and the cluster's API answered: POST \/nodes\/n2\/cordon/])
  const read = broken((h) => { h.calls.push({ start: at(9), end: at(10), method: 'GET', path: '/nodes', status: 503 }) })
  t.match(read, [/^6: a read answered 503: GET \/nodes/])
  const unexplained = broken((h) => { h.audit.shift() })
  t.match(unexplained, [/^6: a write answered 503 while a replica led and the cluster's API answered: PUT \/nodes\/n2\/labels/])
  const leaderGone = broken((h) => { h.audit.shift(); h.replicas.push({ at: at(0), replica: 'r1', host: 'h1', event: 'signal', signal: 'SIGKILL' }) })
  t.same(leaderGone, [], 'a replica stopped within a Lease before: explained')
  const cut = { start: at(20), end: at(21), method: 'PUT', path: '/nodes/n2/labels', status: 502, message: 'no upstream answered', intent: { op: 'label', node: 'n2', key: 'k', value: 'v4' } } as const
  t.same(broken((h) => { h.calls.push(cut); h.replicas.push({ at: at(20.5), replica: 'r2', host: 'h2', event: 'signal', signal: 'SIGKILL' }) }), [],
    'the proxy\'s 502 while the replica that had it died: a cut connection')
  t.match(broken((h) => { h.calls.push(cut) }), [/^6: a write answered 502 .* "no upstream answered"/], 'the proxy\'s 502 with every replica up')
  const bad = { start: at(5), end: at(6), method: 'PUT', path: '/nodes/n2/labels', status: 502, intent: { op: 'label', node: 'n2', key: 'k', value: 'v3' } } as const
  t.same(broken((h) => { h.calls.push({ ...bad, message: 'Kubernetes API failed to patch nodes/n2 (HTTP 503)' }) }), [], 'a 502 naming the API while it failed: explained')
  t.match(broken((h) => { h.calls.push({ ...bad, start: at(7), end: at(8), message: 'Kubernetes API failed to patch nodes/n2 (HTTP 503)' }) }),
    [/^6: a write answered 502 while a replica led and the cluster's API answered/], 'a 502 while the API answered')
})
