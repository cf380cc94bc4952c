// Session-aware maintenance plans. The leader runs them; every replica may create, read, cancel
// and complete them. A plan goes node by node (at most max_unavailable at once):
//   pending -> cordoned (with the plan's reason) -> waiting_for_sessions (each remaining session
//   and its user, from the watch cache: woken by its changes, never by polling the API)
//   -> at session_deadline: wait: the node fails; hibernate: each remaining Session gets
//      spec.state=hibernated and its pod goes through its Deployment; evict: the drain takes them
//   -> draining (the existing drain: kubectl's guarantees) -> drained; then the next node.
// A failed node stops the plan and stays cordoned. Plans are kept in the cluster (a PlanStore:
// the ConfigMap), written after every step, so a new leader continues from the last step written;
// each step first looks at the node's actual state (a cordoned node is not cordoned again; a drain
// evicts only what is left), so nothing is done twice.
//
// No Fastify, no HTTP codes except through HttpError for the routes' refusals.
import { randomBytes } from 'node:crypto'
import { Failure } from '../errors.js'
import { Waker, type Clock } from '../clock.js'
import type { PlanStore } from '../kube/maintenance-store.js'
import type { NodeObject, SlimPod } from '../kube/types.js'
import type { NodeEventSpec } from '../kube/events.js'
import { matches, parseSelector } from '../kube/selector.js'
import type { DrainOptions, DrainResult } from '../drain/types.js'
import {
  ACTIVE_NODE_STATES, ACTIVE_PLAN_STATES, type FitReport, type Maintenance, type MaintenanceEvent, type MaintenanceNode,
  type MaintenanceRequest, type NodeState, type SessionOnNode,
} from './types.js'
import type { Log } from '../shared/log.js'

export interface MaintenanceSource {
  getNode(name: string): NodeObject | undefined
  nodes(): Iterable<NodeObject>
  podsOnNode(name: string): Iterable<SlimPod>
  /** Calls back on every change the watch caches see (pods and nodes). Returns unsubscribe. */
  onChange(listener: () => void): () => void
}

export interface MaintenanceMetrics {
  sessionsHibernated(n: number): void
  sessionsWaited(n: number): void
  waitedSeconds(s: number): void
}

export interface MaintenanceDeps {
  store: PlanStore
  clock: Clock
  source: MaintenanceSource
  /** Cordons with who and why; does nothing to a node already cordoned with this reason. */
  cordon(node: string, by: string, reason: string): Promise<void>
  uncordon(node: string, by: string): Promise<void>
  /** The existing drain; rejects when it fails (its message says why). */
  drain(node: string, options: DrainOptions, actor: string, signal: AbortSignal): Promise<DrainResult>
  hibernate(namespace: string, session: string): Promise<void>
  recordEvent(node: NodeObject, event: NodeEventSpec): Promise<unknown>
  /** Whether the pods of these nodes fit on the other schedulable nodes. */
  fit?(nodes: string[]): FitReport
  log: Log
  metrics?: MaintenanceMetrics
  /** Whether the service is stopping (a drain interrupted then is not a failure). */
  isStopping?(): boolean
  /**
   * How often the leader re-reads the store for plans made and cancelled on other replicas, beside
   * the store's change notices (onChange). Default: 60 s with change notices (a safety net), 2 s without.
   */
  syncIntervalMs?: number
  newId?: () => string
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
const FINAL_NODE: readonly NodeState[] = ['drained', 'failed', 'cancelled']
const sessionKey = (p: SlimPod) => `${p.namespace}/${p.name}`

export function parseTime(field: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback
  const t = Date.parse(value)
  if (Number.isNaN(t)) throw new Failure('invalid', `${field}: not an RFC 3339 time: ${JSON.stringify(value)}`)
  return t
}

export class MaintenanceEngine {
  /** Plans as last read or written here. */
  private plans = new Map<string, Maintenance>()
  private runners = new Map<string, PlanRunner>()
  private leading = false
  private leaderAbort = new AbortController()
  private syncing?: Promise<void>
  private listeners = new Map<string, Set<(e: MaintenanceEvent) => void>>()
  private seq = 0
  private history = new Map<string, MaintenanceEvent[]>()

  constructor(readonly deps: MaintenanceDeps) {}

  get isLeading(): boolean { return this.leading }

  // ---- reads -------------------------------------------------------------------------------

  async list(): Promise<Maintenance[]> {
    const stored = await this.deps.store.list()
    const out: Maintenance[] = []
    for (const [id, json] of stored) {
      const local = this.runners.get(id)?.plan
      out.push(local ?? JSON.parse(json) as Maintenance)
    }
    return out.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id))
  }

  async get(id: string): Promise<Maintenance> {
    const local = this.runners.get(id)?.plan
    if (local) return local
    const json = await this.deps.store.get(id)
    if (json === undefined) throw new Failure('not_found', `Maintenance ${id} not found`)
    return JSON.parse(json) as Maintenance
  }

  /** Whether the pods of these nodes would fit on the other schedulable nodes (null without a fit check). */
  fit(nodes: string[]): FitReport | null {
    return this.deps.fit ? this.deps.fit(nodes) : null
  }

  /** Calls back whenever the stored plans may have changed (any replica's write). Returns unsubscribe. */
  onStoredChange(listener: () => void): () => void {
    return this.deps.store.onChange?.(listener) ?? (() => {})
  }

  /** Whether the store tells of changes (else followers re-read it on a timer). */
  get storeNotifies(): boolean { return this.deps.store.onChange !== undefined }

  /** Plans by state, as last seen by this replica (metrics). */
  countsByState(): Map<string, number> {
    const out = new Map<string, number>()
    for (const p of this.plans.values()) out.set(p.state, (out.get(p.state) ?? 0) + 1)
    return out
  }

  // ---- create ------------------------------------------------------------------------------

  /** Validates (4xx naming the problem, nothing started), stores, and starts it if this replica leads. */
  async create(req: MaintenanceRequest, actor: string): Promise<Maintenance> {
    const now = this.deps.clock.now()
    const startAt = parseTime('start_at', req.start_at, now)
    const deadline = req.session_deadline ? parseTime('session_deadline', req.session_deadline, now) : null
    const policy = req.session_policy ?? 'wait'
    const maxUnavailable = req.max_unavailable ?? 1
    const reason = req.reason?.trim()
    if (!reason) throw new Failure('invalid', 'reason: required (why the nodes go into maintenance)')
    if (!Number.isInteger(maxUnavailable) || maxUnavailable < 1) throw new Failure('invalid', `max_unavailable: must be an integer >= 1 (got ${maxUnavailable})`)
    if (deadline !== null && deadline < startAt) throw new Failure('invalid', `session_deadline (${iso(deadline)}) is before start_at (${iso(startAt)})`)
    if (policy !== 'wait' && deadline === null) throw new Failure('invalid', `session_deadline: required with session_policy ${policy} (when sessions may no longer be waited for)`)
    const hasNodes = req.nodes !== undefined && req.nodes.length > 0
    const hasSelector = req.node_selector !== undefined && req.node_selector !== ''
    if (hasNodes === hasSelector) throw new Failure('invalid', 'nodes or node_selector: give exactly one')
    let names: string[]
    if (hasNodes) {
      names = [...new Set(req.nodes!)]
      const unknown = names.filter((n) => !this.deps.source.getNode(n))
      if (unknown.length) throw new Failure('not_found', `nodes: ${unknown.map((n) => `Node "${n}" not found`).join('; ')}`)
    } else {
      let sel
      try {
        sel = parseSelector(req.node_selector!)
      } catch (err) {
        throw new Failure('invalid', `node_selector: ${(err as Error).message}`)
      }
      names = [...this.deps.source.nodes()].filter((n) => matches(sel, n.metadata?.labels ?? {})).map((n) => n.metadata!.name!).sort()
      if (!names.length) throw new Failure('refused', `node_selector: "${req.node_selector}" matches no node`)
    }
    // A node in another active plan: refused (two plans would fight over its cordon).
    const stored = await this.readAll()
    for (const p of stored.values()) {
      if (!ACTIVE_PLAN_STATES.includes(p.state)) continue
      const busy = p.nodes.filter((n) => names.includes(n.name) && !FINAL_NODE.includes(n.state)).map((n) => n.name)
      if (busy.length) throw new Failure('conflict', `nodes: ${busy.join(', ')} already in maintenance ${p.id} (${p.state}); cancel it or wait for it to end`, { maintenance: p.id, nodes: busy })
    }
    const fit = this.deps.fit ? this.deps.fit(names) : null
    if (fit && !fit.fits && !req.force) {
      throw new Failure('refused', `pods would find no room on the nodes that stay schedulable: ${fit.unplaced.map((u) => `${u.pod}${u.session_user ? ` (session of ${u.session_user})` : ''}: ${u.reason}`).join('; ')}; add more room, choose fewer nodes, or force`, { fit })
    }
    const id = this.deps.newId?.() ?? `m-${randomBytes(4).toString('hex')}`
    const plan: Maintenance = {
      id, reason, created_by: actor, created_at: iso(now), start_at: iso(startAt),
      session_deadline: deadline === null ? null : iso(deadline), session_policy: policy, max_unavailable: maxUnavailable,
      node_selector: hasSelector ? req.node_selector! : null, drain: req.drain ?? {}, force: req.force ?? false,
      state: 'scheduled', message: startAt > now ? `starts at ${iso(startAt)}` : 'starting',
      updated_at: iso(now), finished_at: null, fit,
      nodes: names.map((name) => ({
        name, state: 'pending', message: 'not started', sessions: [], cordoned_by_plan: false, cordoned_at: null, waiting_since: null,
        drain_started_at: null, finished_at: null, sessions_ended: 0, sessions_hibernated: 0, pods_evicted: 0,
      })),
    }
    await this.deps.store.put(id, JSON.stringify(plan))
    this.plans.set(id, plan)
    if (this.leading) this.startRunner(plan)
    return plan
  }

  private async readAll(): Promise<Map<string, Maintenance>> {
    const out = new Map<string, Maintenance>()
    for (const [id, json] of await this.deps.store.list()) {
      if (id.includes('.')) continue
      out.set(id, this.runners.get(id)?.plan ?? JSON.parse(json) as Maintenance)
    }
    return out
  }

  // ---- cancel and complete ------------------------------------------------------------------

  /** Cancels: nothing more is done; each node's state says where it was left. */
  async cancel(id: string, actor: string): Promise<Maintenance> {
    const runner = this.runners.get(id)
    if (runner) return runner.cancel(actor)
    const plan = await this.get(id)
    if (!ACTIVE_PLAN_STATES.includes(plan.state)) throw new Failure('conflict', `Maintenance ${id} is ${plan.state}: nothing to cancel`)
    // Not running here: this replica does not lead (or the plan has not started). Leave the
    // request beside the plan for the leader, and mark it cancelled (the leader confirms).
    await this.deps.store.put(`${id}.cancel`, JSON.stringify({ by: actor, at: iso(this.deps.clock.now()) }))
    cancelPlan(plan, actor, this.deps.clock.now())
    if (!this.leading) return plan
    await this.deps.store.put(id, JSON.stringify(plan))
    this.plans.set(id, plan)
    return plan
  }

  /** Uncordons the plan's nodes (those it cordoned) and clears their cordon reason. */
  async complete(id: string, actor: string): Promise<Maintenance> {
    const plan = await this.get(id)
    if (ACTIVE_PLAN_STATES.includes(plan.state)) throw new Failure('conflict', `Maintenance ${id} is ${plan.state}: cancel it first, or wait until it ends`)
    if (plan.state === 'completed') return plan
    const failures: string[] = []
    for (const n of plan.nodes) {
      if (!n.cordoned_by_plan) continue
      try {
        await this.deps.uncordon(n.name, actor)
        n.message = `${n.message}; uncordoned by ${actor}`
        n.cordoned_by_plan = false
      } catch (err) {
        failures.push(`${n.name}: ${(err as Error).message}`)
      }
    }
    const now = this.deps.clock.now()
    plan.updated_at = iso(now)
    if (failures.length) {
      plan.message = `complete: could not uncordon ${failures.join('; ')}`
      await this.deps.store.put(id, JSON.stringify(plan))
      throw new Failure('cluster_failed', plan.message, plan)
    }
    plan.state = 'completed'
    plan.message = `completed by ${actor}: nodes uncordoned`
    await this.deps.store.put(id, JSON.stringify(plan))
    this.plans.set(id, plan)
    this.publish(id, { type: 'finished', state: plan.state, message: plan.message })
    return plan
  }

  // ---- leadership -------------------------------------------------------------------------

  /** Became leader: resume every active plan from its stored state; keep picking up new ones. */
  startLeading(): void {
    if (this.leading) return
    this.leading = true
    this.leaderAbort = new AbortController()
    const signal = this.leaderAbort.signal
    // Woken by every change to the stored plans (made, cancelled elsewhere); re-read on a slow timer too.
    const changed = new Waker()
    const unsubscribe = this.deps.store.onChange?.(() => changed.wake())
    const resyncMs = this.deps.syncIntervalMs ?? (unsubscribe ? 60_000 : 2000)
    this.syncing = (async () => {
      while (!signal.aborted) {
        changed.take()
        try {
          await this.sync()
        } catch (err) {
          this.deps.log.warn({ err }, 'maintenance: could not read the stored plans; retrying')
        }
        await changed.sleep(this.deps.clock, resyncMs, signal)
      }
    })().finally(() => unsubscribe?.())
  }

  /** Lost the lease (or stopping): stop acting at once; the stored state stays for the next leader. */
  async stopLeading(): Promise<void> {
    if (!this.leading) return
    this.leading = false
    this.leaderAbort.abort()
    const runners = [...this.runners.values()]
    for (const r of runners) r.abandon()
    await Promise.all([this.syncing, ...runners.map((r) => r.done)])
    this.runners.clear()
  }

  private async sync(): Promise<void> {
    const stored = await this.deps.store.list()
    for (const [id, json] of stored) {
      if (id.includes('.')) continue
      const plan = JSON.parse(json) as Maintenance
      const runner = this.runners.get(id)
      if (stored.has(`${id}.cancel`) && runner) {
        const req = JSON.parse(stored.get(`${id}.cancel`)!) as { by: string }
        await runner.cancel(req.by)
        continue
      }
      if (runner) continue
      this.plans.set(id, plan)
      if (!this.leading) return
      if (stored.has(`${id}.cancel`) && ACTIVE_PLAN_STATES.includes(plan.state)) {
        const req = JSON.parse(stored.get(`${id}.cancel`)!) as { by: string }
        cancelPlan(plan, req.by, this.deps.clock.now())
        await this.deps.store.put(id, JSON.stringify(plan))
        continue
      }
      if (ACTIVE_PLAN_STATES.includes(plan.state)) this.startRunner(plan)
    }
  }

  private startRunner(plan: Maintenance): void {
    if (this.runners.has(plan.id) || !this.leading) return
    const runner = new PlanRunner(this, plan)
    this.runners.set(plan.id, runner)
    void runner.done.then(() => { if (this.runners.get(plan.id) === runner && runner.finished) this.runners.delete(plan.id) })
  }

  /** Waits until every running plan here has ended (tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.done))
  }

  // ---- events -----------------------------------------------------------------------------

  publish(id: string, e: Omit<MaintenanceEvent, 'id' | 'at'>): void {
    const event: MaintenanceEvent = { id: ++this.seq, at: iso(this.deps.clock.now()), ...e }
    const h = this.history.get(id) ?? []
    h.push(event)
    if (h.length > 500) h.shift()
    this.history.set(id, h)
    for (const l of this.listeners.get(id) ?? []) l(event)
  }

  /** Events of a plan run here, after `afterId`, then live ones. Returns unsubscribe. */
  subscribe(id: string, afterId: number, fn: (e: MaintenanceEvent) => void): () => void {
    for (const e of this.history.get(id) ?? []) if (e.id > afterId) fn(e)
    const set = this.listeners.get(id) ?? new Set()
    set.add(fn)
    this.listeners.set(id, set)
    return () => { set.delete(fn) }
  }

  /** Whether the plan runs on this replica (its events stream from here). */
  runsHere(id: string): boolean { return this.runners.has(id) }

  setPlan(plan: Maintenance): void { this.plans.set(plan.id, plan) }
}

function cancelPlan(plan: Maintenance, by: string, now: number): void {
  for (const n of plan.nodes) {
    if (FINAL_NODE.includes(n.state)) continue
    const where = n.state === 'pending' ? 'not started: left as it was'
      : n.state === 'draining' ? 'drain interrupted: left cordoned, with the pods not yet evicted'
      : `left cordoned${n.sessions.length ? ` with ${n.sessions.length} session(s) still running` : ''}`
    n.message = `cancelled by ${by} while ${n.state}: ${where}`
    n.state = 'cancelled'
    n.finished_at = iso(now)
  }
  plan.state = 'cancelled'
  plan.message = `cancelled by ${by}`
  plan.updated_at = iso(now)
  plan.finished_at = iso(now)
}

class PlanRunner {
  readonly done: Promise<void>
  finished = false
  private abort = new AbortController()
  private abandoned = false
  private waker = new Waker()
  private drains = new Map<string, Promise<void>>()
  private lastSaved = ''

  constructor(private engine: MaintenanceEngine, readonly plan: Maintenance) {
    const unsubscribe = engine.deps.source.onChange(() => this.waker.wake())
    this.done = this.run().catch((err) => {
      engine.deps.log.warn({ err, maintenance: plan.id }, 'maintenance: plan stopped by an unexpected error')
    }).finally(unsubscribe)
  }

  private get deps() { return this.engine.deps }
  private now(): number { return this.deps.clock.now() }

  /** Stop without writing anything (leadership lost): the next leader continues from the store. */
  abandon(): void {
    this.abandoned = true
    this.abort.abort()
    this.waker.wake()
  }

  async cancel(by: string): Promise<Maintenance> {
    if (!ACTIVE_PLAN_STATES.includes(this.plan.state)) throw new Failure('conflict', `Maintenance ${this.plan.id} is ${this.plan.state}: nothing to cancel`)
    this.abort.abort()
    this.waker.wake()
    // The runner's step under way (an Event, a save) ends first: nothing it writes comes after the
    // cancel's own account of where each node was left.
    await this.done
    await Promise.all(this.drains.values())
    for (const n of this.plan.nodes) {
      if (FINAL_NODE.includes(n.state) || n.state === 'pending') continue
      await this.event(n.name, { reason: 'MaintenanceCancelled', type: 'Warning', message: `Maintenance ${this.plan.id} cancelled by ${by} while ${n.state}; node left cordoned` })
    }
    cancelPlan(this.plan, by, this.now())
    await this.save(true)
    this.engine.publish(this.plan.id, { type: 'finished', state: 'cancelled', message: this.plan.message })
    return this.plan
  }

  private async save(force = false): Promise<void> {
    if (this.abandoned) return
    const same = JSON.stringify({ ...this.plan, updated_at: '' })
    if (!force && same === this.lastSaved) return
    this.plan.updated_at = iso(this.now())
    await this.deps.store.put(this.plan.id, JSON.stringify(this.plan))
    this.lastSaved = same
    this.engine.setPlan(this.plan)
  }

  private async event(node: string, spec: { reason: string; message: string; type?: 'Normal' | 'Warning' }): Promise<void> {
    const obj = this.deps.source.getNode(node) ?? { metadata: { name: node } }
    try {
      await this.deps.recordEvent(obj, spec)
    } catch (err) {
      this.deps.log.warn({ err, node, reason: spec.reason }, 'maintenance: could not record the Event on the node')
    }
  }

  private setNode(n: MaintenanceNode, state: NodeState, message: string): void {
    const changed = n.state !== state
    n.state = state
    n.message = message
    if (changed) this.engine.publish(this.plan.id, { type: 'node', node: n.name, state, message })
  }

  private get stopped(): boolean { return this.abort.signal.aborted }

  private async run(): Promise<void> {
    const plan = this.plan
    for (;;) {
      if (this.stopped) return
      if (plan.state === 'scheduled') {
        const start = Date.parse(plan.start_at)
        if (this.now() < start) {
          await this.deps.clock.sleep(start - this.now(), this.abort.signal)
          continue
        }
        plan.state = 'running'
        plan.message = 'running'
        this.engine.publish(plan.id, { type: 'state', state: 'running', message: `maintenance started: ${plan.reason}` })
        await this.save()
      }
      const failedFirst = plan.nodes.find((n) => n.state === 'failed')
      if (failedFirst) {
        // A failed node stops the plan: nothing more starts; drains under way end first.
        await Promise.all(this.drains.values())
        if (this.stopped) return
        for (const n of plan.nodes) {
          if (n.state === 'pending' || n.state === 'cordoned' || n.state === 'waiting_for_sessions') {
            n.message = `plan stopped (node ${failedFirst.name} failed) while ${n.state}${n.state === 'pending' ? ': not started' : ': left cordoned'}`
            n.state = 'cancelled'
            n.finished_at = iso(this.now())
          }
        }
        return this.finish('failed', `node ${failedFirst.name} failed: ${failedFirst.message}; the plan stopped, the node is left cordoned`)
      }
      // Start nodes up to max_unavailable.
      let active = plan.nodes.filter((n) => ACTIVE_NODE_STATES.includes(n.state)).length
      for (const n of plan.nodes) {
        if (active >= plan.max_unavailable || this.stopped) break
        if (n.state !== 'pending') continue
        await this.cordon(n)
        active++
        if ((n.state as NodeState) === 'failed') break
      }
      for (const n of plan.nodes) {
        if (this.stopped) return
        if (n.state === 'cordoned' || n.state === 'waiting_for_sessions') await this.sessions(n)
        if (n.state === 'draining' && !this.drains.has(n.name)) this.startDrain(n)
      }
      if (this.stopped) return
      if (plan.nodes.some((n) => n.state === 'failed')) continue
      if (plan.nodes.every((n) => n.state === 'drained')) return this.finish('succeeded', `all ${plan.nodes.length} node(s) drained; POST .../complete uncordons them after the work`)
      await this.save()
      await this.waitForChange()
    }
  }

  /** Until the watch caches change, a drain ends, or the session deadline comes. */
  private async waitForChange(): Promise<void> {
    const until: number[] = []
    const deadline = this.plan.session_deadline ? Date.parse(this.plan.session_deadline) : undefined
    const waiting = this.plan.nodes.some((n) => n.state === 'cordoned' || n.state === 'waiting_for_sessions')
    if (deadline !== undefined && waiting && this.now() < deadline) until.push(deadline)
    // Hibernated sessions whose pods do not go: checked again at their timeout.
    const hibernateBy = this.hibernateTimeout()
    if (hibernateBy !== undefined && this.now() < hibernateBy) until.push(hibernateBy)
    await this.waker.sleep(this.deps.clock, Math.min(...until) - this.now())
    this.waker.take()
  }

  private hibernateTimeoutMs(): number { return (this.plan.drain.timeout_seconds ?? 300) * 1000 }

  private hibernateTimeout(): number | undefined {
    let first: number | undefined
    for (const n of this.plan.nodes) {
      if (n.state !== 'waiting_for_sessions') continue
      for (const s of n.sessions) {
        if (!s.hibernated_at) continue
        const t = Date.parse(s.hibernated_at) + this.hibernateTimeoutMs()
        first = first === undefined ? t : Math.min(first, t)
      }
    }
    return first
  }

  private async cordon(n: MaintenanceNode): Promise<void> {
    const plan = this.plan
    try {
      await this.deps.cordon(n.name, plan.created_by, `maintenance ${plan.id}: ${plan.reason}`)
    } catch (err) {
      this.setNode(n, 'failed', `cordon failed: ${(err as Error).message}`)
      n.finished_at = iso(this.now())
      await this.save()
      return
    }
    n.cordoned_by_plan = true
    n.cordoned_at = iso(this.now())
    this.setNode(n, 'cordoned', `cordoned: ${plan.reason}`)
    await this.save()
    await this.event(n.name, { reason: 'MaintenanceCordoned', message: `Maintenance ${plan.id} by ${plan.created_by}: node cordoned (${plan.reason}); session policy ${plan.session_policy}` })
  }

  /** Session pods still on the node: not finished (terminating ones are still someone's desktop until gone). */
  private sessionPods(node: string): SlimPod[] {
    return [...this.deps.source.podsOnNode(node)].filter((p) => p.session && p.phase !== 'Succeeded' && p.phase !== 'Failed')
  }

  private async sessions(n: MaintenanceNode): Promise<void> {
    const plan = this.plan
    const now = this.now()
    const pods = this.sessionPods(n.name)
    const before = new Map(n.sessions.map((s) => [s.pod, s]))
    const current: SessionOnNode[] = pods.map((p) => before.get(sessionKey(p)) ?? {
      pod: sessionKey(p), session: p.labels?.session ?? null, user: p.labels?.user ?? null,
    })
    const gone = n.sessions.filter((s) => !current.some((c) => c.pod === s.pod))
    const endedByThemselves = gone.filter((s) => !s.hibernated_at).length
    if (endedByThemselves) {
      n.sessions_ended += endedByThemselves
      this.deps.metrics?.sessionsWaited(endedByThemselves)
    }
    n.sessions = current
    if (!current.length) {
      if (n.waiting_since) this.deps.metrics?.waitedSeconds((now - Date.parse(n.waiting_since)) / 1000)
      this.setNode(n, 'draining', n.state === 'waiting_for_sessions' ? 'no sessions left: draining' : 'no sessions on the node: draining')
      return
    }
    if (n.state !== 'waiting_for_sessions') {
      n.waiting_since = iso(now)
      this.setNode(n, 'waiting_for_sessions', '')
      await this.event(n.name, { reason: 'MaintenanceWaitingForSessions', message: `Maintenance ${plan.id}: waiting for ${current.length} session(s) to end: ${current.map((s) => `${s.session ?? s.pod} (${s.user ?? 'unknown user'})`).join(', ')}` })
    }
    n.message = `waiting for ${current.length} session(s): ${current.map((s) => `${s.session ?? s.pod} of ${s.user ?? 'unknown user'}${s.hibernated_at ? ' (hibernating)' : ''}`).join(', ')}`
    const deadline = plan.session_deadline ? Date.parse(plan.session_deadline) : undefined
    if (deadline === undefined || now < deadline) return
    if (plan.session_policy === 'wait') {
      this.fail(n, `session deadline ${plan.session_deadline} passed with ${current.length} session(s) still running (session_policy wait): ${current.map((s) => `${s.session ?? s.pod} of ${s.user ?? 'unknown user'}`).join(', ')}`)
      return
    }
    if (plan.session_policy === 'evict') {
      if (n.waiting_since) this.deps.metrics?.waitedSeconds((now - Date.parse(n.waiting_since)) / 1000)
      this.setNode(n, 'draining', `session deadline passed: draining with ${current.length} session(s) still running (session_policy evict)`)
      return
    }
    // hibernate
    const fresh = current.filter((s) => !s.hibernated_at)
    for (const s of fresh) {
      if (!s.session) {
        this.fail(n, `session pod ${s.pod} has no "session" label: its Session resource cannot be hibernated`)
        return
      }
      const ns = s.pod.split('/')[0]
      try {
        await this.deps.hibernate(ns, s.session)
      } catch (err) {
        if (this.stopped) return
        this.fail(n, `could not hibernate session ${ns}/${s.session} of ${s.user ?? 'unknown user'}: ${(err as Error).message}`)
        return
      }
      s.hibernated_at = iso(now)
      n.sessions_hibernated++
      this.deps.metrics?.sessionsHibernated(1)
      if (this.stopped) return
    }
    if (fresh.length) {
      await this.event(n.name, { reason: 'MaintenanceSessionsHibernated', message: `Maintenance ${plan.id}: session deadline passed; hibernated ${fresh.map((s) => `${s.session} (${s.user ?? 'unknown user'})`).join(', ')}` })
      this.engine.publish(plan.id, { type: 'node', node: n.name, state: n.state, message: `hibernated ${fresh.length} session(s)` })
    }
    const late = current.filter((s) => s.hibernated_at && now >= Date.parse(s.hibernated_at) + this.hibernateTimeoutMs())
    if (late.length) this.fail(n, `hibernated session(s) still on the node after ${this.hibernateTimeoutMs() / 1000} s: ${late.map((s) => s.pod).join(', ')}`)
  }

  private fail(n: MaintenanceNode, why: string): void {
    this.setNode(n, 'failed', why)
    n.finished_at = iso(this.now())
    void this.event(n.name, { reason: 'MaintenanceFailed', type: 'Warning', message: `Maintenance ${this.plan.id}: ${why}; node left cordoned` })
  }

  private startDrain(n: MaintenanceNode): void {
    const plan = this.plan
    n.drain_started_at ??= iso(this.now())
    const p = (async () => {
      await this.save()
      await this.event(n.name, { reason: 'MaintenanceDraining', message: `Maintenance ${plan.id}: draining the node` })
      try {
        const result = await this.deps.drain(n.name, { ...plan.drain, dry_run: false, wait: true }, `${plan.created_by} (maintenance ${plan.id})`, this.abort.signal)
        if (this.stopped) return
        n.pods_evicted += result.evicted.length
        n.finished_at = iso(this.now())
        this.setNode(n, 'drained', `drained: ${result.evicted.length} pod(s) evicted in ${result.duration_seconds} s`)
        await this.event(n.name, { reason: 'MaintenanceDrained', message: `Maintenance ${plan.id}: node drained, ready for maintenance (${plan.reason})` })
      } catch (err) {
        if (this.stopped) return
        // The service is stopping: the drain was interrupted, not failed. The next leader drains on.
        if (this.deps.isStopping?.()) return this.abandon()
        this.fail(n, `drain failed: ${(err as Error).message}`)
      }
    })().finally(() => {
      this.drains.delete(n.name)
      this.waker.wake()
    })
    this.drains.set(n.name, p)
  }

  private async finish(state: 'succeeded' | 'failed', message: string): Promise<void> {
    const plan = this.plan
    await Promise.all(this.drains.values())
    if (this.stopped) return
    plan.state = state
    plan.message = message
    plan.finished_at = iso(this.now())
    await this.save()
    this.finished = true
    this.engine.publish(plan.id, { type: 'finished', state, message })
  }
}
