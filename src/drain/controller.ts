// Drains as NodeDrain objects (design: "Several replicas"), `app.drains`. Any replica starts one
// by creating the NodeDrain named after the node (the API server's name uniqueness keeps one drain
// per node across replicas: 409 while one is not finished; a finished one is replaced) and answers
// from the same informer: GET, SSE, and a POST waiting for the final status. Only the leader, once
// its caches have synced, runs them (the existing DrainRun, at most maxConcurrent at once, the
// others `queued`) and writes their status conditionally on the resourceVersion; a drain whose
// leader went away is run again by the next (cordon again, evict what is left). Finished NodeDrains
// are deleted after their TTL and beyond the newest 100. Dry runs change nothing: they run here,
// without an object.
import { setMaxListeners } from 'node:events'
import { Failure, type FailureKind } from '../errors.js'
import { Waker } from '../clock.js'
import type { ClusterObjects } from '../kube/custom-objects.js'
import type { DrainObject, DrainObjectStatus, DrainSpec } from '../kube/drain-objects.js'
import { isConflict, kubeStatusOf } from '../kube/errors.js'
import { camelKeys, snakeKeys } from '../shared/case.js'
import { DrainRun } from './drain.js'
import { DrainManager, emptyStatus, type DrainManagerOptions } from './manager.js'
import { resolveOptions } from './types.js'
import type { DrainEvent, DrainOptions, DrainPhase, DrainResult, DrainStatus, ResolvedDrainOptions } from './types.js'

export const FINAL_DRAIN_PHASES: DrainPhase[] = ['succeeded', 'refused', 'timed_out', 'failed', 'interrupted']
const DAY_S = 86_400
/** Steps kept in a NodeDrain's status (the oldest dropped first). */
const MAX_STORED_EVENTS = 500

export interface DrainControllerOptions extends DrainManagerOptions {
  objects: ClusterObjects<DrainSpec, DrainObjectStatus>
  /** Resolves once the node and pod caches have synced (the leader runs nothing before). */
  whenCachesSynced?: () => Promise<void>
  /** Fencing: whether this replica still leads, checked before each status write. */
  stillLeading?: () => boolean
  /** Finished drains are deleted this long after they end, unless their spec says otherwise. Default 7 days. */
  ttlSecondsAfterFinished?: number
  /** Finished drains kept at most (the oldest deleted first). Default 100. */
  keepFinished?: number
  /** At most one status write per this many ms while a drain runs (each phase change at once). Default 500. */
  writeIntervalMs?: number
  /** Whether the node cache knows the node: reads answer from it, not from the API (which may be failing). */
  nodeKnown?: (node: string) => boolean
}

export interface StartedDrain {
  options: ResolvedDrainOptions
  /** Settles when the drain ends; never rejects unhandled (callers that don't wait can ignore it). */
  result: Promise<DrainResult>
}

interface Runner {
  uid: string | undefined
  obj: DrainObject
  ac: AbortController
  /** Set when this runner may no longer write (leadership lost, object gone): the next leader continues. */
  silent: boolean
  finished: boolean
  done: Promise<void>
}

const isFinal = (o: DrainObject | undefined) => FINAL_DRAIN_PHASES.includes((o?.status?.phase ?? '') as DrainPhase)

/** The spec of a drain asked with these options. */
export function specOf(options: DrainOptions, actor?: string): DrainSpec {
  const { dry_run: _dry, wait: _wait, ...rest } = options
  return { ...camelKeys<DrainSpec>(rest), ...(actor ? { requestedBy: actor } : {}) }
}

/** The DrainOptions a NodeDrain's spec asks for. */
export function optionsOf(spec: DrainSpec | undefined): DrainOptions {
  const { requestedBy: _by, ttlSecondsAfterFinished: _ttl, ...rest } = spec ?? {}
  return snakeKeys<DrainOptions>(rest)
}

/** A NodeDrain's steps, numbered, in the contract's shape. */
export function eventsOf(o: DrainObject | undefined): DrainEvent[] {
  return (o?.status?.events ?? []).map((e) => snakeKeys<DrainEvent>(e))
}

/** A NodeDrain's status in the contract's shape (before the leader has taken it up: queued). */
export function statusOf(o: DrainObject): DrainStatus {
  const node = o.metadata.name
  const s = o.status
  if (!s?.phase) return { ...emptyStatus(node, 'queued', 'waiting for the leader to start it'), options: resolveOptions(optionsOf(o.spec)) }
  const { evictedCount: _n, failureKind: _k, events: _e, observedGeneration: _g, ...rest } = s
  const st = { ...emptyStatus(node, 'none', ''), ...snakeKeys<Partial<DrainStatus>>(rest), node }
  st.pending = st.pending.map((p) => ({ ...p, pdb: p.pdb ?? null }))
  return st
}

/** What a NodeDrain's status holds: the run's status, its steps, and how it failed. */
function objectStatus(st: DrainStatus, events: DrainEvent[], failureKind?: FailureKind): DrainObjectStatus {
  return {
    ...camelKeys<DrainObjectStatus>(st),
    evictedCount: st.evicted.length,
    ...(failureKind ? { failureKind } : {}),
    events: events.slice(-MAX_STORED_EVENTS).map((e) => camelKeys<Record<string, unknown>>(e)),
  }
}

/** The answer of POST .../drain for a final status, as DrainRun.run() gave it. */
function outcome(o: DrainObject): DrainResult {
  const st = statusOf(o)
  if (st.phase === 'succeeded') {
    return {
      message: st.message, node: st.node, pods_deleted: st.evicted.length, evicted: st.evicted, skipped: st.skipped,
      duration_seconds: st.duration_seconds ?? 0, sessions_disrupted: st.sessions_disrupted, method: st.method ?? 'eviction',
      warnings: st.warnings, dry_run: false,
    }
  }
  const kind: FailureKind | undefined = st.phase === 'refused' ? 'refused' : st.phase === 'timed_out' ? 'timed_out'
    : st.phase === 'interrupted' ? 'unavailable' : (o.status?.failureKind as FailureKind | undefined)
  throw kind ? new Failure(kind, st.message, st) : Object.assign(new Error(st.message), { details: st })
}

/** A waiting POST is answered this long after the drain's own timeout at the latest (a drain queued, a leader gone). */
const ANSWER_MARGIN_S = 60

export class DrainController {
  /** Checks, dry runs and the Events read back for a node without a NodeDrain. */
  private readonly local: DrainManager
  private readonly objects: ClusterObjects<DrainSpec, DrainObjectStatus>
  private readonly runners = new Map<string, Runner>()
  private readonly stop = new AbortController()
  private leading = false
  private leaderAbort = new AbortController()
  private reconciling?: Promise<void>
  private changed = new Waker()
  lastError: string | undefined

  constructor(private readonly deps: DrainControllerOptions) {
    this.local = new DrainManager(deps)
    this.objects = deps.objects
    setMaxListeners(0, this.stop.signal)
  }

  private get max(): number { return this.deps.maxConcurrent ?? 3 }

  /** 404 for an unknown node; 400 for a bad pod_selector: all before anything is written. */
  checkRequest(node: string, options: DrainOptions): Promise<void> {
    return this.local.checkRequest(node, options)
  }

  /** Reads need the informer's first list: before it, "none" would be a guess. */
  private readable(): void {
    if (this.objects.synced) return
    const why = this.objects.informer.lastError
    throw new Failure('unavailable', `drains not read from the cluster yet${why ? `: ${why}` : ''}`)
  }

  /** Whether close() was called. */
  get stopping(): boolean { return this.stop.signal.aborted }

  /** Drains running on this replica (the leader) now. */
  get runningCount(): number { return [...this.runners.values()].filter((r) => !r.finished).length }

  /** NodeDrain objects this replica sees (running, queued or finished). */
  get keptCount(): number { return this.objects.size }

  /** Whether the node has a NodeDrain, or the node cache knows it (a read needs no API call). */
  known(node: string): boolean { return this.objects.get(node) !== undefined || (this.deps.nodeKnown?.(node) ?? false) }

  /**
   * Starts a drain: a dry run here (no object); otherwise creates the NodeDrain (409 while the
   * node's drain is not finished, 429 when maxConcurrent are not finished in the shared view) and
   * `result` settles with its final status. `signal` (a maintenance plan stopped) deletes it.
   * `adopt`: a drain of this node not finished, asked by the same `actor`, is taken as this one
   * (a maintenance plan resumed by a new leader finds the drain it asked for before).
   */
  async start(node: string, options: DrainOptions, actor?: string, signal?: AbortSignal, adopt = false): Promise<StartedDrain> {
    await this.checkRequest(node, options)
    if (this.stopping) throw new Failure('unavailable', 'the service is stopping')
    const resolved = resolveOptions(options)
    if (resolved.dry_run) {
      const run = new DrainRun(this.deps, node, options, signal ? AbortSignal.any([this.stop.signal, signal]) : this.stop.signal, actor)
      return { options: resolved, result: run.run() }
    }
    this.readable()
    const obj = await this.create(node, specOf(options, actor), adopt)
    // A caller over HTTP hears within the drain's own timeout plus a margin, whatever the leader does.
    const result = this.outcomeOf(node, obj.metadata.uid, signal, signal ? undefined : (resolved.timeout_seconds + ANSWER_MARGIN_S) * 1000)
    result.catch(() => {})
    return { options: resolved, result }
  }

  private conflict(o: DrainObject): Failure {
    const st = statusOf(o)
    return new Failure('conflict', `node ${o.metadata.name} is already being drained (started ${st.started_at ?? o.metadata.creationTimestamp})`, st)
  }

  private async create(node: string, spec: DrainSpec, adopt: boolean): Promise<DrainObject> {
    const ours = (o: DrainObject) => adopt && spec.requestedBy !== undefined && o.spec?.requestedBy === spec.requestedBy
    for (let attempt = 0; attempt < 5; attempt++) {
      const seen = this.objects.get(node)
      if (seen && !isFinal(seen) && !seen.metadata.deletionTimestamp) {
        if (ours(seen)) return seen
        throw this.conflict(seen)
      }
      const running = this.objects.list().filter((o) => o.metadata.name !== node && !isFinal(o)).map((o) => o.metadata.name)
      if (running.length >= this.max) {
        throw new Failure('too_many', `${running.length} drains are running (at most ${this.max} at once): retry when one ends`, { running })
      }
      try {
        return await this.objects.create(node, spec)
      } catch (err) {
        if (!isConflict(err)) throw err
      }
      // The name is taken: a drain not finished is a conflict; a finished one is replaced (only that one: its uid).
      const existing = await this.objects.read(node)
      if (!existing) continue
      if (!isFinal(existing)) {
        if (ours(existing)) return existing
        throw this.conflict(existing)
      }
      try {
        await this.objects.delete(node, existing.metadata.uid)
      } catch (err) {
        if (!isConflict(err)) throw err // replaced meanwhile by another request: look again
      }
    }
    throw new Failure('conflict', `node ${node} is already being drained (its NodeDrain keeps being replaced)`)
  }

  /** Waits for the NodeDrain `uid` to finish, as this replica's informer sees it. */
  private async outcomeOf(node: string, uid: string | undefined, signal?: AbortSignal, withinMs?: number): Promise<DrainResult> {
    const deadline = withinMs === undefined ? undefined : AbortSignal.timeout(withinMs)
    const stop = AbortSignal.any([this.stop.signal, ...(signal ? [signal] : []), ...(deadline ? [deadline] : [])])
    const o = await this.objects.waitFor(node, (x) => !x || x.metadata.uid !== uid || isFinal(x), stop)
    if (o && o.metadata.uid === uid && isFinal(o)) return outcome(o)
    if (o && o.metadata.uid === uid && deadline?.aborted && !this.stopping) {
      const why = this.leading && this.lastError ? `: ${this.lastError}` : ''
      throw new Failure('unavailable', `the drain of node ${node} has not ended within ${withinMs! / 1000} s (its timeout plus ${ANSWER_MARGIN_S} s)${why}; it goes on in the cluster (GET .../nodes/${node}/drain)`, statusOf(o))
    }
    if (o && o.metadata.uid === uid && signal?.aborted && !this.stopping) {
      // The caller (a maintenance plan) stopped: the drain goes (the node stays cordoned).
      await this.objects.delete(node, uid).catch(() => undefined)
      throw new Failure('unavailable', `interrupted: drain of node ${node} stopped; node ${node} left cordoned`, statusOf(o))
    }
    if (o && o.metadata.uid === uid) {
      throw new Failure('unavailable', `the service is stopping: the drain of node ${node} goes on in the cluster (GET .../nodes/${node}/drain on another replica)`, statusOf(o))
    }
    throw new Failure('unavailable', `the drain of node ${node} was deleted before it ended`)
  }

  /** The latest drain of the node, as the informer sees it. */
  status(node: string): DrainStatus {
    this.readable()
    const o = this.objects.get(node)
    return o ? statusOf(o) : emptyStatus(node, 'none', 'no drain of this node recorded')
  }

  /** The node's NodeDrain; without one, the drain's own Kubernetes Events on the node tell the last outcome. */
  async statusWithHistory(node: string): Promise<DrainStatus> {
    this.readable()
    const o = this.objects.get(node)
    return o ? statusOf(o) : this.local.statusWithHistory(node)
  }

  /**
   * Calls onEvent for each step of the node's drain after `afterId` (those stored, then each new
   * one as the status changes), and onEnd once it has finished or is gone (at once without one).
   * Returns unsubscribe.
   */
  subscribe(node: string, afterId: number, onEvent: (e: DrainEvent) => void, onEnd: () => void): () => void {
    const first = this.objects.get(node)
    if (!first) {
      onEnd()
      return () => {}
    }
    const uid = first.metadata.uid
    let last = afterId
    let ended = false
    const end = () => {
      if (ended) return
      ended = true
      unsubscribe()
      onEnd()
    }
    const take = (o: DrainObject) => {
      for (const e of eventsOf(o)) {
        if (e.id <= last) continue
        last = e.id
        onEvent(e)
      }
      if (isFinal(o)) queueMicrotask(end)
    }
    const unsubscribe = this.objects.onChange((o, deleted) => {
      if (o.metadata.name !== node || ended) return
      if (deleted || o.metadata.uid !== uid) return end()
      take(o)
    })
    take(first)
    return unsubscribe
  }

  /** A node that was deleted: its finished drain is of no more use (any replica may delete it; only that object). */
  forgetNode(node: string): void {
    const o = this.objects.get(node)
    if (!o || !isFinal(o)) return
    this.objects.delete(node, o.metadata.uid).catch((err: unknown) => {
      if (!isConflict(err)) this.deps.log?.warn({ err, node }, 'drain: could not delete the NodeDrain of a deleted node')
    })
  }

  // ---- the leader ---------------------------------------------------------------------------

  get isLeading(): boolean { return this.leading }

  /** Became leader: once the caches have synced, run the drains that are not finished, on each change. */
  startLeading(): void {
    if (this.leading || this.stopping) return
    this.leading = true
    this.leaderAbort = new AbortController()
    const signal = this.leaderAbort.signal
    const changed = this.changed = new Waker()
    const unsubscribe = this.objects.onChange((o, deleted) => {
      const r = this.runners.get(o.metadata.name)
      // Deleted (a plan stopped it) or replaced: that run stops, without a word.
      if (r && (deleted || o.metadata.uid !== r.uid)) this.silence(r)
      changed.wake()
    })
    this.reconciling = (async () => {
      await Promise.race([
        Promise.all([this.objects.whenSynced(), this.deps.whenCachesSynced?.()]),
        new Promise((r) => signal.addEventListener('abort', r, { once: true })),
      ])
      while (!signal.aborted) {
        changed.take()
        let wakeIn = 60_000
        try {
          wakeIn = Math.min(wakeIn, await this.reconcileAll(signal))
          this.lastError = undefined
        } catch (err) {
          this.lastError = (err as Error).message
          this.deps.log?.warn({ err }, 'drain: reconcile failed; retrying')
          wakeIn = 5_000
        }
        await changed.sleep(this.deps.clock, wakeIn, signal)
      }
    })().finally(unsubscribe)
  }

  /** Lost the lease (or stopping): every run has stopped, writing nothing, before this resolves. */
  async stopLeading(): Promise<void> {
    if (!this.leading) return
    this.leading = false
    this.leaderAbort.abort()
    const runners = [...this.runners.values()]
    for (const r of runners) this.silence(r)
    await Promise.all([this.reconciling, ...runners.map((r) => r.done)])
    this.runners.clear()
  }

  private silence(r: Runner): void {
    r.silent = true
    r.ac.abort('interrupted')
  }

  private async reconcileAll(signal: AbortSignal): Promise<number> {
    const objs = this.objects.list().sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name))
    for (const o of objs) {
      if (signal.aborted) return Infinity
      if (isFinal(o) || o.metadata.deletionTimestamp || this.runners.has(o.metadata.name)) continue
      if (this.runners.size < this.max) {
        this.startRunner(o)
      } else if (o.status?.phase !== 'queued') {
        const st = { ...statusOf(o), phase: 'queued' as const, message: `queued: ${this.max} drains are running (at most ${this.max} at once)` }
        try {
          await this.objects.writeStatus(o, objectStatus(st, eventsOf(o)))
        } catch (err) {
          if (!isConflict(err) && kubeStatusOf(err) !== 404) throw err
        }
      }
    }
    return this.collect(signal)
  }

  /** Deletes finished drains past their TTL, and the oldest beyond keepFinished. Returns when the next TTL ends. */
  private async collect(signal: AbortSignal): Promise<number> {
    const now = this.deps.clock.now()
    const finished = this.objects.list().filter((o) => isFinal(o) && typeof o.status?.finishedAt === 'string')
      .sort((a, b) => Date.parse(b.status!.finishedAt!) - Date.parse(a.status!.finishedAt!))
    let due = Infinity
    for (const [i, o] of finished.entries()) {
      if (signal.aborted) break
      const expires = Date.parse(o.status!.finishedAt!) + (o.spec?.ttlSecondsAfterFinished ?? this.deps.ttlSecondsAfterFinished ?? 7 * DAY_S) * 1000
      if (expires > now && i < (this.deps.keepFinished ?? 100)) {
        due = Math.min(due, expires - now)
        continue
      }
      try {
        await this.objects.delete(o.metadata.name, o.metadata.uid)
      } catch (err) {
        this.deps.log?.warn({ err, node: o.metadata.name }, 'drain: could not delete a finished NodeDrain')
      }
    }
    return due
  }

  private startRunner(obj: DrainObject): void {
    const node = obj.metadata.name
    const ac = new AbortController()
    setMaxListeners(0, ac.signal)
    const r: Runner = { uid: obj.metadata.uid, obj, ac, silent: false, finished: false, done: Promise.resolve() }
    this.runners.set(node, r)
    r.done = this.run(r).catch((err: unknown) => {
      this.deps.log?.warn({ err, node }, 'drain: the run ended with an error')
    }).finally(() => {
      r.finished = true
      if (this.runners.get(node) === r) this.runners.delete(node)
      this.changed.wake()
    })
  }

  /** Runs the drain of r.obj, writing its status as it goes (throttled) and at the end. */
  private async run(r: Runner): Promise<void> {
    const node = r.obj.metadata.name
    // A run again after a change of leader: its steps are numbered on from the stored ones.
    const before = eventsOf(r.obj)
    const base = before.at(-1)?.id ?? 0
    const record = this.deps.recordEvent
    // A run stopped because leadership ended is not an outcome: the next leader continues it.
    const recordEvent: DrainManagerOptions['recordEvent'] = record && ((n, e) => r.silent ? Promise.resolve() : record(n, e))
    const deps = { ...this.deps, recordEvent }
    const run = new DrainRun(deps, node, optionsOf(r.obj.spec), r.ac.signal, r.obj.spec?.requestedBy)
    let failureKind: FailureKind | undefined
    const current = (): DrainObjectStatus => objectStatus(run.status(), [...before, ...run.events.map((e) => ({ ...e, id: e.id + base }))], failureKind)

    const interval = this.deps.writeIntervalMs ?? 500
    let lastWrite = 0
    let timer: NodeJS.Timeout | undefined
    let writing: Promise<void> | undefined
    let again = false
    const flush = (): Promise<void> => {
      if (timer) { clearTimeout(timer); timer = undefined }
      if (writing) { again = true; return writing }
      writing = (async () => {
        do {
          again = false
          lastWrite = Date.now()
          await this.write(r, current())
        } while (again && !r.silent)
      })().finally(() => { writing = undefined })
      return writing
    }
    let phase = ''
    const unsubscribe = run.subscribe((e) => {
      // The outcome is written once the run has ended, with how it failed.
      if (r.silent || e.type === 'finished') return
      const st = run.status()
      if (st.phase !== phase || e.type === 'cordoned' || e.type === 'planned') {
        phase = st.phase
        void flush()
      } else if (!timer) {
        timer = setTimeout(() => { void flush() }, Math.max(0, interval - (Date.now() - lastWrite)))
      }
    })
    try {
      await run.run()
    } catch (err) {
      failureKind = err instanceof Failure ? err.kind : undefined
    } finally {
      unsubscribe()
      if (timer) clearTimeout(timer)
    }
    r.finished = true
    await writing
    if (r.silent) return
    // The outcome must be stored: retried while this replica leads.
    for (let attempt = 0; !r.silent && this.leading; attempt++) {
      try {
        await this.write(r, current(), true)
        break
      } catch (err) {
        this.lastError = (err as Error).message
        this.deps.log?.warn({ err, node }, 'drain: could not store the outcome; retrying')
        await this.deps.clock.sleep(Math.min(5000, 500 * 2 ** attempt), this.leaderAbort.signal)
      }
    }
    if (!r.silent) this.deps.onFinished?.(run.status())
    await run.eventsWritten()
  }

  /**
   * Writes the status, conditional on the resourceVersion held (a 409: read again; gone or
   * replaced: the run stops). Progress writes swallow errors (the next one catches up); the
   * final one throws.
   */
  private async write(r: Runner, status: DrainObjectStatus, final = false): Promise<void> {
    for (let attempt = 0; attempt < 4; attempt++) {
      if (r.silent || !(this.deps.stillLeading?.() ?? true)) return
      try {
        r.obj = await this.objects.writeStatus(r.obj, status)
        return
      } catch (err) {
        if (kubeStatusOf(err) === 404) return this.silence(r)
        if (!isConflict(err)) {
          if (final) throw err
          this.lastError = (err as Error).message
          this.deps.log?.warn({ err, node: r.obj.metadata.name }, 'drain: could not write the progress')
          return
        }
        // The re-read may fail too (the API failing): a progress write gives up as above, the
        // final one throws to its retry loop. Unhandled, it made the replica exit (chaos check).
        let fresh: DrainObject | undefined
        try {
          fresh = await this.objects.read(r.obj.metadata.name)
        } catch (readErr) {
          if (final) throw readErr
          this.lastError = (readErr as Error).message
          this.deps.log?.warn({ err: readErr, node: r.obj.metadata.name }, 'drain: could not re-read after a conflict')
          return
        }
        if (!fresh || fresh.metadata.uid !== r.uid) return this.silence(r)
        r.obj = fresh
      }
    }
    if (final) throw new Failure('unavailable', `NodeDrain ${r.obj.metadata.name}: status kept changing under us`)
  }

  /** Stops waiting requests (503) and the drains running here, writing nothing: the next leader continues them. */
  async close(): Promise<void> {
    this.stop.abort()
    await this.stopLeading()
  }

  /** Until no drain runs here (tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.done))
  }
}
