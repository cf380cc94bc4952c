// The health monitor: turns node problems into incidents and incidents into alerts. One incident is
// one node with one problem (a condition, or a cordon that lasted too long), from start to end.
// Fed by node changes (immediate) and a full check every interval; a problem pages only once it
// has lasted the grace period, so one late heartbeat pages nobody. Runs only on the leader.
// An incident that pages is first written as a NodeIncident object (the outbox), then sent; each
// receiver's delivery of its firing and its resolved message is recorded in that object after a
// 2xx, so a new leader (or a restarted service) delivers what is still missing and pages nothing
// twice. Events on the node are only the human-readable trail. Every replica lists the same objects.
// No HTTP framework here: collaborators (node source, incident store, clock, settings, senders) are passed in.
import { Waker, type Clock } from '../clock.js'
import { isConflict } from '../kube/errors.js'
import type { DeliveryRecord, IncidentObject, IncidentSpec, IncidentStatus } from '../kube/incident-objects.js'
import type { NodeObject } from '../kube/types.js'
import { SERVICE_LABEL, webhookMessage, type Outcome, type PostableAlert, type WebhookDelivery, type WebhookMessage } from './alerts.js'
import { nodePhase, nodeProblems, type Phase, type Problem } from './problems.js'

/** The nodes as the watch cache holds them; the only thing the monitor needs of the kube layer. */
export interface NodeSource {
  nodes(): Iterable<NodeObject>
  getNode(name: string): NodeObject | undefined
  /** name: that node changed or went; undefined: anything may have changed (a relist). Returns an unsubscribe. */
  onChange(listener: (name: string | undefined) => void): () => void
  /** The source holds a full list (until then an absent node may just not be listed yet). Default: true. */
  synced?(): boolean
}

/** The NodeIncident objects (src/kube/incident-objects.ts): an informer and conditional writes. */
export interface IncidentStore {
  readonly synced: boolean
  whenSynced(): Promise<void>
  list(): IncidentObject[]
  get(name: string): IncidentObject | undefined
  read(name: string): Promise<IncidentObject | undefined>
  /** A name taken is a 409. */
  create(name: string, spec: IncidentSpec): Promise<IncidentObject>
  /** Conditional on obj's resourceVersion (409 when stale). */
  writeStatus(obj: IncidentObject, status: IncidentStatus): Promise<IncidentObject>
  delete(name: string, uid?: string): Promise<void>
}

export interface AlertmanagerSender {
  /** The receiver's name in the incident's deliveries (default "alertmanager <index>"). */
  name?: string
  put(alerts: PostableAlert[], done?: (alert: PostableAlert, outcome: Outcome) => void): void
  clear?(): void
}

export interface WebhookSender {
  enqueue(message: WebhookMessage, delivery?: WebhookDelivery): void
  has?(id: string): boolean
  clear?(): void
}

export interface HealthSettings {
  /** Full check period (healthCheckInterval). */
  intervalMs: number
  /** A condition must last this long before it pages. */
  graceMs: number
  /** A cordon pages after this long; 0: never. */
  cordonedMs: number
  /** alertOnNodeFailure: when false, incidents are tracked and shown but nobody is paged. */
  alertsEnabled: boolean
}

export interface HealthEventSpec { reason: string; message: string; type: 'Normal' | 'Warning' }

export interface HealthMonitorOptions {
  source: NodeSource
  incidents: IncidentStore
  clock: Clock
  settings: () => HealthSettings
  /** Fencing: false once this replica may no longer lead; nothing is written or sent then. */
  stillLeading?: () => boolean
  /** Alertmanager outboxes (one per ALERTMANAGER_URL). */
  alertmanagers?: AlertmanagerSender[]
  webhook?: WebhookSender
  /** Records a Kubernetes Event on the node (the human-readable trail). */
  recordEvent?: (node: NodeObject, event: HealthEventSpec) => Promise<unknown>
  /** The node's page in the admin UI (generatorURL). */
  nodeUrl: (node: string) => string
  /** Alertmanager's externalURL in webhook payloads: the service's base URL. */
  externalUrl: string
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void }
  /** Firing alerts re-sent to Alertmanager this often (60 s), each valid for firingValidMs (4 min); also the pace of webhook redeliveries. */
  resendMs?: number
  firingValidMs?: number
  /** A resolved alert is re-sent (and listed) this long after it ended (15 min). */
  resolvedKeepMs?: number
  /** Resolved incidents are deleted this long after they ended (7 days). */
  incidentTtlMs?: number
  /** One API call waits at most this long (10 s), then counts as failed and is retried. */
  apiTimeoutMs?: number
}

export type IncidentState = 'pending' | 'firing' | 'resolved'
type Kind = 'firing' | 'resolved'

export interface Incident {
  /** The NodeIncident's name (pending: node/condition). */
  id: string
  node: string
  problem: Problem
  state: IncidentState
  /** The alert's startsAt: when the problem began as the object says, else when the leader first saw it. */
  startsAt: number
  endsAt?: number
  /** Why it ended: the node recovered, or it was deleted. */
  ended?: 'recovered' | 'deleted'
  /** Its notifications are due (written to the outbox); each receiver's delivery is in the object. */
  paged: boolean
}

export interface NodeHealth {
  name: string
  phase: Phase
  conditions: { type: string; status: string; reason: string; message: string; since: string | null }[]
}

/** A problem seen within its grace: in memory only, nobody paged yet. */
interface Pending { problem: Problem; uid?: string; firstSeen: number; retryAt?: number }

/** After a failed write, the next try. */
const RETRY_MS = 5000
/** Never sleep less than this: whatever is due, the loop does not spin. */
const MIN_SLEEP_MS = 50

function iso(ms: number): string { return new Date(ms).toISOString() }
function ms(t: string | Date | undefined | null): number | undefined {
  if (t === undefined || t === null) return undefined
  const v = t instanceof Date ? t.getTime() : Date.parse(t)
  return Number.isFinite(v) ? v : undefined
}

/**
 * The incident's object name: node, condition and start (ms), so a create retried by any leader
 * finds the same object (409) rather than making a second one.
 */
export function incidentName(node: string, condition: string, startsAt: number): string {
  return `${node.slice(0, 220).replace(/[-.]+$/, '')}.${condition.toLowerCase()}.${startsAt}`
}

/** X-StreamSpace-Delivery: the incident and the message, the same on every retry by every leader. */
export function deliveryId(incident: string, kind: Kind): string {
  return `${incident}/${kind}`
}

function observedOf(p: Problem): NonNullable<IncidentStatus['observed']> {
  return { status: p.status, reason: p.reason, message: p.message, ...(p.since !== undefined ? { since: iso(p.since) } : {}) }
}

/** The incident as the GET answer and the alerts show it, from its object alone (any replica). */
export function incidentOf(o: IncidentObject): Incident {
  const st = o.status ?? {}
  const seen = st.observed
  return {
    id: o.metadata.name,
    node: o.spec.node,
    problem: {
      node: o.spec.node, condition: o.spec.condition as Problem['condition'],
      status: seen?.status ?? (o.spec.condition === 'Ready' ? 'Unknown' : 'True'), reason: seen?.reason ?? '', message: seen?.message ?? '',
      since: ms(seen?.since), alertname: o.spec.alertname as Problem['alertname'], severity: o.spec.severity === 'critical' ? 'critical' : 'warning',
    },
    state: st.state ?? 'firing',
    startsAt: Date.parse(o.spec.startsAt),
    endsAt: ms(st.endsAt),
    ended: st.ended,
    paged: st.paged === true,
  }
}

export class HealthMonitor {
  private pending = new Map<string, Pending>()
  /** When each incident was last sent to Alertmanager, and as what (by name). */
  private lastSent = new Map<string, { at: number; kind: Kind }>()
  /** When each webhook message was last queued (by delivery id). */
  private queuedAt = new Map<string, number>()
  /** Outcomes reported by the senders, not yet written to their incidents. */
  private marks = new Map<string, Map<string, { firing?: DeliveryRecord; resolved?: DeliveryRecord }>>()
  private abort = new AbortController()
  private waker = new Waker()
  private running: Promise<void> | undefined
  private unsubscribe: (() => void) | undefined
  private dirty = new Set<string>()
  private dirtyAll = true
  /** A write failed: the next pass is due then. */
  private retryAt = Infinity
  lastCheck: number | undefined
  checks = 0

  constructor(private readonly opts: HealthMonitorOptions) {}

  private get resendMs(): number { return this.opts.resendMs ?? 60_000 }
  private get firingValidMs(): number { return this.opts.firingValidMs ?? 240_000 }
  private get resolvedKeepMs(): number { return this.opts.resolvedKeepMs ?? 900_000 }
  private get ttlMs(): number { return this.opts.incidentTtlMs ?? 7 * 86_400_000 }
  private get alertmanagers(): { name: string; sender: AlertmanagerSender }[] {
    return (this.opts.alertmanagers ?? []).map((sender, i) => ({ name: sender.name ?? `alertmanager ${i}`, sender }))
  }

  get isRunning(): boolean { return this.running !== undefined }

  start(): void {
    if (this.running) return
    this.abort = new AbortController()
    const waker = this.waker = new Waker()
    this.dirtyAll = true
    this.unsubscribe = this.opts.source.onChange((name) => {
      if (name === undefined) this.dirtyAll = true
      else this.dirty.add(name)
      waker.wake()
    })
    this.running = this.loop(this.abort.signal)
  }

  /** The settings changed (e.g. healthCheckInterval through PUT P/config): check everything now, then on the new interval. */
  settingsChanged(): void {
    if (!this.running) return
    this.dirtyAll = true
    this.waker.wake()
  }

  /**
   * Stops (leadership lost, or shutdown). What waits in the senders is dropped: the incidents say
   * what is undelivered, and the next leader delivers it.
   */
  async stop(): Promise<void> {
    // Synchronous up to the await, so a start() right after (leadership regained) begins afresh.
    const running = this.running
    this.running = undefined
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.abort.abort()
    this.waker.wake()
    for (const am of this.opts.alertmanagers ?? []) am.clear?.()
    this.opts.webhook?.clear?.()
    this.pending.clear()
    this.lastSent.clear()
    this.queuedAt.clear()
    this.marks.clear()
    this.dirty.clear()
    this.retryAt = Infinity
    await running
  }

  private leading(signal: AbortSignal): boolean {
    return !signal.aborted && (this.opts.stillLeading?.() ?? true)
  }

  private async loop(signal: AbortSignal): Promise<void> {
    // client-go's WaitForCacheSync: what was paged is known only once the incidents are listed.
    await Promise.race([this.opts.incidents.whenSynced(), new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))])
    let nextFull = 0
    while (!signal.aborted) {
      this.waker.take()
      const now = this.opts.clock.now()
      let wakeAt = now + RETRY_MS
      try {
        // An unlisted node is not a deleted one: nothing is decided before the node list is complete.
        if (this.opts.source.synced?.() === false) {
          wakeAt = now + this.opts.settings().intervalMs
        } else {
          const full = this.dirtyAll || now >= nextFull
          const names = full ? undefined : [...this.dirty]
          this.dirtyAll = false
          this.dirty.clear()
          this.retryAt = Infinity
          await this.pass(now, names, signal)
          if (full) {
            nextFull = now + this.opts.settings().intervalMs
            this.lastCheck = now
            this.checks++
          }
          wakeAt = Math.min(nextFull, this.nextDue(now))
        }
      } catch (err) {
        this.opts.log?.warn({ err: (err as Error).message }, 'health check failed')
      }
      if (signal.aborted) return
      await this.waker.sleep(this.opts.clock, Math.max(MIN_SLEEP_MS, wakeAt - this.opts.clock.now()), signal)
    }
  }

  /** One turn: the nodes given (all when undefined), then due pages, delivery records, sends and retention. */
  private async pass(now: number, names: string[] | undefined, signal: AbortSignal): Promise<void> {
    const open = new Map<string, Map<string, IncidentObject>>()
    for (const o of this.opts.incidents.list()) {
      if (o.status?.state === 'resolved' || o.metadata.deletionTimestamp) continue
      let mine = open.get(o.spec.node)
      if (!mine) open.set(o.spec.node, (mine = new Map()))
      mine.set(o.spec.condition, o)
    }
    const nodes = new Set(names)
    if (names === undefined) {
      for (const n of this.opts.source.nodes()) nodes.add(n.metadata?.name ?? '')
      for (const n of open.keys()) nodes.add(n)
      for (const p of this.pending.values()) nodes.add(p.problem.node)
    }
    for (const name of nodes) {
      if (!this.leading(signal)) return
      await this.evaluateNode(name, this.opts.source.getNode(name), open.get(name), now, signal)
    }
    await this.openDue(now, signal)
    await this.pageUnpaged(signal)
    await this.writeMarks(signal)
    this.send(now, signal)
    await this.collect(now, signal)
  }

  /**
   * Whether the node's problem now is the incident `o` is open for. Ready False <-> Unknown moves
   * lastTransitionTime within one incident; the same status with a later time went through another
   * status (it recovered) in between, unseen by any leader: a new incident.
   */
  private sameIncident(o: IncidentObject, p: Problem): boolean {
    const seen = o.status?.observed
    const since = ms(seen?.since)
    if (!seen || since === undefined || p.since === undefined || since === p.since) return true
    return p.condition === 'Ready' && seen.status !== p.status
  }

  /** Keeps the node's open incidents, resolves those whose problem ended, and times new problems. */
  private async evaluateNode(name: string, node: NodeObject | undefined, open: Map<string, IncidentObject> | undefined, now: number, signal: AbortSignal): Promise<void> {
    const cordonedMs = this.opts.settings().cordonedMs
    const problems = node ? nodeProblems(node).filter((p) => p.condition !== 'Unschedulable' || cordonedMs > 0) : []
    const seen = new Set<string>()
    for (const p of problems) {
      seen.add(p.condition)
      const key = `${name}/${p.condition}`
      const o = open?.get(p.condition)
      if (o && this.sameIncident(o, p)) {
        this.pending.delete(key)
        const observed = observedOf(p)
        if (JSON.stringify(o.status?.observed) !== JSON.stringify(observed)) await this.update(o, (st) => ({ ...st, observed }), signal)
        continue
      }
      // It ended and came back while no leader watched: that one ended at the latest when this began.
      if (o) await this.resolve(o, node, p.since ?? now, now, signal)
      const waiting = this.pending.get(key)
      if (waiting) waiting.problem = p
      else this.pending.set(key, { problem: p, uid: node?.metadata?.uid, firstSeen: now })
    }
    for (const [condition, o] of open ?? []) if (!seen.has(condition)) await this.resolve(o, node, undefined, now, signal)
    // Ended within its grace: nobody was paged.
    for (const [key, p] of this.pending) if (p.problem.node === name && !seen.has(p.problem.condition)) this.pending.delete(key)
  }

  private startsAt(p: Pending): number {
    return p.problem.since !== undefined ? Math.min(p.problem.since, p.firstSeen) : p.firstSeen
  }

  /** When a pending problem becomes due to page. */
  private dueAt(p: Pending): number {
    const s = this.opts.settings()
    return this.startsAt(p) + (p.problem.condition === 'Unschedulable' ? s.cordonedMs : s.graceMs)
  }

  /** Problems past their grace become NodeIncident objects: written first, then paged (the outbox). */
  private async openDue(now: number, signal: AbortSignal): Promise<void> {
    const enabled = this.opts.settings().alertsEnabled
    for (const [key, p] of [...this.pending]) {
      if (now < (p.retryAt ?? this.dueAt(p))) continue
      if (!this.leading(signal)) return
      const pr = p.problem
      const startsAt = this.startsAt(p)
      const name = incidentName(pr.node, pr.condition, startsAt)
      const spec: IncidentSpec = {
        node: pr.node, ...(p.uid ? { nodeUID: p.uid } : {}), alertname: pr.alertname, condition: pr.condition, severity: pr.severity, startsAt: iso(startsAt),
        labels: { alertname: pr.alertname, node: pr.node, condition: pr.condition, severity: pr.severity, service: SERVICE_LABEL },
      }
      let o: IncidentObject | undefined
      try {
        o = await this.call(this.opts.incidents.create(name, spec), signal)
      } catch (err) {
        // Made by an earlier try whose answer was lost: the same incident.
        if (isConflict(err)) o = await this.call(this.opts.incidents.read(name), signal).catch(() => undefined)
        if (!o) {
          p.retryAt = now + RETRY_MS
          this.opts.log?.warn({ node: pr.node, condition: pr.condition, err: (err as Error).message }, 'health: could not write the incident; nobody is paged before it is written; will retry')
          continue
        }
      }
      this.pending.delete(key)
      const wasPaged = o.status?.paged === true
      const written = await this.update(o, (st) => ({ ...st, state: st.state ?? 'firing', paged: wasPaged || enabled, observed: observedOf(pr) }), signal)
      if (written && enabled && !wasPaged) this.announce(written)
    }
  }

  /** Open incidents written while alertOnNodeFailure was off page once it is on. */
  private async pageUnpaged(signal: AbortSignal): Promise<void> {
    if (!this.opts.settings().alertsEnabled) return
    for (const o of this.opts.incidents.list()) {
      if (o.status?.paged || o.status?.state === 'resolved' || o.metadata.deletionTimestamp) continue
      const written = await this.update(o, (st) => ({ ...st, state: st.state ?? 'firing', paged: true }), signal)
      if (written) this.announce(written)
    }
  }

  /** The incident ended (recovered, deleted, or found ended by a new leader). */
  private async resolve(o: IncidentObject, node: NodeObject | undefined, endedAt: number | undefined, now: number, signal: AbortSignal): Promise<void> {
    if (endedAt === undefined) {
      // The condition's own transition time if it is plausible (it may have ended while no leader watched), else now.
      const t = ms(node?.status?.conditions?.find((c) => c.type === o.spec.condition)?.lastTransitionTime)
      endedAt = t !== undefined && t >= Date.parse(o.spec.startsAt) && t <= now ? t : now
    }
    const ended = node ? 'recovered' : 'deleted'
    const written = await this.update(o, (st) => ({ ...st, state: 'resolved', endsAt: iso(endedAt), ended }), signal)
    if (!written?.status?.paged) return
    const alert = this.alertOf(written, now, 'resolved')
    this.opts.log?.info({ alert: alert.labels, startsAt: alert.startsAt, endsAt: alert.endsAt, ended }, `ALERT resolved: ${alert.annotations.summary}`)
    this.event(written, { reason: `${o.spec.alertname}Resolved`, type: 'Normal', message: `Resolved: ${alert.annotations.summary}. ${alert.annotations.description}` })
  }

  /** The log line and the Event, once, by the leader that committed the page. */
  private announce(o: IncidentObject): void {
    const alert = this.alertOf(o, this.opts.clock.now(), 'firing')
    this.opts.log?.warn({ alert: alert.labels, startsAt: alert.startsAt, summary: alert.annotations.summary, incident: o.metadata.name }, `ALERT firing: ${alert.annotations.summary}`)
    this.event(o, { reason: o.spec.alertname, type: 'Warning', message: `${alert.annotations.summary}: ${alert.annotations.description}` })
  }

  private event(o: IncidentObject, spec: HealthEventSpec): void {
    // Also for a node that is gone (Events may name deleted objects).
    const node: NodeObject = this.opts.source.getNode(o.spec.node) ?? { metadata: { name: o.spec.node, uid: o.spec.nodeUID } }
    this.opts.recordEvent?.(node, spec).catch((err: unknown) => {
      this.opts.log?.warn({ node: o.spec.node, err: (err as Error).message }, 'health: could not record the Event on the node')
    })
  }

  private delivered(o: IncidentObject, receiver: string, kind: Kind): DeliveryRecord | undefined {
    return this.marks.get(o.metadata.name)?.get(receiver)?.[kind] ?? o.status?.deliveries?.[receiver]?.[kind]
  }

  /** A sender's report: kept until written to the incident (the loop writes, one writer per object). */
  private mark(signal: AbortSignal, name: string, receiver: string, kind: Kind, outcome: Outcome): void {
    if (signal.aborted) return
    let mine = this.marks.get(name)
    if (!mine) this.marks.set(name, (mine = new Map()))
    mine.set(receiver, { ...mine.get(receiver), [kind]: { at: iso(this.opts.clock.now()), result: outcome } })
    if (receiver === 'webhook') this.queuedAt.delete(deliveryId(name, kind))
    this.waker.wake()
  }

  private async writeMarks(signal: AbortSignal): Promise<void> {
    for (const [name, mine] of [...this.marks]) {
      const o = this.opts.incidents.get(name)
      this.marks.delete(name)
      if (!o) continue
      const written = await this.update(o, (st) => {
        const deliveries = { ...st.deliveries }
        for (const [receiver, m] of mine) deliveries[receiver] = { ...deliveries[receiver], ...m }
        return { ...st, deliveries }
      }, signal)
      if (!written && !signal.aborted) {
        // Not written: keep them (with any that came meanwhile) for the next pass.
        const now = this.marks.get(name) ?? new Map()
        for (const [receiver, m] of mine) now.set(receiver, { ...m, ...now.get(receiver) })
        this.marks.set(name, now)
      }
    }
  }

  /** Whether Alertmanager still wants to hear of it: firing, resolved lately, or resolved but not yet delivered. */
  private amWanted(o: IncidentObject, now: number): boolean {
    if (o.status?.state !== 'resolved') return true
    return now - Date.parse(o.status.endsAt ?? '') < this.resolvedKeepMs || this.alertmanagers.some((am) => !this.delivered(o, am.name, 'resolved'))
  }

  /** The webhook message still to deliver: the firing one, then (once it is delivered) the resolved one. */
  private webhookDue(o: IncidentObject): Kind | undefined {
    if (!this.delivered(o, 'webhook', 'firing')) return 'firing'
    if (o.status?.state === 'resolved' && !this.delivered(o, 'webhook', 'resolved')) return 'resolved'
    return undefined
  }

  /** Hands every paged incident's due messages to the senders (they never block). */
  private send(now: number, signal: AbortSignal): void {
    if (!this.leading(signal)) return
    const toAm: PostableAlert[] = []
    const of = new Map<PostableAlert, [string, Kind]>()
    const webhook = this.opts.webhook
    for (const o of this.opts.incidents.list()) {
      if (!o.status?.paged || o.metadata.deletionTimestamp) continue
      const name = o.metadata.name
      const state: Kind = o.status.state === 'resolved' ? 'resolved' : 'firing'
      // As for the webhook: firing first. A leader that died before Alertmanager took the firing
      // alert would otherwise leave it only the resolve, and nobody notified.
      const kind: Kind = state === 'resolved' && this.alertmanagers.some((am) => !this.delivered(o, am.name, 'firing')) ? 'firing' : state
      const last = this.lastSent.get(name)
      if (this.alertmanagers.length && this.amWanted(o, now) && (last?.kind !== kind || now - last.at >= this.resendMs)) {
        this.lastSent.set(name, { at: now, kind })
        const alert = this.alertOf(o, now, kind)
        toAm.push(alert)
        of.set(alert, [name, kind])
      }
      const due = webhook && this.webhookDue(o)
      if (!webhook || !due) continue
      const id = deliveryId(name, due)
      const queued = this.queuedAt.get(id)
      if (webhook.has?.(id) || (queued !== undefined && now - queued < this.resendMs)) continue
      this.queuedAt.set(id, now)
      webhook.enqueue(webhookMessage(this.alertOf(o, now, due), due, this.opts.externalUrl), { id, onDelivered: () => this.mark(signal, name, 'webhook', due, 'delivered') })
    }
    if (!toAm.length) return
    for (const am of this.alertmanagers) {
      am.sender.put(toAm, (alert, outcome) => {
        const [name, kind] = of.get(alert) ?? []
        if (name && kind) this.mark(signal, name, am.name, kind, outcome)
      })
    }
  }

  /** Deletes resolved incidents past their TTL. */
  private async collect(now: number, signal: AbortSignal): Promise<void> {
    for (const o of this.opts.incidents.list()) {
      if (o.status?.state !== 'resolved' || now < Date.parse(o.status.endsAt ?? '') + this.ttlMs) continue
      if (!this.leading(signal)) return
      try {
        await this.call(this.opts.incidents.delete(o.metadata.name, o.metadata.uid), signal)
        this.lastSent.delete(o.metadata.name)
      } catch (err) {
        this.retryAt = Math.min(this.retryAt, now + RETRY_MS)
        this.opts.log?.warn({ incident: o.metadata.name, err: (err as Error).message }, 'health: could not delete a resolved incident past its TTL')
      }
    }
  }

  /** When the next pass is due (a grace ending, a resend, a redelivery, a TTL, a retry). */
  private nextDue(now: number): number {
    let next = this.retryAt
    for (const p of this.pending.values()) next = Math.min(next, p.retryAt ?? this.dueAt(p))
    for (const o of this.opts.incidents.list()) {
      if (o.status?.state === 'resolved') next = Math.min(next, Date.parse(o.status.endsAt ?? '') + this.ttlMs)
      if (!o.status?.paged) continue
      const last = this.lastSent.get(o.metadata.name)
      if (last !== undefined && this.amWanted(o, now)) next = Math.min(next, last.at + this.resendMs)
      const due = this.webhookDue(o)
      const queued = due && this.queuedAt.get(deliveryId(o.metadata.name, due))
      if (queued) next = Math.min(next, queued + this.resendMs)
    }
    return next
  }

  /**
   * Writes the incident's status as `mutate` makes it from the latest (re-read on a 409).
   * Undefined when not written (gone, not leading, or failed: retried by a later pass).
   */
  private async update(o: IncidentObject, mutate: (st: IncidentStatus) => IncidentStatus, signal: AbortSignal): Promise<IncidentObject | undefined> {
    let current = o
    for (let attempt = 0; ; attempt++) {
      if (!this.leading(signal)) return undefined
      try {
        return await this.call(this.opts.incidents.writeStatus(current, mutate({ ...current.status })), signal)
      } catch (err) {
        if (isConflict(err) && attempt < 3) {
          const fresh = await this.call(this.opts.incidents.read(o.metadata.name), signal).catch(() => undefined)
          if (fresh && fresh.metadata.uid === o.metadata.uid) { current = fresh; continue }
        }
        this.retryAt = Math.min(this.retryAt, this.opts.clock.now() + RETRY_MS)
        if (!signal.aborted) this.opts.log?.warn({ incident: o.metadata.name, err: (err as Error).message }, 'health: could not write the incident; will retry')
        return undefined
      }
    }
  }

  /** An API call that answers within apiTimeoutMs or counts as failed (a hung server must not hold the monitor). */
  private call<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
    const limit = this.opts.apiTimeoutMs ?? 10_000
    const done = new AbortController()
    const timeout = this.opts.clock.sleep(limit, AbortSignal.any([done.signal, signal])).then(() => {
      if (done.signal.aborted) return new Promise<T>(() => undefined) // answered first: it wins the race
      throw new Error(signal.aborted ? 'stopped' : `the API server did not answer within ${limit} ms`)
    })
    return Promise.race([p.finally(() => done.abort()), timeout])
  }

  /** The incident as Alertmanager takes it: identical labels on every replica and every resend. */
  private alertOf(o: IncidentObject, now: number, kind: Kind): PostableAlert {
    const inc = incidentOf(o)
    const p = inc.problem
    const summary = p.condition === 'Ready' ? `Node ${inc.node} is ${p.status === 'Unknown' ? 'Unknown (its kubelet stopped reporting)' : 'NotReady'}`
      : p.condition === 'Unschedulable' ? `Node ${inc.node} has been cordoned for more than ${Math.round(this.opts.settings().cordonedMs / 60_000)} minutes`
        : `Node ${inc.node} has ${p.condition}`
    let description = `${p.condition}=${p.status}${p.reason ? ` (${p.reason})` : ''}${p.message ? `: ${p.message}` : ''}; since ${o.spec.startsAt}.`
    if (kind === 'resolved') description += inc.ended === 'deleted' ? ` The node was deleted at ${o.status?.endsAt}; it is no longer watched.` : ` Resolved at ${o.status?.endsAt}.`
    return {
      labels: o.spec.labels,
      annotations: { summary, description },
      startsAt: o.spec.startsAt,
      endsAt: kind === 'resolved' ? o.status?.endsAt ?? iso(now) : iso(now + this.firingValidMs),
      generatorURL: this.opts.nodeUrl(inc.node),
    }
  }

  /** Open incidents (those within their grace only on the leader) and those resolved in the last 15 min, from the NodeIncident objects. */
  incidents(): { active: Incident[]; recent: Incident[] } {
    const now = this.opts.clock.now()
    const active: Incident[] = [...this.pending.entries()].map(([key, p]) => ({
      id: key, node: p.problem.node, problem: p.problem, state: 'pending', startsAt: this.startsAt(p), paged: false,
    }))
    const recent: Incident[] = []
    for (const o of this.opts.incidents.list()) {
      const inc = incidentOf(o)
      if (inc.state !== 'resolved') active.push(inc)
      else if (now - (inc.endsAt ?? 0) < this.resolvedKeepMs) recent.push(inc)
    }
    const order = (a: Incident, b: Incident) => a.startsAt - b.startsAt || a.id.localeCompare(b.id)
    return { active: active.sort(order), recent: recent.sort(order) }
  }

  /** Nodes with problems now, from this replica's cache (any replica can answer; only the leader alerts). */
  problems(now: number): NodeHealth[] {
    return nodesWithProblems(this.opts.source.nodes(), now, this.opts.settings().cordonedMs)
  }

  /** healthy, degraded or critical, given the problems found. */
  status(problems: NodeHealth[]): 'healthy' | 'degraded' | 'critical' {
    return clusterStatus(this.opts.source.nodes(), problems)
  }
}

/**
 * Nodes with problems, from the objects alone (any replica can answer): not Ready, a pressure
 * condition, or cordoned longer than cordonedMs when the cordon time is known.
 */
export function nodesWithProblems(nodes: Iterable<NodeObject>, now: number, cordonedMs: number): NodeHealth[] {
  const out: NodeHealth[] = []
  for (const node of nodes) {
    const problems = nodeProblems(node).filter((p) => p.condition !== 'Unschedulable' || (cordonedMs > 0 && p.since !== undefined && now - p.since >= cordonedMs))
    if (!problems.length) continue
    out.push({
      name: node.metadata?.name ?? '',
      phase: nodePhase(node),
      conditions: problems.map((p) => ({ type: p.condition, status: p.status, reason: p.reason, message: p.message, since: p.since !== undefined ? iso(p.since) : null })),
    })
  }
  return out.sort((a, b) => a.name.localeCompare(b.name))
}

/** healthy: no problem; critical: no Ready node, or at least half not Ready; degraded: anything between. */
export function clusterStatus(nodes: Iterable<NodeObject>, problems: NodeHealth[]): 'healthy' | 'degraded' | 'critical' {
  let total = 0, ready = 0
  for (const n of nodes) { total++; if (nodePhase(n) === 'Ready') ready++ }
  if (total > 0 && (ready === 0 || (total - ready) * 2 >= total)) return 'critical'
  return problems.length ? 'degraded' : 'healthy'
}
