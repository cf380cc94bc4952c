// One drain of one node, kubectl drain's way: cordon, list the node's pods, judge them with
// kubectl's filters (refuse before evicting anything), then evict (or delete) them all in
// parallel with a bound on requests in flight, retrying PodDisruptionBudget refusals (429) with
// backoff, and wait for them to be gone by watch. timeout_seconds bounds the whole of it.
// The run keeps a live DrainStatus and a numbered list of events for GET /drain and SSE.
import { setMaxListeners } from 'node:events'
import { Failure, invalid, isFailure, nodeNotFound, type FailureKind } from '../errors.js'
import type { KubeClients } from '../kube/client.js'
import { apiStatus, kubeStatusOf, toKubeError } from '../kube/errors.js'
import type { NodeEventSpec, NodeRef } from '../kube/events.js'
import { patchNodeUnschedulable } from '../kube/node-patches.js'
import { deletePod, evictionApiVersion, evictPod, listPodDisruptionBudgets } from '../kube/pods.js'
import { pdbOutlook, planDrain, type DrainPlan, type PdbOutlook, type PlannedPod } from './plan.js'
import { labelSelectorMatches, parseSelector } from '../kube/selector.js'
import { PodGoneTracker } from './tracker.js'
import type {
  Clock, DrainEvent, DrainOptions, DrainResult, DrainStatus, PendingPod, ResolvedDrainOptions,
} from './types.js'
import { resolveOptions } from './types.js'

export const DEFAULT_SESSION_SELECTOR = 'app=streamspace-session'

export interface DrainDeps {
  clients: KubeClients
  clock: Clock
  /** Pods that are StreamSpace sessions. Default app=streamspace-session. */
  sessionSelector?: string
  /** Eviction/deletion requests in flight at once. Default 50. */
  maxInFlight?: number
  /** Pods per page when listing the node's pods. Default 500. */
  podPageSize?: number
  /** Records the start and the outcome as Kubernetes Events on the node, when wired. */
  recordEvent?: (node: NodeRef, event: NodeEventSpec) => Promise<unknown>
  log?: { warn(obj: object, msg: string): void }
}

const MAX_EVENTS = 10_000

/** Reasons of the Kubernetes Events a drain records on its node, by outcome. */
export const EVENT_REASONS: Record<DrainStatus['phase'], string> = {
  none: 'NodeDrainStarted',
  queued: 'NodeDrainStarted',
  running: 'NodeDrainStarted',
  succeeded: 'NodeDrained',
  refused: 'NodeDrainRefused',
  timed_out: 'NodeDrainTimedOut',
  failed: 'NodeDrainFailed',
  interrupted: 'NodeDrainInterrupted',
}
const round3 = (x: number) => Math.round(x * 1000) / 1000
const backoffMs = (attempt: number) => Math.min(5000, 500 * 2 ** attempt)

/** A semaphore: at most n calls of fn at once; a freed slot passes straight to the next waiter. */
function limiter(n: number) {
  let active = 0
  const queue: Array<() => void> = []
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active < n) active++
    else await new Promise<void>((r) => queue.push(r))
    try {
      return await fn()
    } finally {
      const next = queue.shift()
      if (next) next()
      else active--
    }
  }
}

export class DrainRun {
  readonly options: ResolvedDrainOptions
  readonly events: DrainEvent[] = []
  private listeners = new Set<(e: DrainEvent) => void>()
  private pending = new Map<string, PendingPod>()
  private st: DrainStatus
  private t0: number
  private sessionSelector
  private pdbs = new Map<string, Promise<Array<{ name: string; selector: unknown }>>>()
  private sessionKeys = new Set<string>()
  /** Set once the run has ended, whatever the outcome. */
  done = false
  private nodeUid?: string
  private recording: Promise<void> = Promise.resolve()
  /** What each pod error was: unavailable when we may not (RBAC) or cannot reach, cluster_failed when the cluster failed. */
  private errorKinds: FailureKind[] = []

  constructor(
    private deps: DrainDeps,
    readonly node: string,
    options: DrainOptions,
    private signal?: AbortSignal,
    /** Who asked (StreamSpace username), for the node's Events. */
    private actor?: string,
  ) {
    this.options = resolveOptions(options)
    this.sessionSelector = parseSelector(deps.sessionSelector ?? DEFAULT_SESSION_SELECTOR)
    this.t0 = deps.clock.now()
    this.st = {
      node, phase: 'running', message: 'drain started',
      started_at: new Date(this.t0).toISOString(), finished_at: null,
      options: this.options, cordoned: false, method: null, total: 0,
      evicted: [], pending: [], skipped: [], refused: [], errors: [], warnings: [],
      sessions_disrupted: 0, sessions_total: 0, duration_seconds: null,
    }
  }

  status(): DrainStatus {
    const duration = this.st.duration_seconds ?? round3((this.deps.clock.now() - this.t0) / 1000)
    return { ...this.st, pending: [...this.pending.values()], evicted: [...this.st.evicted], duration_seconds: duration }
  }

  /** Calls fn for each event after `afterId` already recorded, then for each new one. */
  subscribe(fn: (e: DrainEvent) => void, afterId = 0): () => void {
    for (const e of this.events) if (e.id > afterId) fn(e)
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private emit(type: DrainEvent['type'], extra: Partial<DrainEvent> = {}) {
    const e: DrainEvent = {
      id: (this.events.at(-1)?.id ?? 0) + 1,
      type,
      at: new Date(this.deps.clock.now()).toISOString(),
      ...extra,
      evicted: this.st.evicted.length,
      pending: this.pending.size,
      total: this.st.total,
      sessions_disrupted: this.st.sessions_disrupted,
      sessions_total: this.st.sessions_total,
    }
    this.events.push(e)
    if (this.events.length > MAX_EVENTS) this.events.shift()
    for (const l of this.listeners) l(e)
  }

  /**
   * Runs the drain. Resolves with the result; rejects with a Failure: not_found (unknown node),
   * refused (pods block it; nothing evicted), cluster_failed (e.g. a pod under several PDBs),
   * unavailable (we may not or cannot reach the API, or the service stopped), timed_out; its
   * details are the drain's status.
   */
  async run(): Promise<DrainResult> {
    const { clock } = this.deps
    const ac = new AbortController()
    setMaxListeners(0, ac.signal) // one listener per pod being waited for
    const timer = new AbortController()
    const onStop = () => ac.abort('interrupted')
    if (this.signal?.aborted) onStop()
    this.signal?.addEventListener('abort', onStop, { once: true })
    void clock.sleep(this.options.timeout_seconds * 1000, timer.signal).then(() => {
      if (!timer.signal.aborted) ac.abort('timeout')
    })
    this.emit('started', { message: `drain of node ${this.node} started` })
    try {
      const result = await this.execute(ac.signal)
      return this.finish('succeeded', result.message, result)
    } catch (err) {
      if (isFailure(err, 'not_found')) {
        this.finish('failed', err.message)
        throw err
      }
      throw this.failure(err, ac.signal)
    } finally {
      timer.abort()
      this.signal?.removeEventListener('abort', onStop)
    }
  }

  private async execute(signal: AbortSignal): Promise<DrainResult> {
    const { clients } = this.deps
    const opts = this.options
    if (!opts.dry_run) {
      try {
        const node = await patchNodeUnschedulable(clients, this.node, true)
        this.nodeUid = node.metadata?.uid
      } catch (err) {
        if (kubeStatusOf(err) === 404) throw nodeNotFound(this.node)
        throw err
      }
      this.st.cordoned = true
      this.emit('cordoned', { message: `node ${this.node} cordoned` })
      this.record('Normal', EVENT_REASONS.running, `Drain started${this.actor ? ` by ${this.actor}` : ''}: node cordoned, evicting its pods`)
    }
    this.throwIfAborted(signal)

    let plan: DrainPlan
    try {
      plan = await planDrain(clients, this.node, opts, this.sessionSelector, this.deps.podPageSize)
    } catch (err) {
      if (kubeStatusOf(err) === 400 && opts.pod_selector) {
        const left = this.st.cordoned ? `; node ${this.node} left cordoned` : ''
        throw invalid(`pod_selector: ${apiStatus(err).message ?? 'invalid selector'}${left}`)
      }
      throw toKubeError(err, `list pods on node ${this.node}`)
    }
    this.throwIfAborted(signal)
    this.st.total = plan.evict.length
    this.st.skipped = plan.skipped
    this.st.refused = plan.refused
    this.st.warnings = [...plan.warnings]
    for (const p of plan.evict) if (p.session) this.sessionKeys.add(p.key)
    this.st.sessions_total = plan.sessions
    this.emit('planned', {
      message: `${plan.evict.length} to evict (${plan.sessions} StreamSpace sessions), ${plan.skipped.length} skipped, ${plan.refused.length} refused`,
    })

    if (opts.dry_run) return this.dryRunResult(plan, opts.disable_eviction ? undefined : await pdbOutlook(clients, plan.evict))
    if (plan.refused.length > 0) throw new RefusedError(plan)

    let method: 'eviction' | 'delete' = 'delete'
    let apiVersion: string | undefined
    if (opts.disable_eviction) {
      this.st.warnings.push('disable_eviction: pods deleted directly, PodDisruptionBudgets not checked')
    } else {
      try {
        apiVersion = await evictionApiVersion(clients)
      } catch (err) {
        throw toKubeError(err, 'discover the eviction API (GET /api/v1)')
      }
      if (apiVersion) method = 'eviction'
      else this.st.warnings.push('the API server offers no eviction subresource: pods deleted directly, PodDisruptionBudgets not checked')
    }
    this.st.method = method

    for (const p of plan.evict) this.pending.set(p.key, { pod: p.key, reason: 'waiting to be evicted', pdb: null })
    const tracker = new PodGoneTracker(clients, this.node, this.deps.clock, plan.evict, (err) =>
      this.deps.log?.warn({ err, node: this.node }, 'drain: pod watch ended; listing again'),
    )
    try {
      await tracker.start(plan.resourceVersion)
      const limit = limiter(this.deps.maxInFlight ?? 50)
      await Promise.all(plan.evict.map((p) => this.removePod(p, method, apiVersion, limit, tracker, signal)))
    } finally {
      tracker.stop()
    }
    this.throwIfAborted(signal)
    if (this.st.errors.length > 0) throw new PodErrors()

    return {
      message: 'Node drained successfully',
      node: this.node,
      pods_deleted: this.st.evicted.length,
      evicted: [...this.st.evicted],
      skipped: plan.skipped,
      duration_seconds: this.elapsed(),
      sessions_disrupted: this.st.sessions_disrupted,
      method,
      warnings: this.st.warnings,
      dry_run: false,
    }
  }

  private async removePod(
    p: PlannedPod,
    method: 'eviction' | 'delete',
    apiVersion: string | undefined,
    limit: ReturnType<typeof limiter>,
    tracker: PodGoneTracker,
    signal: AbortSignal,
  ): Promise<void> {
    const ref = { namespace: p.pod.metadata?.namespace ?? '', name: p.pod.metadata?.name ?? '' }
    const grace = this.options.grace_period_seconds
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) return
      try {
        await limit(() =>
          method === 'eviction'
            ? evictPod(this.deps.clients, ref, { apiVersion: apiVersion!, gracePeriodSeconds: grace })
            : deletePod(this.deps.clients, ref, { gracePeriodSeconds: grace }),
        )
        break
      } catch (err) {
        const code = kubeStatusOf(err)
        if (code === 404 || tracker.isGone(p.key)) return this.gone(p, 'already gone')
        const what = `${method === 'eviction' ? 'evict' : 'delete'} pods/${ref.name} -n ${ref.namespace}`
        // 403 NamespaceTerminating: the namespace is being deleted and so is the pod. Not a refusal
        // of ours (kubectl retries until the pod is marked deleted, then waits for it): retried,
        // and the pod watch settles it as soon as it is gone.
        const namespaceTerminating = code === 403 && apiStatus(err).causes.some((c) => c.reason === 'NamespaceTerminating')
        // 429: a PodDisruptionBudget (or API priority and fairness) says not now, as kubectl
        // retries. 503/504 and network failures are passing trouble: retried too (kubectl gives up).
        if (code === 429 || code === 503 || code === 504 || code === undefined || namespaceTerminating) {
          const { reason, pdb } = code === 429 ? await this.whyBlocked(p, err)
            : namespaceTerminating ? { reason: `namespace ${ref.namespace} is being deleted; waiting for the pod to go`, pdb: null }
              : { reason: `${toKubeError(err, what).message}; retrying`, pdb: null }
          const prev = this.pending.get(p.key)
          this.pending.set(p.key, { pod: p.key, reason, pdb })
          if (prev?.reason !== reason || prev?.pdb !== pdb) this.emit('pod_blocked', { pod: p.key, reason, pdb })
          if (!signal.aborted) await this.deps.clock.sleep(backoffMs(attempt), signal)
          continue
        }
        const kubeError = toKubeError(err, what)
        const error = kubeError.message
        this.errorKinds.push(kubeError.kind)
        this.pending.delete(p.key)
        this.st.errors.push({ pod: p.key, error })
        this.emit('pod_failed', { pod: p.key, reason: error })
        return
      }
    }
    const terminating = `${method === 'eviction' ? 'evicted' : 'deleted'}; terminating`
    this.pending.set(p.key, { pod: p.key, reason: terminating, pdb: null })
    this.emit('pod_evicting', { pod: p.key, reason: terminating })
    if (await tracker.waitGone(p.key, signal)) this.gone(p)
  }

  private gone(p: PlannedPod, reason?: string) {
    if (!this.pending.delete(p.key)) return
    this.st.evicted.push(p.key)
    if (this.sessionKeys.has(p.key)) this.st.sessions_disrupted++
    this.emit('pod_evicted', { pod: p.key, reason })
  }

  /** The PodDisruptionBudget behind a 429: named by the API server's cause, else by selector. */
  private async whyBlocked(p: PlannedPod, err: unknown): Promise<{ reason: string; pdb: string | null }> {
    const { message, causes } = apiStatus(err)
    const cause = causes.find((c) => c.reason === 'DisruptionBudget') ?? causes[0]
    const reason = cause?.message ?? message ?? 'eviction refused (429)'
    const named = cause?.message?.match(/disruption budget (\S+)/i)?.[1]
    if (named) return { reason, pdb: named }
    const ns = p.pod.metadata?.namespace ?? ''
    let pdbs = this.pdbs.get(ns)
    if (!pdbs) {
      pdbs = listPodDisruptionBudgets(this.deps.clients, ns).then(
        (list) => list.map((b) => ({ name: b.metadata?.name ?? '', selector: b.spec?.selector })),
        () => [],
      )
      this.pdbs.set(ns, pdbs)
    }
    const matching = (await pdbs).filter((b) => labelSelectorMatches(b.selector as never, p.pod.metadata?.labels))
    return { reason, pdb: matching.length ? matching.map((b) => b.name).join(', ') : null }
  }

  private dryRunResult(plan: DrainPlan, pdbs?: Map<string, PdbOutlook>): DrainResult {
    const n = plan.evict.length
    const waits = [...(pdbs?.values() ?? [])].filter((o) => o.note.startsWith('would')).length
    const message = plan.refused.length
      ? `Dry run: the drain would be refused: ${plan.refused.length} pod(s) cannot be evicted; nothing was changed`
      : `Dry run: the drain would evict ${n} pod(s)${waits ? `, ${waits} of them held by PodDisruptionBudgets now` : ''}; nothing was changed`
    return {
      message,
      node: this.node,
      pods_deleted: 0,
      evicted: [],
      skipped: plan.skipped,
      duration_seconds: this.elapsed(),
      sessions_disrupted: plan.sessions,
      method: this.options.disable_eviction ? 'delete' : 'eviction',
      warnings: plan.warnings,
      dry_run: true,
      would_evict: plan.evict.map((p) => {
        const o = pdbs?.get(p.key)
        const what = p.session ? 'evict (StreamSpace session)' : 'evict'
        return { pod: p.key, reason: o ? `${what}; ${o.note}` : what, pdb: o?.pdb ?? null }
      }),
      refused: plan.refused,
    }
  }

  private throwIfAborted(signal: AbortSignal) {
    if (signal.aborted) throw new AbortedError()
  }

  private elapsed() {
    return round3((this.deps.clock.now() - this.t0) / 1000)
  }

  /** Turns whatever ended the run into the failure the caller gets, and records it. */
  private failure(err: unknown, signal: AbortSignal): Error {
    const node = this.node
    const cordonNote = this.st.cordoned ? `; node ${node} left cordoned` : ''
    if (signal.aborted && signal.reason === 'interrupted') {
      return this.fail('interrupted', 'unavailable', `interrupted: service stopped${cordonNote}`)
    }
    if (signal.aborted) {
      const n = this.pending.size
      const held = [...this.pending.values()].filter((p) => p.pdb).map((p) => `${p.pod} (held by PodDisruptionBudget ${p.pdb})`)
      const msg = `drain of node ${node} timed out after ${this.options.timeout_seconds}s: ${n} pod(s) still on the node` +
        (held.length ? `: ${held.join(', ')}` : '') + cordonNote
      return this.fail('timed_out', 'timed_out', msg)
    }
    if (err instanceof RefusedError) {
      // kubectl's grouping: "<reason>: ns/a, ns/b; <reason>: ns/c"
      const groups = new Map<string, string[]>()
      for (const r of err.plan.refused) groups.set(r.reason, [...(groups.get(r.reason) ?? []), r.pod])
      const text = [...groups].map(([reason, pods]) => `${reason}: ${pods.join(', ')}`).join('; ')
      return this.fail('refused', 'refused', `cannot drain node ${node}: ${text}; nothing was evicted${cordonNote}`)
    }
    if (err instanceof PodErrors) {
      const text = this.st.errors.map((e) => `${e.pod}: ${e.error}`).join('; ')
      // We could not reach or were not allowed: unavailable; otherwise the cluster did not do what we asked.
      const kind = this.errorKinds.includes('unavailable') ? 'unavailable' : 'cluster_failed'
      return this.fail('failed', kind, `drain of node ${node} incomplete: ${this.st.errors.length} pod(s) could not be evicted: ${text}${cordonNote}`)
    }
    if (err instanceof Failure) return this.fail('failed', err.kind, err.message)
    const message = err instanceof Error ? err.message : String(err)
    return this.fail('failed', undefined, `drain of node ${node} failed: ${message}${cordonNote}`)
  }

  /** Records the end; a Failure of `kind` with the status as details, or (no kind: a bug of ours) a plain Error. */
  private fail(phase: DrainStatus['phase'], kind: FailureKind | undefined, message: string): Error {
    this.finish(phase, message)
    return kind ? new Failure(kind, message, this.status()) : Object.assign(new Error(message), { details: this.status() })
  }

  private finish<T>(phase: DrainStatus['phase'], message: string, result?: T): T {
    this.st.phase = phase
    this.st.message = message
    this.st.finished_at = new Date(this.deps.clock.now()).toISOString()
    this.st.duration_seconds = this.elapsed()
    this.done = true
    this.emit('finished', { phase, message })
    if (this.st.cordoned) {
      const ok = phase === 'succeeded'
      this.record(ok ? 'Normal' : 'Warning', EVENT_REASONS[phase],
        ok ? `Node drained: ${this.st.evicted.length} pod(s) evicted, ${this.st.sessions_disrupted} StreamSpace session(s)` : message)
    }
    return result as T
  }

  private record(type: 'Normal' | 'Warning', reason: string, message: string) {
    if (!this.deps.recordEvent) return
    const p = this.deps.recordEvent({ metadata: { name: this.node, uid: this.nodeUid } }, { type, reason, message }).then(
      () => undefined,
      (err) => this.deps.log?.warn({ err, node: this.node }, 'drain: could not record the Kubernetes Event'),
    )
    this.recording = this.recording.then(() => p)
  }

  /** Resolves once the Kubernetes Events recorded so far are written (or failed). */
  eventsWritten(): Promise<void> {
    return this.recording
  }
}

class RefusedError extends Error {
  constructor(readonly plan: DrainPlan) { super('refused') }
}
class PodErrors extends Error {}
class AbortedError extends Error {}
