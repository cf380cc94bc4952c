// Where incidents go: Alertmanager's v2 API (every ALERTMANAGER_URL) and a webhook in
// Alertmanager's own webhook payload format (version "4"), HMAC-signed when a secret is set.
// Neither ever blocks the monitor: Alertmanager gets a coalescing outbox per URL (one pending entry
// per alert, the newest wins; resends cover failures), the webhook a bounded queue retried with
// backoff that drops its oldest message (counted) when full.
import { createHmac } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { Log } from '../shared/log.js'

export const SERVICE_LABEL = 'streamspace-node-manager'

/** One alert as Alertmanager's v2 API takes it (postableAlert). */
export interface PostableAlert {
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL: string
}

export type Receiver = 'alertmanager' | 'webhook'
export type SendResult = 'success' | 'failure' | 'dropped'

export interface SenderOptions {
  clock: Clock
  log?: Log
  /** Counts every delivery attempt's outcome (alerts sent by receiver and result). */
  count?: (receiver: Receiver, result: SendResult, n: number) => void
  /** Per request. Default 10 s. */
  timeoutMs?: number
  /** First retry delay, doubling up to maxBackoffMs. Defaults 500 ms and 30 s. */
  backoffMs?: number
  maxBackoffMs?: number
}

/** Identity of an alert: its label set (what Alertmanager de-duplicates on). */
export function alertKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]))
}

/** Prometheus' label-set fingerprint (FNV-1a 64 over sorted name, 0xff, value, 0xff), as hex. */
export function fingerprint(labels: Record<string, string>): string {
  let h = 0xcbf29ce484222325n
  const prime = 0x100000001b3n
  const mask = 0xffffffffffffffffn
  const feed = (bytes: Uint8Array) => { for (const b of bytes) h = ((h ^ BigInt(b)) * prime) & mask }
  const enc = new TextEncoder()
  for (const k of Object.keys(labels).sort()) {
    feed(enc.encode(k)); feed(Uint8Array.of(0xff)); feed(enc.encode(labels[k])); feed(Uint8Array.of(0xff))
  }
  return h.toString(16).padStart(16, '0')
}

/**
 * Alertmanager v2 on one URL: alerts put here are POSTed as soon as no other POST to that URL is
 * in flight; a failure keeps them (unless a newer version of the same alert arrived) and retries
 * with backoff. Memory is bounded by the number of distinct alerts.
 */
export class AlertmanagerOutbox {
  private pending = new Map<string, PostableAlert>()
  private busy = false
  private failures = 0
  private closed = false
  private readonly abort = new AbortController()
  private flushing: Promise<void> = Promise.resolve()
  readonly url: string

  constructor(baseUrl: string, private readonly opts: SenderOptions) {
    this.url = baseUrl.replace(/\/+$/, '') + '/api/v2/alerts'
  }

  get size(): number { return this.pending.size }

  put(alerts: PostableAlert[]): void {
    if (this.closed) return
    for (const a of alerts) this.pending.set(alertKey(a.labels), a)
    if (!this.busy) this.flushing = this.flush()
  }

  private async flush(): Promise<void> {
    this.busy = true
    try {
      while (this.pending.size && !this.closed) {
        const batch = [...this.pending.entries()]
        this.pending.clear()
        try {
          const res = await fetch(this.url, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch.map(([, a]) => a)),
            signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.opts.timeoutMs ?? 10_000)]),
          })
          const text = await res.text()
          if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`)
          this.failures = 0
          this.opts.count?.('alertmanager', 'success', batch.length)
        } catch (err) {
          this.opts.count?.('alertmanager', 'failure', batch.length)
          this.opts.log?.warn({ url: this.url, alerts: batch.length, err: (err as Error).message }, 'alertmanager: could not post alerts; will retry')
          // Keep what failed unless a newer version of the same alert is already waiting.
          for (const [k, a] of batch) if (!this.pending.has(k)) this.pending.set(k, a)
          this.failures++
          const delay = Math.min(this.opts.maxBackoffMs ?? 30_000, (this.opts.backoffMs ?? 500) * 2 ** (this.failures - 1))
          await this.opts.clock.sleep(delay, this.abort.signal)
        }
      }
    } finally {
      this.busy = false
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.abort.abort()
    await this.flushing
  }
}

/** Alertmanager's webhook payload (version 4) for one alert. */
export interface WebhookMessage {
  version: '4'
  groupKey: string
  truncatedAlerts: number
  status: 'firing' | 'resolved'
  receiver: string
  groupLabels: Record<string, string>
  commonLabels: Record<string, string>
  commonAnnotations: Record<string, string>
  externalURL: string
  alerts: {
    status: 'firing' | 'resolved'
    labels: Record<string, string>
    annotations: Record<string, string>
    startsAt: string
    endsAt: string
    generatorURL: string
    fingerprint: string
  }[]
}

/** Alertmanager writes the zero time as endsAt of a firing alert in webhook payloads. */
export const ZERO_TIME = '0001-01-01T00:00:00Z'

export function webhookMessage(alert: PostableAlert, status: 'firing' | 'resolved', externalURL: string): WebhookMessage {
  const groupLabels = { alertname: alert.labels.alertname, node: alert.labels.node }
  return {
    version: '4',
    groupKey: `{}:{alertname="${groupLabels.alertname}", node="${groupLabels.node}"}`,
    truncatedAlerts: 0,
    status,
    receiver: SERVICE_LABEL,
    groupLabels,
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL,
    alerts: [{
      status,
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: alert.startsAt,
      endsAt: status === 'firing' ? ZERO_TIME : alert.endsAt,
      generatorURL: alert.generatorURL,
      fingerprint: fingerprint(alert.labels),
    }],
  }
}

/** `sha256=<hex HMAC-SHA256 of the body>`, as the X-StreamSpace-Signature header carries it. */
export function signBody(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex')
}

export interface WebhookOptions extends SenderOptions {
  url: string
  secret?: string
  /** Messages waiting at most; when full the oldest is dropped (counted). Default 1000. */
  maxQueue?: number
  /** A message is given up after this many attempts (counted as dropped). Default 12. */
  maxAttempts?: number
}

/** The webhook: one message at a time, in order, retried with backoff; enqueue never waits. */
export class WebhookQueue {
  private queue: { body: string; attempts: number }[] = []
  private running: Promise<void> | undefined
  private closed = false
  private readonly abort = new AbortController()
  dropped = 0
  delivered = 0

  constructor(private readonly opts: WebhookOptions) {}

  get size(): number { return this.queue.length }

  enqueue(message: WebhookMessage): void {
    if (this.closed) return
    const max = this.opts.maxQueue ?? 1000
    while (this.queue.length >= max) {
      this.queue.shift()
      this.dropped++
      this.opts.count?.('webhook', 'dropped', 1)
      this.opts.log?.warn({ queue: max }, 'webhook: queue full, dropped the oldest message')
    }
    this.queue.push({ body: JSON.stringify(message), attempts: 0 })
    this.running ??= this.drain().finally(() => { this.running = undefined })
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.closed) {
      const msg = this.queue[0]
      msg.attempts++
      try {
        const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': SERVICE_LABEL }
        if (this.opts.secret) headers['x-streamspace-signature'] = signBody(this.opts.secret, msg.body)
        const res = await fetch(this.opts.url, {
          method: 'POST', headers, body: msg.body,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.opts.timeoutMs ?? 10_000)]),
        })
        await res.arrayBuffer()
        if (!res.ok) throw new Error(`HTTP ${res.status}`)
        if (this.queue[0] === msg) this.queue.shift()
        this.delivered++
        this.opts.count?.('webhook', 'success', 1)
      } catch (err) {
        if (this.closed) return
        this.opts.count?.('webhook', 'failure', 1)
        if (msg.attempts >= (this.opts.maxAttempts ?? 12)) {
          if (this.queue[0] === msg) this.queue.shift()
          this.dropped++
          this.opts.count?.('webhook', 'dropped', 1)
          this.opts.log?.warn({ attempts: msg.attempts, err: (err as Error).message }, 'webhook: giving up on a message')
          continue
        }
        const delay = Math.min(this.opts.maxBackoffMs ?? 30_000, (this.opts.backoffMs ?? 500) * 2 ** (msg.attempts - 1))
        this.opts.log?.warn({ attempt: msg.attempts, retryInMs: delay, err: (err as Error).message }, 'webhook: delivery failed; will retry')
        await this.opts.clock.sleep(delay, this.abort.signal)
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.abort.abort()
    await this.running
  }
}
