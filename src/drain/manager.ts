// Drains across the cluster: one at a time per node (409 for a second), at most maxConcurrent
// at once (429 beyond), the latest status of each node kept for GET /drain and its events for
// SSE, and all of them cancelled when the service stops (the node stays cordoned and the status
// says so).
import { Failure, invalid, nodeNotFound } from '../errors.js'
import { kubeStatusOf, toKubeError } from '../kube/errors.js'
import { readNode } from '../kube/node-patches.js'
import type { CoreV1Event } from '@kubernetes/client-node'
import { EVENT_COMPONENT } from '../kube/events.js'
import { checkPodSelector, listNodeEvents } from '../kube/pods.js'
import { DrainRun, EVENT_REASONS, type DrainDeps } from './drain.js'
import { parseSelector } from '../kube/selector.js'
import type { DrainEvent, DrainOptions, DrainPhase, DrainResult, DrainStatus } from './types.js'

export interface DrainManagerOptions extends DrainDeps {
  /** Drains running at once across the cluster. Default 3. */
  maxConcurrent?: number
  /** Where the drain's Kubernetes Events live (read back after a restart). Default "default". */
  eventNamespace?: string
  /**
   * Finished drains whose status is kept in memory (oldest forgotten first; nodes come and go under
   * autoscaling). A forgotten node's last outcome is still read back from its Events. Default 100.
   */
  maxFinishedKept?: number
  /** Called with the final status of every drain that is not a dry run (metrics). */
  onFinished?: (status: DrainStatus) => void
}

export interface StartedDrain {
  run: DrainRun
  /** Settles when the drain ends; never rejects unhandled (callers that don't wait can ignore it). */
  result: Promise<DrainResult>
}

export function emptyStatus(node: string, phase: DrainPhase, message: string): DrainStatus {
  return {
    node, phase, message,
    started_at: null, finished_at: null, options: null, cordoned: false, method: null, total: 0,
    evicted: [], pending: [], skipped: [], refused: [], errors: [], warnings: [],
    sessions_disrupted: 0, sessions_total: 0, duration_seconds: null,
  }
}

export class DrainManager {
  private latest = new Map<string, DrainRun>()
  private running = new Map<string, DrainRun>()
  private stop = new AbortController()
  private settled = new Set<Promise<unknown>>()

  constructor(private deps: DrainManagerOptions) {}

  /** 404 for an unknown node; 400 for a bad pod_selector, checked by the API server too: all before any cordon. */
  async checkRequest(node: string, options: DrainOptions): Promise<void> {
    if (options.pod_selector) {
      try {
        parseSelector(options.pod_selector)
      } catch (err) {
        throw invalid(`pod_selector: ${(err as Error).message}`)
      }
    }
    try {
      await readNode(this.deps.clients, node)
    } catch (err) {
      if (kubeStatusOf(err) === 404) throw nodeNotFound(node)
      throw err
    }
    if (options.pod_selector) {
      try {
        await checkPodSelector(this.deps.clients, node, options.pod_selector)
      } catch (err) {
        if (kubeStatusOf(err) === 400) throw invalid(`pod_selector: ${toKubeError(err, 'list pods').message}`)
        throw toKubeError(err, `list pods on node ${node}`)
      }
    }
  }

  /**
   * Starts a drain. Dry runs change nothing, so they run beside a real drain and are not
   * recorded as the node's status. Throws 409 if the node is being drained, 429 at the bound.
   */
  async start(node: string, options: DrainOptions, actor?: string, signal?: AbortSignal): Promise<StartedDrain> {
    await this.checkRequest(node, options)
    if (this.stop.signal.aborted) throw new Failure('unavailable', 'the service is stopping')
    // `signal`: the caller may stop its own drain (a maintenance plan cancelled); the node stays cordoned.
    const run = new DrainRun(this.deps, node, options, signal ? AbortSignal.any([this.stop.signal, signal]) : this.stop.signal, actor)
    if (run.options.dry_run) return { run, result: run.run() }

    const current = this.running.get(node)
    if (current) {
      throw new Failure('conflict', `node ${node} is already being drained (started ${current.status().started_at})`, current.status())
    }
    const max = this.deps.maxConcurrent ?? 3
    if (this.running.size >= max) {
      throw new Failure('too_many', `${this.running.size} drains are running (at most ${max} at once): retry when one ends`, {
        running: [...this.running.keys()],
      })
    }
    this.running.set(node, run)
    this.latest.delete(node) // re-inserted last: the map's order is the order drains started
    this.latest.set(node, run)
    const result = run.run()
    // Registered before any caller awaits `result`: the node is free again by the time they hear.
    const settled = result.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      this.running.delete(node)
      this.forgetOldFinished()
      this.deps.onFinished?.(run.status())
      return run.eventsWritten()
    }).finally(() => this.settled.delete(settled))
    this.settled.add(settled)
    return { run, result }
  }

  private forgetOldFinished(): void {
    const keep = this.deps.maxFinishedKept ?? 100
    let finished = this.latest.size - this.running.size
    for (const [node, run] of this.latest) {
      if (finished <= keep) break
      if (this.running.get(node) === run) continue
      this.latest.delete(node)
      finished--
    }
  }

  /** A node that was deleted: its finished drain is of no more use. */
  forgetNode(node: string): void {
    if (!this.running.has(node)) this.latest.delete(node)
  }

  /** Nodes whose latest drain is kept in memory (running or finished). */
  get keptCount(): number {
    return this.latest.size
  }

  /** Whether close() was called: drains are being interrupted. */
  get stopping(): boolean {
    return this.stop.signal.aborted
  }

  /** Drains running now (not dry runs). */
  get runningCount(): number {
    return this.running.size
  }

  status(node: string): DrainStatus {
    const run = this.latest.get(node)
    if (run) return run.status()
    return emptyStatus(node, 'none', 'no drain of this node since the service started')
  }

  /**
   * The latest status, also across restarts: without a drain in this process, the drain's own
   * Kubernetes Events on the node tell the last outcome. A start with no outcome after it means
   * the service stopped (or died) mid-drain.
   */
  async statusWithHistory(node: string): Promise<DrainStatus> {
    if (this.latest.has(node)) return this.status(node)
    const ns = this.deps.eventNamespace ?? 'default'
    let events: CoreV1Event[]
    try {
      events = await listNodeEvents(this.deps.clients, ns, node)
    } catch (err) {
      // A read answers from what is known, and says what it could not look at: a drain this
      // service runs or was interrupted in is a NodeDrain object; only finished drains from before
      // it are told by the Events alone.
      const why = toKubeError(err, `list events -n ${ns} (past drains of node ${node})`).message
      return { ...this.status(node), message: `no drain known; past drains of node ${node} could not be read: ${why}` }
    }
    const phaseOf = new Map(Object.entries(EVENT_REASONS).filter(([p]) => p !== 'none' && p !== 'queued').map(([p, r]) => [r, p as DrainPhase]))
    const time = (e: CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? 0).getTime()
    const ours = events
      .filter((e) => e.source?.component === EVENT_COMPONENT && phaseOf.has(e.reason ?? ''))
      // Oldest first; at the same time an outcome comes after its start.
      .sort((a, b) => time(a) - time(b) || Number(a.reason !== EVENT_REASONS.running) - Number(b.reason !== EVENT_REASONS.running))
    const last = ours.at(-1)
    if (!last) return this.status(node)
    const at = new Date(time(last)).toISOString()
    if (last.reason === EVENT_REASONS.running) {
      const st = emptyStatus(node, 'interrupted', `interrupted: the service stopped during this drain without recording its outcome; node ${node} left cordoned`)
      return { ...st, started_at: at, cordoned: true }
    }
    const start = ours.filter((e) => e.reason === EVENT_REASONS.running && time(e) <= time(last)).at(-1)
    const st = emptyStatus(node, phaseOf.get(last.reason!)!, last.message ?? '')
    return { ...st, started_at: start ? new Date(time(start)).toISOString() : null, finished_at: at, cordoned: true }
  }

  /** The latest run of a node, for streaming its events; undefined if none. */
  latestRun(node: string): DrainRun | undefined {
    return this.latest.get(node)
  }

  /**
   * Subscribes to a node's drain events after `afterId`. Calls onEnd when the drain has finished
   * (at once if it already has, or if there is none). Returns the unsubscribe function.
   */
  subscribe(node: string, afterId: number, onEvent: (e: DrainEvent) => void, onEnd: () => void): () => void {
    const run = this.latest.get(node)
    if (!run) {
      onEnd()
      return () => {}
    }
    let ended = false
    const unsubscribe = run.subscribe((e) => {
      onEvent(e)
      if (e.type === 'finished' && !ended) {
        ended = true
        queueMicrotask(() => { unsubscribe(); onEnd() })
      }
    }, afterId)
    if (run.done && !ended) {
      ended = true
      unsubscribe()
      onEnd()
    }
    return unsubscribe
  }

  /** Cancels every running drain (nodes stay cordoned) and waits for them to record it (status, Event). */
  async close(): Promise<void> {
    this.stop.abort()
    await Promise.all([...this.settled])
  }
}
