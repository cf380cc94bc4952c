// Drains across the cluster: one at a time per node (409 for a second), at most maxConcurrent
// at once (429 beyond), the latest status of each node kept for GET /drain and its events for
// SSE, and all of them cancelled when the service stops (the node stays cordoned and the status
// says so).
import { HttpError } from '../errors.js'
import type { KubeClients } from '../kube/client.js'
import { kubeStatusOf } from '../kube/errors.js'
import { readNode } from '../kube/node-patches.js'
import { DrainRun, type DrainDeps } from './drain.js'
import { parseSelector } from '../kube/selector.js'
import type { DrainEvent, DrainOptions, DrainResult, DrainStatus } from './types.js'

export interface DrainManagerOptions extends DrainDeps {
  /** Drains running at once across the cluster. Default 3. */
  maxConcurrent?: number
}

export interface StartedDrain {
  run: DrainRun
  /** Settles when the drain ends; never rejects unhandled (callers that don't wait can ignore it). */
  result: Promise<DrainResult>
}

export class DrainManager {
  private latest = new Map<string, DrainRun>()
  private running = new Map<string, DrainRun>()
  private stop = new AbortController()
  private settled = new Set<Promise<unknown>>()

  constructor(private deps: DrainManagerOptions) {}

  get clients(): KubeClients {
    return this.deps.clients
  }

  /** 404 for an unknown node; 400 for a bad pod_selector. */
  async checkRequest(node: string, options: DrainOptions): Promise<void> {
    if (options.pod_selector) {
      try {
        parseSelector(options.pod_selector)
      } catch (err) {
        throw new HttpError(400, `pod_selector: ${(err as Error).message}`)
      }
    }
    try {
      await readNode(this.deps.clients, node)
    } catch (err) {
      if (kubeStatusOf(err) === 404) throw new HttpError(404, `node ${node} not found`)
      throw err
    }
  }

  /**
   * Starts a drain. Dry runs change nothing, so they run beside a real drain and are not
   * recorded as the node's status. Throws 409 if the node is being drained, 429 at the bound.
   */
  async start(node: string, options: DrainOptions, actor?: string): Promise<StartedDrain> {
    await this.checkRequest(node, options)
    if (this.stop.signal.aborted) throw new HttpError(503, 'the service is stopping')
    const run = new DrainRun(this.deps, node, options, this.stop.signal, actor)
    if (run.options.dry_run) return { run, result: run.run() }

    const current = this.running.get(node)
    if (current) {
      throw new HttpError(409, `node ${node} is already being drained (started ${current.status().started_at})`, current.status())
    }
    const max = this.deps.maxConcurrent ?? 3
    if (this.running.size >= max) {
      throw new HttpError(429, `${this.running.size} drains are running (at most ${max} at once): retry when one ends`, {
        running: [...this.running.keys()],
      })
    }
    this.running.set(node, run)
    this.latest.set(node, run)
    const result = run.run()
    const settled = result.then(
      () => undefined,
      () => undefined,
    ).then(() => run.eventsWritten()).finally(() => {
      this.running.delete(node)
      this.settled.delete(settled)
    })
    this.settled.add(settled)
    return { run, result }
  }

  status(node: string): DrainStatus {
    const run = this.latest.get(node)
    if (run) return run.status()
    return {
      node, phase: 'none', message: 'no drain of this node since the service started',
      started_at: null, finished_at: null, options: null, cordoned: false, method: null, total: 0,
      evicted: [], pending: [], skipped: [], refused: [], errors: [], warnings: [],
      sessions_disrupted: 0, duration_seconds: null,
    }
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
