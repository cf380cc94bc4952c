// The health monitor: turns node problems into incidents and incidents into alerts. One incident is
// one node with one problem (a condition, or a cordon that lasted too long), from start to end.
// Fed by node changes (immediate) and a full check every interval; a problem pages only once it
// has lasted the grace period, so one late heartbeat pages nobody. Runs only on the leader; a new
// leader reads the Events a previous one wrote and does not page again what was already paged.
// No HTTP framework here: collaborators (node source, clock, settings, senders) are passed in.
import type { Clock } from '../clock.js'
import type { NodeObject } from '../kube/types.js'
import { SERVICE_LABEL, webhookMessage, type PostableAlert, type WebhookMessage } from './alerts.js'
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

/** An Event as read back (only what the monitor looks at). */
export interface ReadEvent { metadata?: { name?: string }; reason?: string; message?: string; involvedObject?: { name?: string; uid?: string } }

export interface HealthMonitorOptions {
  source: NodeSource
  clock: Clock
  settings: () => HealthSettings
  /** Alertmanager outboxes (one per ALERTMANAGER_URL). */
  alertmanagers?: { put(alerts: PostableAlert[]): void }[]
  webhook?: { enqueue(message: WebhookMessage): void }
  /** Records a Kubernetes Event on the node. */
  recordEvent?: (node: NodeObject, event: HealthEventSpec) => Promise<unknown>
  /** The node's Events, to find what a previous leader paged. */
  readEvents?: (node: string) => Promise<ReadEvent[]>
  /** All Node Events this service recorded: on becoming leader, incidents a previous leader paged
   *  that ended while nobody led are resolved. */
  readAllEvents?: () => Promise<ReadEvent[]>
  /** The node's page in the admin UI (generatorURL). */
  nodeUrl: (node: string) => string
  /** Alertmanager's externalURL in webhook payloads: the service's base URL. */
  externalUrl: string
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error?(obj: object, msg: string): void }
  /** Firing alerts re-sent this often (60 s), each valid for firingValidMs (4 min). */
  resendMs?: number
  firingValidMs?: number
  /** How long to wait for the node's Events before paging anyway (5 s). */
  readEventsTimeoutMs?: number
  /** A resolved alert is re-sent (and listed) this long after it ended (15 min). */
  resolvedKeepMs?: number
}

export type IncidentState = 'pending' | 'firing' | 'resolved'

export interface Incident {
  id: string
  node: string
  /** The node's uid, for the Event when it resolves after the node is gone. */
  uid?: string
  problem: Problem
  state: IncidentState
  /** Our clock when this replica first saw the problem. */
  firstSeen: number
  /** The alert's startsAt: when the problem began as the object says, else firstSeen. */
  startsAt: number
  endsAt?: number
  /** Why it ended: the node recovered, or it was deleted. */
  ended?: 'recovered' | 'deleted'
  /** Notifications went out (by us or, for a takeover, a previous leader). */
  paged: boolean
  lastSent?: number
}

export interface NodeHealth {
  name: string
  phase: Phase
  conditions: { type: string; status: string; reason: string; message: string; since: string | null }[]
}

const MARKER = /\[alert (\S+) condition=(\S+) startsAt=(\S+) (firing|resolved)\]/

function iso(ms: number): string { return new Date(ms).toISOString() }

/** Our Event names end in the creation time in hex nanoseconds (<node>.<hex>): their order. */
function eventOrder(ev: ReadEvent): bigint {
  const hex = ev.metadata?.name?.split('.').pop() ?? '0'
  try { return BigInt(`0x${hex}`) } catch { return 0n }
}

export class HealthMonitor {
  private readonly byNode = new Map<string, Map<string, Incident>>()
  private recent: Incident[] = []
  private abort = new AbortController()
  private wake = new AbortController()
  private running: Promise<void> | undefined
  private unsubscribe: (() => void) | undefined
  private dirty = new Set<string>()
  private dirtyAll = false
  private firing = new Set<string>()
  lastCheck: number | undefined
  checks = 0
  /** Incidents of a previous leader that ended while nobody led: looked for once per leadership. */
  private orphansChecked = false

  constructor(private readonly opts: HealthMonitorOptions) {}

  private get resendMs(): number { return this.opts.resendMs ?? 60_000 }
  private get firingValidMs(): number { return this.opts.firingValidMs ?? 240_000 }
  private get resolvedKeepMs(): number { return this.opts.resolvedKeepMs ?? 900_000 }

  get isRunning(): boolean { return this.running !== undefined }

  start(): void {
    if (this.running) return
    this.abort = new AbortController()
    this.unsubscribe = this.opts.source.onChange((name) => {
      if (name === undefined) this.dirtyAll = true
      else this.dirty.add(name)
      this.wake.abort()
    })
    this.running = this.loop(this.abort.signal)
  }

  /** The settings changed (e.g. healthCheckInterval through PUT P/config): check everything now, then on the new interval. */
  settingsChanged(): void {
    if (!this.running) return
    this.dirtyAll = true
    this.wake.abort()
  }

  /** Stops (leadership lost, or shutdown). What this replica knew is forgotten: a later leader re-reads. */
  async stop(): Promise<void> {
    // Synchronous up to the await, so a start() right after (leadership regained) begins afresh.
    const running = this.running
    this.running = undefined
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.abort.abort()
    this.wake.abort()
    this.byNode.clear()
    this.recent = []
    this.dirty.clear()
    this.orphansChecked = false
    await running
  }

  private async loop(signal: AbortSignal): Promise<void> {
    let nextFull = 0
    while (!signal.aborted) {
      const now = this.opts.clock.now()
      try {
        if (now >= nextFull || this.dirtyAll) {
          this.dirtyAll = false
          this.dirty.clear()
          await this.check()
          nextFull = now + this.opts.settings().intervalMs
        } else if (this.dirty.size) {
          const names = [...this.dirty]
          this.dirty.clear()
          for (const n of names) this.evaluateNode(n, this.opts.source.getNode(n), now)
          await this.promoteAndSend(now)
        } else {
          await this.promoteAndSend(now)
        }
        if (!this.orphansChecked && this.lastCheck !== undefined && this.opts.source.synced?.() !== false) {
          this.orphansChecked = true
          await this.resolveOrphans(signal)
        }
      } catch (err) {
        this.opts.log?.warn({ err: (err as Error).message }, 'health check failed')
      }
      if (signal.aborted) return
      if (this.dirty.size || this.dirtyAll) continue
      this.wake = new AbortController()
      const until = Math.min(nextFull, this.nextDue())
      const delay = Math.max(0, until - this.opts.clock.now())
      await this.opts.clock.sleep(delay, AbortSignal.any([signal, this.wake.signal]))
    }
  }

  /** A full check of every node now. */
  async check(): Promise<void> {
    const now = this.opts.clock.now()
    const present = new Set<string>()
    for (const node of this.opts.source.nodes()) {
      const name = node.metadata?.name ?? ''
      present.add(name)
      this.evaluateNode(name, node, now)
    }
    for (const name of [...this.byNode.keys()]) if (!present.has(name)) this.evaluateNode(name, undefined, now)
    this.lastCheck = now
    this.checks++
    await this.promoteAndSend(now)
  }

  /** Opens, updates and ends the node's incidents from its object (undefined: it is gone). */
  private evaluateNode(name: string, node: NodeObject | undefined, now: number): void {
    const problems = node ? nodeProblems(node) : []
    let mine = this.byNode.get(name)
    const seen = new Set<string>()
    for (const p of problems) {
      if (p.condition === 'Unschedulable' && this.opts.settings().cordonedMs <= 0) continue
      seen.add(p.condition)
      if (!mine) this.byNode.set(name, (mine = new Map()))
      const inc = mine.get(p.condition)
      if (inc) { inc.problem = p; continue }
      mine.set(p.condition, {
        id: `${name}/${p.condition}`, node: name, uid: node?.metadata?.uid, problem: p, state: 'pending', firstSeen: now,
        startsAt: p.since !== undefined ? Math.min(p.since, now) : now, paged: false,
      })
    }
    if (!mine) return
    for (const [cond, inc] of mine) {
      if (seen.has(cond)) continue
      mine.delete(cond)
      if (inc.state === 'pending') continue // ended within its grace: nobody was paged
      inc.state = 'resolved'
      inc.endsAt = now
      inc.ended = node ? 'recovered' : 'deleted'
      this.recent.push(inc)
      if (inc.paged) this.notifyResolved(inc, node)
    }
    if (mine.size === 0) this.byNode.delete(name)
  }

  /** When a pending incident becomes due to page. */
  private dueAt(inc: Incident): number {
    const s = this.opts.settings()
    if (inc.problem.condition === 'Unschedulable') return inc.startsAt + s.cordonedMs
    return Math.min(inc.firstSeen, inc.startsAt) + s.graceMs
  }

  private nextDue(): number {
    let next = Infinity
    for (const mine of this.byNode.values()) {
      for (const inc of mine.values()) {
        if (inc.state === 'pending') next = Math.min(next, this.dueAt(inc))
        else if (inc.state === 'firing' && inc.paged) next = Math.min(next, (inc.lastSent ?? 0) + this.resendMs)
        else if (inc.state === 'firing' && !inc.paged && this.opts.settings().alertsEnabled) next = Math.min(next, this.opts.clock.now())
      }
    }
    for (const inc of this.recent) next = Math.min(next, Math.min((inc.lastSent ?? 0) + this.resendMs, inc.endsAt! + this.resolvedKeepMs))
    return next
  }

  private async promoteAndSend(now: number): Promise<void> {
    const enabled = this.opts.settings().alertsEnabled
    const toPage: Incident[] = []
    const resend: PostableAlert[] = []
    for (const mine of this.byNode.values()) {
      for (const inc of mine.values()) {
        if (inc.state === 'pending' && now >= this.dueAt(inc)) inc.state = 'firing'
        if (inc.state !== 'firing') continue
        if (!inc.paged) { if (enabled && !this.firing.has(inc.id)) toPage.push(inc) }
        else if (now - (inc.lastSent ?? 0) >= this.resendMs) { inc.lastSent = now; resend.push(this.alert(inc, now)) }
      }
    }
    this.recent = this.recent.filter((inc) => now - inc.endsAt! < this.resolvedKeepMs)
    for (const inc of this.recent) {
      if (inc.paged && now - (inc.lastSent ?? 0) >= this.resendMs) { inc.lastSent = now; resend.push(this.alert(inc, now)) }
    }
    if (resend.length) for (const am of this.opts.alertmanagers ?? []) am.put(resend)
    // In the background (this.firing guards against a second page): a slow API never holds the monitor.
    const signal = this.abort.signal
    for (const inc of toPage) this.page(inc, signal).catch((err) => this.opts.log?.warn({ node: inc.node, err: (err as Error).message }, 'health: paging failed'))
  }

  /** The incident as Alertmanager takes it: identical labels on every replica and every resend. */
  private alert(inc: Incident, now: number): PostableAlert {
    const p = inc.problem
    const summary = p.condition === 'Ready' ? `Node ${inc.node} is ${p.status === 'Unknown' ? 'Unknown (its kubelet stopped reporting)' : 'NotReady'}`
      : p.condition === 'Unschedulable' ? `Node ${inc.node} has been cordoned for more than ${Math.round(this.opts.settings().cordonedMs / 60_000)} minutes`
        : `Node ${inc.node} has ${p.condition}`
    let description = `${p.condition}=${p.status}${p.reason ? ` (${p.reason})` : ''}${p.message ? `: ${p.message}` : ''}; since ${iso(inc.startsAt)}.`
    if (inc.state === 'resolved') description += inc.ended === 'deleted' ? ` The node was deleted at ${iso(inc.endsAt!)}; it is no longer watched.` : ` Resolved at ${iso(inc.endsAt!)}.`
    return {
      labels: { alertname: p.alertname, node: inc.node, condition: p.condition, severity: p.severity, service: SERVICE_LABEL },
      annotations: { summary, description },
      startsAt: iso(inc.startsAt),
      endsAt: iso(inc.state === 'resolved' ? inc.endsAt! : now + this.firingValidMs),
      generatorURL: this.opts.nodeUrl(inc.node),
    }
  }

  private marker(inc: Incident, status: 'firing' | 'resolved'): string {
    return `[alert ${inc.problem.alertname} condition=${inc.problem.condition} startsAt=${iso(inc.startsAt)} ${status}]`
  }

  /** What a previous leader paged for this node: the latest marker per condition. */
  private async previouslyPaged(node: string): Promise<Map<string, { startsAt: number; status: string }>> {
    const out = new Map<string, { startsAt: number; status: string; order: bigint }>()
    if (!this.opts.readEvents) return out
    try {
      // A slow API must not hold a page: after readEventsTimeoutMs, page as if nobody had.
      const timeout = new AbortController()
      const events = await Promise.race([
        this.opts.readEvents(node).finally(() => timeout.abort()),
        this.opts.clock.sleep(this.opts.readEventsTimeoutMs ?? 5000, timeout.signal).then(() => {
          if (!timeout.signal.aborted) throw new Error(`no answer within ${this.opts.readEventsTimeoutMs ?? 5000} ms`)
          return new Promise<ReadEvent[]>(() => undefined) // the read answered first: it wins the race
        }),
      ])
      for (const ev of events) {
        const m = MARKER.exec(ev.message ?? '')
        if (!m) continue
        const order = eventOrder(ev)
        const prev = out.get(m[2])
        if (!prev || order > prev.order) out.set(m[2], { startsAt: Date.parse(m[3]), status: m[4], order })
      }
    } catch (err) {
      this.opts.log?.warn({ node, err: (err as Error).message }, 'health: could not read the node\'s Events to find earlier pages; paging anyway')
    }
    return out
  }

  /**
   * On becoming leader: incidents whose latest marker Event says firing but whose problem is gone
   * now (the node recovered or was deleted while no replica led) are resolved, so the webhook and
   * Alertmanager hear the end of what they were paged for.
   */
  private async resolveOrphans(signal: AbortSignal): Promise<void> {
    if (!this.opts.readAllEvents) return
    let events: ReadEvent[]
    try {
      events = await this.opts.readAllEvents()
    } catch (err) {
      this.opts.log?.warn({ err: (err as Error).message }, 'health: could not read earlier alert Events; incidents that ended while no replica led stay unresolved at the webhook')
      return
    }
    if (signal.aborted) return
    const latest = new Map<string, { node: string; uid?: string; alertname: string; condition: string; startsAt: number; status: string; order: bigint }>()
    for (const ev of events) {
      const m = MARKER.exec(ev.message ?? '')
      const node = ev.involvedObject?.name
      if (!m || !node) continue
      const order = eventOrder(ev)
      const key = `${node}/${m[2]}`
      const prev = latest.get(key)
      if (!prev || order > prev.order) latest.set(key, { node, uid: ev.involvedObject?.uid, alertname: m[1], condition: m[2], startsAt: Date.parse(m[3]), status: m[4], order })
    }
    const now = this.opts.clock.now()
    for (const o of latest.values()) {
      if (o.status !== 'firing' || !Number.isFinite(o.startsAt)) continue
      if (this.byNode.get(o.node)?.has(o.condition)) continue // still a problem: page() adopts it
      const node = this.opts.source.getNode(o.node)
      const recovered = node?.status?.conditions?.find((c) => c.type === o.condition)?.lastTransitionTime
      const recoveredAt = recovered ? new Date(recovered).getTime() : NaN
      const endsAt = Number.isFinite(recoveredAt) && recoveredAt >= o.startsAt && recoveredAt <= now ? recoveredAt : now
      const inc: Incident = {
        id: `${o.node}/${o.condition}`, node: o.node, uid: node?.metadata?.uid ?? o.uid,
        problem: {
          node: o.node, condition: o.condition as Problem['condition'], status: 'resolved', reason: 'ResolvedWithoutLeader',
          message: 'ended while no replica was leading', since: o.startsAt, alertname: o.alertname as Problem['alertname'],
          severity: o.alertname === 'StreamSpaceNodeNotReady' ? 'critical' : 'warning',
        },
        state: 'resolved', firstSeen: now, startsAt: o.startsAt, endsAt, ended: node ? 'recovered' : 'deleted', paged: true,
      }
      this.recent.push(inc)
      this.opts.log?.info({ node: o.node, condition: o.condition }, 'health: an incident paged by a previous leader ended while no replica led: resolving it')
      this.notifyResolved(inc, node)
    }
  }

  private async page(inc: Incident, signal: AbortSignal): Promise<void> {
    this.firing.add(inc.id)
    try {
      const earlier = (await this.previouslyPaged(inc.node)).get(inc.problem.condition)
      if (signal.aborted || inc.state !== 'firing') return
      const now = this.opts.clock.now()
      // The same incident if it began at the same time (a condition that ended and came back while nobody
      // led began later: a new incident); a cordon without a recorded time cannot tell, so it is the same.
      if (earlier?.status === 'firing' && (inc.problem.since === undefined || earlier.startsAt === inc.startsAt)) {
        // A previous leader paged this incident: carry on with its startsAt (same alert for Alertmanager), page nobody again.
        if (Number.isFinite(earlier.startsAt)) inc.startsAt = earlier.startsAt
        inc.paged = true
        inc.lastSent = now
        for (const am of this.opts.alertmanagers ?? []) am.put([this.alert(inc, now)])
        this.opts.log?.info({ node: inc.node, condition: inc.problem.condition }, 'health: incident already paged by a previous leader; resending to Alertmanager only')
        return
      }
      inc.paged = true
      inc.lastSent = now
      const alert = this.alert(inc, now)
      const node = this.opts.source.getNode(inc.node)
      this.opts.log?.warn({ alert: alert.labels, startsAt: alert.startsAt, summary: alert.annotations.summary }, `ALERT firing: ${alert.annotations.summary}`)
      // Page first, then the Event (the marker a later leader reads): a crash in between pages twice rather than never.
      for (const am of this.opts.alertmanagers ?? []) am.put([alert])
      this.opts.webhook?.enqueue(webhookMessage(alert, 'firing', this.opts.externalUrl))
      if (node) await this.event(node, { reason: inc.problem.alertname, type: 'Warning', message: `${alert.annotations.summary}: ${alert.annotations.description} ${this.marker(inc, 'firing')}` })
    } finally {
      this.firing.delete(inc.id)
    }
  }

  private notifyResolved(inc: Incident, node: NodeObject | undefined): void {
    const now = this.opts.clock.now()
    inc.lastSent = now
    const alert = this.alert(inc, now)
    this.opts.log?.info({ alert: alert.labels, startsAt: alert.startsAt, endsAt: alert.endsAt, ended: inc.ended }, `ALERT resolved: ${alert.annotations.summary}`)
    // Also for a node that is gone (Events may name deleted objects): the marker tells a later leader it ended.
    const ref: NodeObject = node ?? { metadata: { name: inc.node, uid: inc.uid } }
    void this.event(ref, { reason: `${inc.problem.alertname}Resolved`, type: 'Normal', message: `Resolved: ${alert.annotations.summary}. ${this.marker(inc, 'resolved')}` })
    for (const am of this.opts.alertmanagers ?? []) am.put([alert])
    this.opts.webhook?.enqueue(webhookMessage(alert, 'resolved', this.opts.externalUrl))
  }

  private async event(node: NodeObject, spec: HealthEventSpec): Promise<void> {
    try {
      await this.opts.recordEvent?.(node, spec)
    } catch (err) {
      this.opts.log?.warn({ node: node.metadata?.name, err: (err as Error).message }, 'health: could not record the Event on the node')
    }
  }

  /** Incidents now open (pending within grace, or firing) and those resolved in the last 15 min. */
  incidents(): { active: Incident[]; recent: Incident[] } {
    const active: Incident[] = []
    for (const mine of this.byNode.values()) for (const inc of mine.values()) active.push(inc)
    return { active, recent: [...this.recent] }
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
