// One plan run by the leader, node by node (at most max_unavailable at once):
//   pending -> cordoned (with the plan's reason) -> waiting_for_sessions (each remaining session
//   and its user, from the watch cache: woken by its changes, never by polling the API)
//   -> at session_deadline: wait: the node fails; hibernate: each remaining Session gets
//      spec.state=hibernated and its pod goes through its Deployment; evict: the drain takes them
//   -> draining (the existing drain: kubectl's guarantees) -> drained; then the next node.
// A failed node stops the plan and stays cordoned. Every step is written to the plan's status
// (the engine's writeStatus), so a new leader continues from the last step written; each step
// first looks at the node's actual state (a cordoned node is not cordoned again; a drain evicts
// only what is left), so nothing is done twice. Before each step that changes the cluster the
// runner checks that this replica still leads (fencing): if not, it stops without writing.
import { Waker } from '../clock.js'
import type { SlimPod } from '../kube/types.js'
import { ACTIVE_NODE_STATES, ACTIVE_PLAN_STATES, type Maintenance, type MaintenanceNode, type NodeState, type SessionOnNode } from './types.js'
import type { PlanObject } from './objects.js'
import type { MaintenanceDeps } from './deps.js'
import { Failure } from '../errors.js'

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
const FINAL_NODE: readonly NodeState[] = ['drained', 'failed', 'cancelled']
const sessionKey = (p: SlimPod) => `${p.namespace}/${p.name}`

export function cancelPlan(plan: Maintenance, by: string, now: number): void {
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

/** What a runner needs of the engine that runs it. */
export interface RunnerHost {
  readonly deps: MaintenanceDeps
  /** Writes the runner's plan as its object's status (conditional on the resourceVersion it holds). */
  writeStatus(runner: PlanRunner): Promise<void>
  lastError: string | undefined
}

export class PlanRunner {
  readonly done: Promise<void>
  finished = false
  /** Ended by an error (a status it could not write): the engine starts it again from the stored status. */
  failed = false
  private abort = new AbortController()
  private abandoned = false
  private waker = new Waker()
  private drains = new Map<string, Promise<void>>()
  private lastSaved = ''

  /** `obj`: the plan's object as last read or written (its resourceVersion makes the next status write conditional). */
  constructor(private engine: RunnerHost, readonly plan: Maintenance, public obj: PlanObject) {
    this.lastSaved = JSON.stringify({ ...plan, updated_at: '' })
    const unsubscribe = engine.deps.source.onChange(() => this.waker.wake())
    this.done = this.run().catch((err) => {
      this.failed = true
      engine.lastError = (err as Error).message
      engine.deps.log.warn({ err, maintenance: plan.id }, 'maintenance: plan stopped by an unexpected error; the leader resumes it from its stored status')
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
    return this.plan
  }

  /** Writes the plan's status if it changed (every replica reads it, a new leader resumes from it). */
  private async save(force = false): Promise<void> {
    if (this.abandoned) return
    const same = JSON.stringify({ ...this.plan, updated_at: '' })
    if (!force && same === this.lastSaved) return
    this.plan.updated_at = iso(this.now())
    await this.engine.writeStatus(this)
    this.lastSaved = same
  }

  /** Fencing: false once this replica may no longer lead; the runner then stops without writing. */
  private async leads(): Promise<boolean> {
    if (await (this.deps.confirmLeading?.() ?? true)) return true
    this.abandon()
    return false
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
    n.state = state
    n.message = message
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
        plan.message = `maintenance started: ${plan.reason}`
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
    if (!(await this.leads())) return
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
      if (!(await this.leads())) return
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
      if (!(await this.leads())) return
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
    })().catch((err) => {
      // The step's status write failed (before the drain): stop as run() does on one, never unhandled
      // (that made the replica exit); the engine resumes the plan from its stored status.
      this.failed = true
      this.engine.lastError = (err as Error).message
      this.deps.log.warn({ err, maintenance: plan.id, node: n.name }, 'maintenance: could not record the draining step; the leader resumes the plan from its stored status')
      this.abandon()
    }).finally(() => {
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
  }
}
