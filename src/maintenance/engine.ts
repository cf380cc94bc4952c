// Session-aware maintenance plans as NodeMaintenance objects (design: "Several replicas"). Any
// replica creates a plan (spec), cancels it (spec.cancel) or completes it (spec.complete), and
// answers from the same informer; only the leader, once every cache it reads has synced,
// reconciles: it accepts a new plan (the same checks as POST, so `kubectl apply` gets them too,
// reported as the condition Accepted), runs it (./runner.ts) and writes its status, uncordons on
// complete, and deletes finished plans after their TTL and beyond the newest 100.
//
// No Fastify, no HTTP codes: refusals are Failures (src/errors.ts) that one plugin maps to HTTP.
import { randomBytes } from 'node:crypto'
import { Failure } from '../errors.js'
import { Waker } from '../clock.js'
import type { ClusterObjects } from '../kube/custom-objects.js'
import { isConflict } from '../kube/errors.js'
import { matches, parseSelector } from '../kube/selector.js'
import { ACTIVE_PLAN_STATES, type FitReport, type Maintenance, type MaintenanceEvent, type MaintenanceRequest } from './types.js'
import {
  FINAL_PLAN_STATES, boundFit, pendingNode, planOf, requestOf, specOf, statusOf, withCondition, type PlanObject, type PlanSpec, type PlanStatus,
} from './objects.js'
import { PlanRunner, cancelPlan, type RunnerHost } from './runner.js'
import { followPlan } from './follow.js'
import type { EventStream } from '../shared/event-stream.js'
import type { MaintenanceDeps } from './deps.js'

export type { LegacyPlans, MaintenanceDeps, MaintenanceMetrics, MaintenanceSource } from './deps.js'

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
const DAY_S = 86_400
/** After a runner died of an error (the API server down), the leader starts it again after this. */
const RESTART_AFTER_MS = 5_000

export function parseTime(field: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback
  const t = Date.parse(value)
  if (Number.isNaN(t)) throw new Failure('invalid', `${field}: not an RFC 3339 time: ${JSON.stringify(value)}`)
  return t
}

export class MaintenanceEngine implements RunnerHost {
  private runners = new Map<string, PlanRunner>()
  private leading = false
  private leaderAbort = new AbortController()
  private reconciling?: Promise<void>
  /** Wakes the leader's reconcile loop: a change in the informer, a runner to restart. */
  private changed = new Waker()
  private readonly objects: ClusterObjects<PlanSpec, PlanStatus>

  constructor(readonly deps: MaintenanceDeps) {
    this.objects = deps.objects
  }

  get isLeading(): boolean { return this.leading }

  // ---- reads (every replica, from the informer) ---------------------------------------------

  /** Reads need the informer's first list: before it, "none" would be a guess. */
  private readable(): void {
    if (this.objects.synced) return
    const why = this.objects.informer.lastError
    throw new Failure('unavailable', `maintenance plans not read from the cluster yet${why ? `: ${why}` : ''}`)
  }

  list(): Maintenance[] {
    this.readable()
    return this.objects.list().map(planOf)
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id))
  }

  get(id: string): Maintenance {
    this.readable()
    const obj = this.objects.get(id)
    if (!obj) throw new Failure('not_found', `Maintenance ${id} not found`)
    return planOf(obj)
  }

  /** Whether the pods of these nodes would fit on the other schedulable nodes (null without a fit check). */
  fit(nodes: string[]): FitReport | null {
    return this.deps.fit ? this.deps.fit(nodes) : null
  }

  /** Plans by state, as this replica sees them (metrics). */
  countsByState(): Map<string, number> {
    const out = new Map<string, number>()
    for (const o of this.objects.list()) {
      const state = o.status?.state ?? 'scheduled'
      out.set(state, (out.get(state) ?? 0) + 1)
    }
    return out
  }

  /** Whether the plan runs on this replica. */
  runsHere(id: string): boolean { return this.runners.has(id) }

  /** Plans running on this replica: the only per-plan state kept in memory. */
  get runningCount(): number { return this.runners.size }

  /** The plan now, then each of its steps after `afterId`, as any replica's informer sees them (./follow.ts); not_found for an unknown id. */
  events(id: string, afterId: number): EventStream<MaintenanceEvent> {
    const plan = this.get(id)
    return { first: plan, follow: (onStep, onEnd) => followPlan(this.objects, plan, afterId, onStep, onEnd) }
  }

  // ---- create, cancel, complete (any replica writes spec) -----------------------------------

  /**
   * The checks every plan passes before anything starts (4xx naming the problem): for POST, and
   * for the leader accepting a plan someone applied with kubectl. Returns the nodes and the fit.
   */
  check(req: MaintenanceRequest, self?: string): { names: string[]; fit: FitReport | null; startAt: number; deadline: number | null } {
    const now = this.deps.clock.now()
    const startAt = parseTime('start_at', req.start_at, now)
    const deadline = req.session_deadline ? parseTime('session_deadline', req.session_deadline, now) : null
    const policy = req.session_policy ?? 'wait'
    const maxUnavailable = req.max_unavailable ?? 1
    if (!req.reason?.trim()) throw new Failure('invalid', 'reason: required (why the nodes go into maintenance)')
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
    // A node in another active plan: refused (two plans would fight over its cordon). Plans not
    // yet accepted count only for POST: the leader accepts in creation order.
    for (const o of this.objects.list()) {
      if (o.metadata.name === self || (self !== undefined && !o.status?.state)) continue
      const p = planOf(o)
      if (!ACTIVE_PLAN_STATES.includes(p.state) || o.spec?.cancel) continue
      const busy = p.nodes.filter((n) => names.includes(n.name) && ['pending', 'cordoned', 'waiting_for_sessions', 'draining'].includes(n.state)).map((n) => n.name)
      if (busy.length) throw new Failure('conflict', `nodes: ${busy.join(', ')} already in maintenance ${p.id} (${p.state}); cancel it or wait for it to end`, { maintenance: p.id, nodes: busy })
    }
    const fit = this.deps.fit ? this.deps.fit(names) : null
    if (fit && !fit.fits && !req.force) {
      throw new Failure('refused', `pods would find no room on the nodes that stay schedulable: ${fit.unplaced.slice(0, 20).map((u) => `${u.pod}${u.session_user ? ` (session of ${u.session_user})` : ''}: ${u.reason}`).join('; ')}${fit.unplaced.length > 20 ? ` and ${fit.unplaced.length - 20} more` : ''}; add more room, choose fewer nodes, or force`, { fit: boundFit(fit) })
    }
    return { names, fit, startAt, deadline }
  }

  /** Validates (4xx naming the problem, nothing written), then creates the NodeMaintenance; the leader runs it. */
  async create(req: MaintenanceRequest, actor: string): Promise<Maintenance> {
    const { names, fit, startAt } = this.check(req)
    const id = this.deps.newId?.() ?? `m-${randomBytes(4).toString('hex')}`
    // start_at written out: "now" is this replica's clock, not the API server's creationTimestamp.
    const obj = await this.objects.create(id, specOf({ ...req, reason: req.reason.trim(), start_at: iso(startAt) }, actor))
    // Until the leader accepts it, the answer shows what it will do.
    return { ...planOf(obj), nodes: names.map(pendingNode), fit }
  }

  /** Cancels: nothing more is done; each node's state says where it was left. Waits for the leader's account. */
  async cancel(id: string, actor: string): Promise<Maintenance> {
    this.readable()
    const obj = this.objects.get(id)
    if (!obj) throw new Failure('not_found', `Maintenance ${id} not found`)
    const plan = planOf(obj)
    if (!ACTIVE_PLAN_STATES.includes(plan.state)) throw new Failure('conflict', `Maintenance ${id} is ${plan.state}: nothing to cancel`)
    if (!obj.spec.cancel) await this.objects.patchSpec(id, { cancel: true, cancelledBy: actor })
    const seen = await this.objects.waitFor(id, (o) => !o || !ACTIVE_PLAN_STATES.includes(o.status?.state ?? 'scheduled'), AbortSignal.timeout(this.deps.answerWaitMs ?? 30_000))
    if (!seen) throw new Failure('not_found', `Maintenance ${id} not found`)
    if (ACTIVE_PLAN_STATES.includes(seen.status?.state ?? 'scheduled')) throw this.unanswered(`the cancel of ${id} is recorded`)
    return planOf(seen)
  }

  /** Uncordons the plan's nodes (those it cordoned) and clears their cordon reason: the leader does it. */
  async complete(id: string, actor: string): Promise<Maintenance> {
    this.readable()
    const obj = this.objects.get(id)
    if (!obj) throw new Failure('not_found', `Maintenance ${id} not found`)
    const plan = planOf(obj)
    if (ACTIVE_PLAN_STATES.includes(plan.state)) throw new Failure('conflict', `Maintenance ${id} is ${plan.state}: cancel it first, or wait until it ends`)
    if (plan.state === 'completed') return plan
    const asked = obj.spec.complete ? obj : await this.objects.patchSpec(id, { complete: true, completedBy: actor })
    const generation = asked.metadata.generation ?? 0
    const answered = (o: PlanObject | undefined) => !o || o.status?.state === 'completed' ||
      (o.status?.conditions ?? []).some((c) => c.type === 'Completed' && c.status === 'False' && (c.observedGeneration ?? 0) >= generation)
    const seen = await this.objects.waitFor(id, answered, AbortSignal.timeout(this.deps.answerWaitMs ?? 30_000))
    if (!seen) throw new Failure('not_found', `Maintenance ${id} not found`)
    if (!answered(seen)) throw this.unanswered(`the complete of ${id} is recorded`)
    const failed = seen.status?.state !== 'completed' && seen.status?.conditions?.find((c) => c.type === 'Completed' && c.status === 'False')
    if (failed) throw new Failure('cluster_failed', failed.message, planOf(seen))
    return planOf(seen)
  }

  /** 503: the leader has not answered in time (none, or it fails; here we may know why). */
  private unanswered(what: string): Failure {
    const why = this.leading && this.lastError ? `: ${this.lastError}` : ''
    return new Failure('unavailable', `${what} (spec), but the leader has not acted on it within ${(this.deps.answerWaitMs ?? 30_000) / 1000} s${why}`)
  }

  // ---- the leader ---------------------------------------------------------------------------

  /** The leader's last reconcile failure (cleared by a pass that succeeds). */
  lastError: string | undefined

  /** Became leader: once the caches have synced, reconcile every plan on each change (and on a slow timer). */
  startLeading(): void {
    if (this.leading) return
    this.leading = true
    this.leaderAbort = new AbortController()
    const signal = this.leaderAbort.signal
    const changed = this.changed = new Waker()
    const unsubscribe = this.objects.onChange(() => changed.wake())
    this.reconciling = (async () => {
      // client-go's WaitForCacheSync: nothing is decided on a cache that has not listed yet.
      await Promise.race([Promise.all([this.objects.whenSynced(), this.deps.source.whenSynced()]), new Promise((r) => signal.addEventListener('abort', r, { once: true }))])
      if (signal.aborted) return
      await this.importLegacy()
      while (!signal.aborted) {
        changed.take()
        let wakeIn = this.deps.resyncMs ?? 60_000
        try {
          wakeIn = Math.min(wakeIn, await this.reconcileAll(signal))
          this.lastError = undefined
        } catch (err) {
          this.lastError = (err as Error).message
          this.deps.log.warn({ err }, 'maintenance: reconcile failed; retrying')
          wakeIn = RESTART_AFTER_MS
        }
        await changed.sleep(this.deps.clock, wakeIn, signal)
      }
    })().finally(unsubscribe)
  }

  /** Lost the lease (or stopping): every runner has stopped before this resolves; status stays for the next leader. */
  async stopLeading(): Promise<void> {
    if (!this.leading) return
    this.leading = false
    this.leaderAbort.abort()
    const runners = [...this.runners.values()]
    for (const r of runners) r.abandon()
    await Promise.all([this.reconciling, ...runners.map((r) => r.done)])
    this.runners.clear()
  }

  /** One pass over every plan; returns in how many ms the next pass is due (a TTL, a runner restart). */
  private async reconcileAll(signal: AbortSignal): Promise<number> {
    let due = Infinity
    // Oldest first: of two plans over one node, the first made is accepted.
    const objs = this.objects.list().sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name))
    for (const obj of objs) {
      if (signal.aborted) return due
      due = Math.min(due, await this.reconcile(obj))
    }
    return Math.min(due, await this.collect(signal))
  }

  private async reconcile(obj: PlanObject): Promise<number> {
    const id = obj.metadata.name
    if (obj.metadata.deletionTimestamp) return Infinity
    const runner = this.runners.get(id)
    if (runner) {
      if (obj.spec.cancel && !runner.finished) await runner.cancel(obj.spec.cancelledBy ?? 'unknown').catch(() => undefined)
      return Infinity
    }
    const state = obj.status?.state
    if (!state) return this.accept(obj)
    if (ACTIVE_PLAN_STATES.includes(state)) {
      const plan = planOf(obj)
      if (obj.spec.cancel) {
        cancelPlan(plan, obj.spec.cancelledBy ?? 'unknown', this.deps.clock.now())
        await this.write(obj, plan)
        return Infinity
      }
      this.startRunner(plan, obj)
      return Infinity
    }
    if (obj.spec.complete && state !== 'completed') await this.completeNow(obj)
    return Infinity
  }

  /** A new plan: the POST checks again (a kubectl-applied one gets them here), then Accepted and run. */
  private async accept(obj: PlanObject): Promise<number> {
    const now = this.deps.clock.now()
    const generation = obj.metadata.generation
    let plan: Maintenance
    try {
      const { names, fit } = this.check(requestOf(obj.spec ?? ({} as PlanSpec)), obj.metadata.name)
      plan = { ...planOf(obj), nodes: names.map(pendingNode), fit, updated_at: iso(now) }
      plan.message = Date.parse(plan.start_at) > now ? `starts at ${plan.start_at}` : 'starting'
    } catch (err) {
      if (!(err instanceof Failure)) throw err
      const refused: Maintenance = { ...planOf(obj), state: 'failed', message: `refused: ${err.message}`, finished_at: iso(now), updated_at: iso(now), nodes: [] }
      await this.write(obj, refused, withCondition(obj.status?.conditions, { type: 'Accepted', status: 'False', reason: 'Refused', message: err.message, observedGeneration: generation }, iso(now)))
      return Infinity
    }
    if (obj.spec.cancel) cancelPlan(plan, obj.spec.cancelledBy ?? 'unknown', now)
    const written = await this.write(obj, plan, withCondition(obj.status?.conditions, { type: 'Accepted', status: 'True', reason: 'Accepted', message: `${plan.nodes.length} node(s)`, observedGeneration: generation }, iso(now)))
    if (written && ACTIVE_PLAN_STATES.includes(plan.state)) this.startRunner(plan, written)
    return Infinity
  }

  /** complete: uncordon what the plan cordoned; a failure is the condition Completed=False (retried each pass). */
  private async completeNow(obj: PlanObject): Promise<void> {
    const plan = planOf(obj)
    const actor = obj.spec.completedBy ?? 'unknown'
    const failures: string[] = []
    for (const n of plan.nodes) {
      if (!n.cordoned_by_plan) continue
      if (!(await (this.deps.confirmLeading?.() ?? true))) return
      try {
        await this.deps.uncordon(n.name, actor)
        n.message = `${n.message}; uncordoned by ${actor}`
        n.cordoned_by_plan = false
      } catch (err) {
        failures.push(`${n.name}: ${(err as Error).message}`)
      }
    }
    const now = iso(this.deps.clock.now())
    plan.updated_at = now
    const generation = obj.metadata.generation
    if (failures.length) {
      const message = `complete: could not uncordon ${failures.join('; ')}`
      await this.write(obj, plan, withCondition(obj.status?.conditions, { type: 'Completed', status: 'False', reason: 'UncordonFailed', message, observedGeneration: generation }, now))
      return
    }
    plan.state = 'completed'
    plan.message = `completed by ${actor}: nodes uncordoned`
    await this.write(obj, plan, withCondition(obj.status?.conditions, { type: 'Completed', status: 'True', reason: 'Uncordoned', message: plan.message, observedGeneration: generation }, now))
  }

  /** Deletes finished plans past their TTL, and the oldest beyond keepFinished. Returns when the next TTL ends. */
  private async collect(signal: AbortSignal): Promise<number> {
    const now = this.deps.clock.now()
    const finished = this.objects.list().filter((o) => o.status?.state && FINAL_PLAN_STATES.includes(o.status.state) && o.status.finishedAt)
      .sort((a, b) => Date.parse(b.status!.finishedAt!) - Date.parse(a.status!.finishedAt!))
    let due = Infinity
    for (const [i, o] of finished.entries()) {
      if (signal.aborted) break
      const ttlMs = (o.spec?.ttlSecondsAfterFinished ?? this.deps.ttlSecondsAfterFinished ?? 7 * DAY_S) * 1000
      const expires = Date.parse(o.status!.finishedAt!) + ttlMs
      if (expires > now && i < (this.deps.keepFinished ?? 100)) {
        due = Math.min(due, expires - now)
        continue
      }
      try {
        await this.objects.delete(o.metadata.name, o.metadata.uid)
      } catch (err) {
        this.deps.log.warn({ err, maintenance: o.metadata.name }, 'maintenance: could not delete a finished plan')
      }
    }
    return due
  }

  private startRunner(plan: Maintenance, obj: PlanObject): void {
    if (this.runners.has(plan.id) || !this.leading) return
    const runner = new PlanRunner(this, plan, obj)
    this.runners.set(plan.id, runner)
    void runner.done.then(() => {
      if (this.runners.get(plan.id) !== runner) return
      this.runners.delete(plan.id)
      // Died of an error (its status could not be written): a later pass resumes it from the stored status.
      if (runner.failed) void this.deps.clock.sleep(RESTART_AFTER_MS, this.leaderAbort.signal).then(() => this.changed.wake())
    })
  }

  /** A runner's plan to its object's status, conditional on the resourceVersion it holds (re-read on 409). */
  async writeStatus(runner: PlanRunner): Promise<void> {
    const written = await this.write(runner.obj, runner.plan)
    if (written) runner.obj = written
    else runner.abandon()
  }

  /**
   * Writes `plan` as the object's status. A 409 (spec changed, e.g. cancel) reads the object again
   * and writes once more; the next pass sees the change. Undefined when the object is gone.
   */
  private async write(obj: PlanObject, plan: Maintenance, conditions = obj.status?.conditions ?? []): Promise<PlanObject | undefined> {
    let current = obj
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.objects.writeStatus(current, statusOf(plan, current.metadata.generation, conditions))
      } catch (err) {
        if (!isConflict(err) || attempt >= 3) throw err
        const fresh = await this.objects.read(obj.metadata.name)
        if (!fresh || fresh.metadata.uid !== obj.metadata.uid) return undefined
        current = fresh
      }
    }
  }

  /** The ConfigMap of plans made before NodeMaintenance objects: each becomes an object (once), then its key goes. */
  private async importLegacy(): Promise<void> {
    const legacy = this.deps.legacy
    if (!legacy) return
    let stored: Map<string, string>
    try {
      stored = await legacy.read()
    } catch (err) {
      this.deps.log.warn({ err }, 'maintenance: could not read the plans ConfigMap of an earlier version; not imported')
      return
    }
    const imported: string[] = []
    for (const [key, json] of stored) {
      if (key.includes('.')) continue
      try {
        const plan = JSON.parse(json) as Maintenance
        if (!this.objects.get(plan.id)) {
          const cancel = stored.get(`${key}.cancel`)
          const spec: PlanSpec = {
            ...specOf({
              ...(plan.node_selector ? { node_selector: plan.node_selector } : { nodes: plan.nodes.map((n) => n.name) }),
              reason: plan.reason, start_at: plan.start_at, session_policy: plan.session_policy, max_unavailable: plan.max_unavailable,
              drain: plan.drain, force: plan.force, ...(plan.session_deadline ? { session_deadline: plan.session_deadline } : {}),
            }, plan.created_by),
            ...(cancel ? { cancel: true, cancelledBy: (JSON.parse(cancel) as { by?: string }).by ?? 'unknown' } : {}),
          }
          const obj = await this.objects.create(plan.id, spec)
          await this.write(obj, plan, [{ type: 'Accepted', status: 'True', reason: 'Imported', message: 'imported from the plans ConfigMap of an earlier version', lastTransitionTime: iso(this.deps.clock.now()), observedGeneration: obj.metadata.generation }])
        }
        imported.push(key, `${key}.cancel`)
      } catch (err) {
        this.deps.log.warn({ err, maintenance: key }, 'maintenance: could not import a plan of an earlier version; left in the ConfigMap')
      }
    }
    if (imported.length) {
      await legacy.remove(imported)
      this.deps.log.info({ plans: imported.length / 2 }, 'maintenance: imported the plans of an earlier version into NodeMaintenance objects')
    }
  }

  /** Waits until every running plan here has ended (tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.done))
  }
}
