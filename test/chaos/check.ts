// The chaos checker: a recorded history in, the violated promises out, each naming its events.
// Pure: no I/O, no clock. The invariants are those of issue 29 (docs/reliability.md):
//   1 no session pod evicted or deleted by a plan with policy wait, none before the plan's deadline
//   2 no pod evicted twice, no node drained by two runners at once, at most 3 drains running at once
//   3 every plan and drain final; each node as its last plan's or drain's status says
//   4 every incident delivered (webhook and Alertmanager) firing and resolved, one id each, none paged twice
//   5 every acknowledged label/taint write is there at the end or was superseded by a later write
//   6 a write's 5xx only while the cluster's API failed (502/503 naming it) or no replica led (503); no 5xx on a read
import type { ApiCall, AuditEntry, History, Intent, ObjectVersion, Violation } from './history.js'

const FINAL_PLAN = ['succeeded', 'failed', 'cancelled', 'completed']
const FINAL_DRAIN = ['succeeded', 'refused', 'timed_out', 'failed', 'interrupted']
/** Drains the leader runs at once (src/drain/controller.ts maxConcurrent). */
export const MAX_RUNNING_DRAINS = 3
/** A Lease outlives its holder this long: a write may see 503 until a new leader has it. */
const LEASE_MS = 15_000
/** What test/helpers/proxy.ts answers (502) when no replica answered a request. */
export const PROXY_NO_UPSTREAM = 'no upstream answered'

const iso = (ms: number) => new Date(ms).toISOString()
const ok = (status: number) => status >= 200 && status < 300
const isSession = (e: AuditEntry) => e.pod?.labels.app === 'streamspace-session'
const describe = (e: AuditEntry) => `${e.verb} ${e.resource} ${e.namespace ? `${e.namespace}/` : ''}${e.name} by ${e.host} at ${iso(e.start)} (${e.status})`
const describeCall = (c: ApiCall) => `${c.method} ${c.path} at ${iso(c.start)} -> ${c.status}${c.message ? ` "${c.message.slice(0, 120)}"` : ''}`

/** The versions of each object, in order, by kind and name. */
function versions(objects: ObjectVersion[], kind: ObjectVersion['kind']): Map<string, ObjectVersion[]> {
  const by = new Map<string, ObjectVersion[]>()
  for (const o of objects) {
    if (o.kind !== kind) continue
    const list = by.get(o.name) ?? []
    list.push(o)
    by.set(o.name, list)
  }
  return by
}

/** The object as it was at `at` (undefined: none then). */
function asOf(list: ObjectVersion[] | undefined, at: number): ObjectVersion | undefined {
  let found: ObjectVersion | undefined
  for (const o of list ?? []) if (o.at <= at) found = o
  return found && !found.deleted ? found : undefined
}

/** Pod removals the service's replicas made (evictions and deletions answered 2xx). */
function removals(h: History): AuditEntry[] {
  const replicaHosts = new Set(h.replicas.map((r) => r.host))
  return h.audit.filter((e) => replicaHosts.has(e.host) && ok(e.status) && e.pod && (e.resource === 'pods/eviction' || (e.resource === 'pods' && e.verb === 'delete')))
}

function sessionsKept(h: History, out: Violation[]): void {
  const drains = versions(h.objects, 'NodeDrain')
  const plans = versions(h.objects, 'NodeMaintenance')
  for (const e of removals(h)) {
    if (!isSession(e) || e.pod!.terminating || !e.pod!.node) continue
    const drain = asOf(drains.get(e.pod!.node), e.at)
    const planId = /\(maintenance ([^)]+)\)/.exec(String(drain?.spec.requestedBy ?? ''))?.[1]
    if (!drain) {
      out.push({ invariant: 1, message: `session pod removed with no NodeDrain on its node ${e.pod!.node}: ${describe(e)}` })
      continue
    }
    if (!planId) continue // a plain drain asked for by an operator: it takes sessions as kubectl drain does
    const plan = asOf(plans.get(planId), e.at) ?? plans.get(planId)?.at(-1)
    const policy = plan?.spec.sessionPolicy ?? 'wait'
    const deadline = plan?.spec.sessionDeadline ? Date.parse(plan.spec.sessionDeadline) : undefined
    if (policy === 'wait') out.push({ invariant: 1, message: `session pod removed by plan ${planId} whose policy is wait: ${describe(e)}` })
    else if (deadline === undefined || e.start < deadline) {
      out.push({ invariant: 1, message: `session pod removed by plan ${planId} (policy ${policy}) before its deadline ${deadline === undefined ? 'none' : iso(deadline)}: ${describe(e)}` })
    }
  }
}

function drainsExclusive(h: History, out: Violation[]): void {
  const byUid = new Map<string, AuditEntry[]>()
  const byNode = new Map<string, AuditEntry[]>()
  for (const e of removals(h)) {
    if (e.pod!.terminating) continue
    byUid.set(e.pod!.uid, [...(byUid.get(e.pod!.uid) ?? []), e])
    if (e.pod!.node) byNode.set(e.pod!.node, [...(byNode.get(e.pod!.node) ?? []), e])
  }
  for (const list of byUid.values()) {
    if (list.length > 1) out.push({ invariant: 2, message: `pod evicted twice (uid ${list[0]!.pod!.uid}): ${list.map(describe).join('; ')}` })
  }
  // Two runners on one node at once: replica A evicts there, then B, then A again.
  for (const [node, list] of byNode) {
    const runs: AuditEntry[] = []
    for (const e of [...list].sort((a, b) => a.start - b.start)) if (runs.at(-1)?.host !== e.host) runs.push(e)
    const seen = new Map<string, AuditEntry>()
    for (const [i, e] of runs.entries()) {
      const earlier = seen.get(e.host)
      if (earlier) {
        out.push({ invariant: 2, message: `node ${node} drained by two runners at once: ${describe(earlier)}, then ${describe(runs[i - 1]!)}, then ${describe(e)}` })
        break
      }
      seen.set(e.host, e)
    }
  }
  // Drains running at any instant, from the NodeDrain objects' phases.
  const running = new Set<string>()
  let reported = false
  for (const o of [...h.objects].sort((a, b) => a.at - b.at)) {
    if (o.kind !== 'NodeDrain') continue
    if (!o.deleted && o.status.phase === 'running') running.add(o.name)
    else running.delete(o.name)
    if (running.size > MAX_RUNNING_DRAINS && !reported) {
      out.push({ invariant: 2, message: `${running.size} drains running at ${iso(o.at)} (at most ${MAX_RUNNING_DRAINS}): ${[...running].sort().join(', ')}` })
      reported = true
    }
  }
}

/** The nodes a write touches (cordon state), for "no later write changed it". */
function nodesOf(intent: Intent | undefined): string[] {
  if (!intent) return []
  if ('nodes' in intent) return intent.nodes
  return intent.op === 'cordon' || intent.op === 'uncordon' || intent.op === 'drain' ? [intent.node] : []
}

function finalStates(h: History, out: Violation[]): void {
  const nodes = new Map(h.final.map((n) => [n.name, n]))
  const last = <T>(list: T[]) => list.at(-1)!
  /** Per node: its last plan or drain (by creation), unless a later write may have changed its cordon. */
  const owner = new Map<string, { at: number; what: string; expect: 'cordoned' | 'drained' | 'uncordoned' }>()
  const claim = (node: string, at: number, what: string, expect: 'cordoned' | 'drained' | 'uncordoned' | undefined) => {
    const prev = owner.get(node)
    if (prev && prev.at > at) return
    if (expect) owner.set(node, { at, what, expect })
    else owner.delete(node)
  }
  for (const [name, list] of versions(h.objects, 'NodeMaintenance')) {
    const o = last(list)
    if (o.deleted) continue
    const state = String(o.status.state ?? '')
    if (!FINAL_PLAN.includes(state)) out.push({ invariant: 3, message: `plan ${name} ended ${state || 'without a status'}: ${o.status.message ?? ''}` })
    const created = list[0]!.at
    for (const n of (o.status.nodes ?? []) as { name: string; state: string; message: string; cordoned_by_plan?: boolean }[]) {
      const expect = state === 'completed' ? (n.cordoned_by_plan ? 'uncordoned' : undefined)
        : n.state === 'drained' ? 'drained'
        : n.state === 'failed' || (n.state === 'cancelled' && /left cordoned|drain interrupted/.test(n.message)) ? 'cordoned'
        : undefined
      claim(n.name, created, `plan ${name} (${state}, node ${n.state}: ${n.message})`, expect)
    }
  }
  for (const [name, list] of versions(h.objects, 'NodeDrain')) {
    const o = last(list)
    if (o.deleted) continue
    const phase = String(o.status.phase ?? '')
    if (!FINAL_DRAIN.includes(phase)) out.push({ invariant: 3, message: `drain of ${name} ended ${phase || 'queued (no status)'}: ${o.status.message ?? ''}` })
    // A drain cordons first; one that timed out or was interrupted leaves the node cordoned.
    const expect = phase === 'succeeded' ? 'drained' : phase === 'timed_out' || phase === 'interrupted' ? 'cordoned' : undefined
    claim(name, list[0]!.at, `drain of ${name} (${phase})`, expect)
  }
  for (const [node, o] of owner) {
    // A write that ended after the object was created (unless refused, or the one that may have
    // created it) may have changed the node: then its status says nothing of the node's end.
    const creating = (c: ApiCall) => c.start <= o.at && (c.intent?.op === 'plan' || c.intent?.op === 'drain')
    const later = h.calls.some((c) => c.end > o.at && !(c.status >= 400 && c.status < 500) && !creating(c) && nodesOf(c.intent).includes(node))
    if (later) continue
    const n = nodes.get(node)
    if (!n) continue
    const left = n.pods.filter((p) => !p.daemonSet && !p.mirror)
    if (o.expect === 'uncordoned' && n.unschedulable) out.push({ invariant: 3, message: `node ${node} is cordoned, but ${o.what} says it was uncordoned` })
    if (o.expect !== 'uncordoned' && !n.unschedulable) out.push({ invariant: 3, message: `node ${node} is not cordoned, but ${o.what} left it cordoned` })
    if (o.expect === 'drained' && left.length) out.push({ invariant: 3, message: `node ${node} still runs ${left.map((p) => `${p.namespace}/${p.name}`).join(', ')}, but ${o.what} says it is drained` })
  }
}

function incidentsDelivered(h: History, out: Violation[]): void {
  const incidents = versions(h.objects, 'NodeIncident')
  const delivered = h.webhook.filter((w) => ok(w.answered))
  const key = (labels: Record<string, string>) => `${labels.alertname}/${labels.node}/${labels.condition}`
  const intervals: { name: string; key: string; from: number; to: number }[] = []
  for (const [name, list] of incidents) {
    // Paged: written first, then sent (the outbox); one found ended before it was paged pages nobody.
    if (!list.some((o) => o.status.paged === true || o.status.state === 'firing')) continue
    const spec = list.find((o) => o.spec.alertname)?.spec ?? {}
    const labels: Record<string, string> = { alertname: spec.alertname, node: spec.node, condition: spec.condition }
    const lastSeen = list.filter((o) => !o.deleted).at(-1)!
    const endsAt = Date.parse(lastSeen.status.endsAt ?? '')
    intervals.push({ name, key: key(labels), from: Date.parse(spec.startsAt), to: Number.isNaN(endsAt) ? h.endedAt : endsAt })
    const matches = (a: { labels: Record<string, string> }) => key(a.labels) === key(labels)
    const amFiring = h.alertmanager.some((p) => ok(p.answered) && p.alerts.some((a) => matches(a) && Date.parse(a.startsAt) === Date.parse(spec.startsAt) && Date.parse(a.endsAt) > p.at + 60_000))
    const amResolved = h.alertmanager.some((p) => ok(p.answered) && p.alerts.some((a) => matches(a) && Date.parse(a.endsAt) <= p.at + 60_000 && Date.parse(a.endsAt) >= Date.parse(spec.startsAt)))
    if (!delivered.some((w) => w.id === `${name}/firing`)) out.push({ invariant: 4, message: `incident ${name} (${key(labels)}) fired but no webhook delivery ${name}/firing was received` })
    if (!amFiring) out.push({ invariant: 4, message: `incident ${name} (${key(labels)}) fired but Alertmanager never got it firing` })
    if (lastSeen.status.state !== 'resolved') {
      out.push({ invariant: 4, message: `incident ${name} (${key(labels)}) still ${lastSeen.status.state} at the end` })
      continue
    }
    if (!delivered.some((w) => w.id === `${name}/resolved`)) out.push({ invariant: 4, message: `incident ${name} (${key(labels)}) resolved but no webhook delivery ${name}/resolved was received` })
    if (!amResolved) out.push({ invariant: 4, message: `incident ${name} (${key(labels)}) resolved but Alertmanager never got it resolved` })
  }
  // Every message is an incident's, under that incident's id, saying what the id says.
  for (const w of delivered) {
    const [name, kind] = [w.id.slice(0, w.id.lastIndexOf('/')), w.id.slice(w.id.lastIndexOf('/') + 1)]
    const it = intervals.find((i) => i.name === name)
    if (!it) out.push({ invariant: 4, message: `webhook delivery ${w.id} at ${iso(w.at)} names no incident that fired` })
    else if (kind !== w.status || it.key !== key(w.labels)) out.push({ invariant: 4, message: `webhook delivery ${w.id} at ${iso(w.at)} is ${w.status} ${key(w.labels)}, not ${kind} ${it.key}` })
  }
  // No problem paged twice under different ids: two incidents of one alert overlapping in time.
  for (const [i, a] of intervals.entries()) {
    for (const b of intervals.slice(i + 1)) {
      if (a.key === b.key && a.from < b.to && b.from < a.to) out.push({ invariant: 4, message: `${a.key} paged twice: incidents ${a.name} and ${b.name} overlap (${iso(Math.max(a.from, b.from))})` })
    }
  }
}

type Target = { node: string; key: string; effect?: string }
/** What a write leaves on its target (undefined: absent), or null when it is not a label/taint write. */
function effectOf(i: Intent | undefined): { target: Target; value: string | undefined } | null {
  if (!i) return null
  if (i.op === 'label') return { target: { node: i.node, key: i.key }, value: i.value }
  if (i.op === 'unlabel') return { target: { node: i.node, key: i.key }, value: undefined }
  if (i.op === 'taint') return { target: { node: i.node, key: i.key, effect: i.effect }, value: i.value }
  if (i.op === 'untaint') return { target: { node: i.node, key: i.key, effect: i.effect }, value: undefined }
  return null
}

function writesKept(h: History, out: Violation[]): void {
  const nodes = new Map(h.final.map((n) => [n.name, n]))
  const now = (t: Target): string | undefined => {
    const n = nodes.get(t.node)
    if (t.effect === undefined) return n?.labels[t.key]
    return n?.taints.find((x) => x.key === t.key && x.effect === t.effect)?.value ?? (n?.taints.some((x) => x.key === t.key && x.effect === t.effect) ? '' : undefined)
  }
  const same = (a: Target, b: Target) => a.node === b.node && a.key === b.key && a.effect === b.effect
  const writes = h.calls.map((c) => ({ c, e: effectOf(c.intent) })).filter((w) => w.e !== null)
  for (const { c, e } of writes) {
    if (!ok(c.status)) continue
    const final = now(e!.target)
    if (final === e!.value) continue
    // Superseded: another write to the same target, not refused, that ended after this one began, left what is there.
    const by = writes.find((w) => w.c !== c && same(w.e!.target, e!.target) && w.c.end >= c.start && !(w.c.status >= 400 && w.c.status < 500) && w.e!.value === final)
    if (!by) out.push({ invariant: 5, message: `acknowledged write lost: ${describeCall(c)} left ${JSON.stringify(e!.value ?? null)}, the node has ${JSON.stringify(final ?? null)}` })
  }
}

function errorsExplained(h: History, out: Violation[]): void {
  const failures = h.audit.filter((e) => e.status >= 500).map((e) => e.at)
  const changes = h.replicas.filter((r) => r.event === 'signal' || r.event === 'exited').map((r) => r.at)
  for (const c of h.calls) {
    if (c.status < 500) continue
    // The proxy's own 502: the replica that had the request went away under it, as a cut connection.
    if (c.status === 502 && c.message === PROXY_NO_UPSTREAM && changes.some((at) => at >= c.start && at <= c.end)) continue
    if (c.method === 'GET') {
      out.push({ invariant: 6, message: `a read answered ${c.status}: ${describeCall(c)}` })
      continue
    }
    // The service names a failure of the cluster's API 502 or 503 (DESIGN: Kubernetes failures say what was refused).
    const apiFailed = failures.some((at) => at >= c.start && at <= c.end)
    const leaderless = changes.some((at) => at >= c.start - LEASE_MS && at <= c.end)
    if ((c.status === 502 && apiFailed && /Kubernetes API/.test(c.message ?? '')) || (c.status === 503 && (apiFailed || leaderless))) continue
    out.push({ invariant: 6, message: `a write answered ${c.status} while ${leaderless ? 'a replica had just stopped' : 'a replica led'} and ${apiFailed ? 'the cluster\'s API failed' : 'the cluster\'s API answered'}: ${describeCall(c)}` })
  }
}

export function check(h: History): Violation[] {
  const out: Violation[] = []
  sessionsKept(h, out)
  drainsExclusive(h, out)
  finalStates(h, out)
  incidentsDelivered(h, out)
  writesKept(h, out)
  errorsExplained(h, out)
  return out
}
