// metrics.k8s.io NodeMetrics, polled on an interval (as metrics-server itself resolves only every
// ~15 s, watching is not an option). Keeps the latest usage per node and a bounded history ring.
// metrics-server absent (404/503): available=false, usage null everywhere, nothing fails. A failed
// poll keeps what was measured: usage turns null only once the last good poll is staleAfterMs old.
import { setImmediate as turn } from 'node:timers/promises'
import type { KubeConfig } from '@kubernetes/client-node'
import { getListBody, PageBuffer, readListPage, type FieldMask } from './raw.js'
import { formatQuantity, parseQuantity, type Quantity } from './quantity.js'
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

const NANO = 1_000_000_000n

/**
 * A node's usage samples in typed arrays, oldest first. As objects with their two quantity texts
 * they took ~190 bytes a sample: 226 MB at 5,000 nodes and 240 samples (an hour at 15 s), more
 * than everything else the service holds. Here a sample is about 28 bytes (test/bench/history.ts):
 * CPU in nanocores and memory in bytes (exact for what metrics-server reports: whole nanocores,
 * Ki), each with its quantity format, the texts made again when the history is read. The arrays
 * grow as samples come.
 */
export class UsageRing {
  /** at, cpu nanocores, memory bytes per sample. */
  private values = new Float64Array(0)
  /** Per sample: 1 when the CPU text was BinarySI, 2 when the memory text was. */
  private formats = new Uint8Array(0)
  private start = 0
  private size = 0
  /** The newest sample as polled: the views show its texts as they came. */
  private newest: NodeUsage | undefined

  constructor(private readonly capacity: number) {}

  /** `cpu` and `memory` are u.cpu and u.memory parsed (the poll has them already). */
  push(u: NodeUsage, cpu: Quantity = parseQuantity(u.cpu), memory: Quantity = parseQuantity(u.memory)): void {
    if (this.newest && this.newest.at === u.at) return // same metrics-server scrape seen twice
    if (this.capacity < 1) return
    if (this.size === this.formats.length && this.size < this.capacity) this.grow()
    const i = (this.start + this.size) % this.formats.length
    if (this.size < this.formats.length) this.size++
    else this.start = (this.start + 1) % this.formats.length
    this.values[3 * i] = u.at
    this.values[3 * i + 1] = Number(cpu.nano)
    this.values[3 * i + 2] = memory.nano % NANO === 0n ? Number(memory.nano / NANO) : Number(memory.nano) / 1e9
    this.formats[i] = (cpu.format === 'BinarySI' ? 1 : 0) | (memory.format === 'BinarySI' ? 2 : 0)
    this.newest = u
  }

  /** Room for twice the samples (at most capacity); only while the ring has never wrapped. */
  private grow(): void {
    const n = Math.min(this.capacity, Math.max(8, 2 * this.formats.length))
    const values = new Float64Array(3 * n)
    values.set(this.values)
    const formats = new Uint8Array(n)
    formats.set(this.formats)
    this.values = values
    this.formats = formats
  }

  latest(): NodeUsage | undefined {
    return this.newest
  }

  since(t: number): NodeUsage[] {
    const out: NodeUsage[] = []
    for (let k = 0; k < this.size; k++) {
      const i = (this.start + k) % this.formats.length
      const at = this.values[3 * i]
      if (at < t) continue
      const cpuNano = this.values[3 * i + 1]
      const memoryBytes = this.values[3 * i + 2]
      const f = this.formats[i]
      out.push({
        at,
        cpu: formatQuantity({ nano: BigInt(cpuNano), format: f & 1 ? 'BinarySI' : 'DecimalSI' }),
        memory: formatQuantity({
          nano: Number.isInteger(memoryBytes) ? BigInt(memoryBytes) * NANO : BigInt(Math.round(memoryBytes * 1e9)),
          format: f & 2 ? 'BinarySI' : 'DecimalSI',
        }),
        cpuCores: cpuNano / 1e9,
        memoryBytes,
      })
    }
    return out
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

/** What a poll reads of each NodeMetrics item (a list page parses only these). */
const NODE_METRICS_FIELDS: FieldMask = { metadata: { name: true }, timestamp: true, usage: { cpu: true, memory: true } }

interface RawNodeMetrics { metadata?: { name?: string }; timestamp?: string; usage?: { cpu?: string; memory?: string } }

/** Items parsed between turns of the event loop: a poll at 65,000 nodes must not stall answers. */
const ITEMS_PER_TURN = 500

export class NodeMetricsStore {
  lastError: string | undefined
  /** When the last poll that succeeded ended (clock time). */
  private lastSuccessAt: number | undefined
  private readonly history = new Map<string, UsageRing>()
  private readonly page = new PageBuffer()
  private readonly abort = new AbortController()
  private readonly clock: Clock
  private loop: Promise<void> | undefined

  constructor(private readonly opts: NodeMetricsOptions) {
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
      // Read as bytes and parsed a slice at a time (client-node's model of 65,000 items took ~0.5 s in one go).
      const body = await getListBody(this.opts.kc, '/apis/metrics.k8s.io/v1beta1/nodes', {}, undefined, this.page)
      const seen = new Set<string>()
      const items = readListPage(body, NODE_METRICS_FIELDS)
      for (let n = 1; ; n++) {
        const r = items.next()
        if (r.done) break
        if (n % ITEMS_PER_TURN === 0) await turn()
        const item = r.value as RawNodeMetrics
        const name = item.metadata?.name
        if (!name || !item.usage?.cpu || !item.usage.memory) continue
        seen.add(name)
        let ring = this.history.get(name)
        if (!ring) this.history.set(name, (ring = new UsageRing(this.opts.historySamples)))
        // Each text parsed once: the ring keeps the exact values, the sample the floats views use.
        const cpu = parseQuantity(item.usage.cpu)
        const memory = parseQuantity(item.usage.memory)
        ring.push({
          at: Date.parse(item.timestamp ?? '') || this.clock.now(),
          cpu: item.usage.cpu,
          memory: item.usage.memory,
          cpuCores: Number(cpu.nano) / 1e9,
          memoryBytes: Number(memory.nano) / 1e9,
        }, cpu, memory)
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
