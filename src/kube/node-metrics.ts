// metrics.k8s.io NodeMetrics, polled on an interval (as metrics-server itself resolves only every
// ~15 s, watching is not an option). Keeps the latest usage per node and a bounded history ring.
// metrics-server absent (404/503): available=false, usage null everywhere, nothing fails. A failed
// poll keeps what was measured: usage turns null only once the last good poll is staleAfterMs old.
import { Metrics, type KubeConfig } from '@kubernetes/client-node'
import { quantityToNumber } from './quantity.js'
import { systemClock, type Clock } from './reflector.js'
import type { Log } from '../shared/log.js'

export interface NodeUsage {
  /** ms since epoch, from the sample's timestamp */
  at: number
  cpu: string
  memory: string
  cpuCores: number
  memoryBytes: number
}

class Ring {
  private readonly items: NodeUsage[] = []
  private start = 0
  constructor(private readonly capacity: number) {}
  push(u: NodeUsage): void {
    const last = this.latest()
    if (last && last.at === u.at) return // same metrics-server scrape seen twice
    if (this.items.length < this.capacity) this.items.push(u)
    else {
      this.items[this.start] = u
      this.start = (this.start + 1) % this.capacity
    }
  }
  latest(): NodeUsage | undefined {
    if (!this.items.length) return undefined
    return this.items[(this.start + this.items.length - 1) % this.items.length]
  }
  since(t: number): NodeUsage[] {
    const ordered = [...this.items.slice(this.start), ...this.items.slice(0, this.start)]
    return ordered.filter((u) => u.at >= t)
  }
}

export interface NodeMetricsOptions {
  kc: KubeConfig
  log: Log
  intervalMs: number
  historySamples: number
  /** Usage older than this (since the last successful poll) is not shown. Default 3 intervals, at least 60 s. */
  staleAfterMs?: number
  clock?: Clock
  onChange?: () => void
}

export class NodeMetricsStore {
  lastError: string | undefined
  /** When the last poll that succeeded ended (clock time). */
  private lastSuccessAt: number | undefined
  private readonly history = new Map<string, Ring>()
  private readonly metrics: Metrics
  private readonly abort = new AbortController()
  private readonly clock: Clock
  private loop: Promise<void> | undefined

  constructor(private readonly opts: NodeMetricsOptions) {
    this.metrics = new Metrics(opts.kc)
    this.clock = opts.clock ?? systemClock
  }

  start(): void {
    this.loop ??= (async () => {
      while (!this.abort.signal.aborted) {
        await this.poll()
        await this.clock.sleep(this.opts.intervalMs, this.abort.signal)
      }
    })()
  }

  async stop(): Promise<void> {
    this.abort.abort()
    await this.loop
  }

  async poll(): Promise<void> {
    try {
      const list = await this.metrics.getNodeMetrics()
      const seen = new Set<string>()
      for (const item of list.items) {
        const name = item.metadata.name
        seen.add(name)
        let ring = this.history.get(name)
        if (!ring) this.history.set(name, (ring = new Ring(this.opts.historySamples)))
        ring.push({
          at: Date.parse(item.timestamp) || this.clock.now(),
          cpu: item.usage.cpu,
          memory: item.usage.memory,
          cpuCores: quantityToNumber(item.usage.cpu),
          memoryBytes: quantityToNumber(item.usage.memory),
        })
      }
      for (const name of this.history.keys()) if (!seen.has(name)) this.history.delete(name)
      if (this.lastError !== undefined || this.lastSuccessAt === undefined) this.opts.log.info({ nodes: seen.size }, 'metrics.k8s.io available: node usage enabled')
      this.lastSuccessAt = this.clock.now()
      this.lastError = undefined
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      if (this.lastError === undefined) this.opts.log.warn({ err: message }, 'metrics.k8s.io poll failed: last usage kept until it is old')
      this.lastError = message
    }
    this.opts.onChange?.()
  }

  /** Usage is known and recent enough to show: a poll succeeded within staleAfterMs. */
  get available(): boolean {
    const staleAfter = this.opts.staleAfterMs ?? Math.max(3 * this.opts.intervalMs, 60_000)
    return this.lastSuccessAt !== undefined && this.clock.now() - this.lastSuccessAt <= staleAfter
  }

  latest(node: string): NodeUsage | undefined {
    return this.available ? this.history.get(node)?.latest() : undefined
  }

  since(node: string, t: number): NodeUsage[] {
    return this.history.get(node)?.since(t) ?? []
  }
}
