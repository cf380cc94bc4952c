// Where incidents go: Alertmanager's v2 API (every ALERTMANAGER_URL) and a webhook in
// Alertmanager's own webhook payload format (version "4"), signed as Stripe signs its webhooks when
// a secret is set. Neither ever blocks the monitor: Alertmanager gets a coalescing outbox per URL
// (one pending entry per alert, the newest wins, at most 500 alerts per POST), the webhook a
// bounded queue retried with backoff. Both report each message's outcome to a callback: the
// monitor records it in the incident's NodeIncident object, the outbox that outlives this process.
import { createHmac, randomUUID } from 'node:crypto'
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

/** How a message ended: delivered (2xx), or dropped (refused for good: a 4xx from Alertmanager). */
export type Outcome = 'delivered' | 'dropped'

/** Alertmanager takes any number of alerts per POST; batches stay below what a proxy may refuse. */
export const MAX_ALERTS_PER_POST = 500

/** A 4xx is Alertmanager refusing the alerts (e.g. 400 for an invalid one): retrying cannot help. 408 and 429 are passing. */
function refusedForGood(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429
}

/**
 * Alertmanager v2 on one URL: alerts put here are POSTed (at most 500 per POST) as soon as no
 * other POST to that URL is in flight; a failure keeps them (unless a newer version of the same
 * alert arrived) and retries with backoff; a 4xx drops the batch (counted, logged with the answer).
 * Memory is bounded by the number of distinct alerts.
 */
export class AlertmanagerOutbox {
  private pending = new Map<string, { alert: PostableAlert; done: ((outcome: Outcome) => void)[] }>()
  private busy = false
  private failures = 0
  private closed = false
  private readonly abort = new AbortController()
  private flushing: Promise<void> = Promise.resolve()
  readonly url: string
  /** The receiver's name in a NodeIncident's deliveries. */
  readonly name: string

  constructor(baseUrl: string, private readonly opts: SenderOptions) {
    this.url = baseUrl.replace(/\/+$/, '') + '/api/v2/alerts'
    this.name = `alertmanager ${baseUrl.replace(/\/+$/, '')}`
  }

  get size(): number { return this.pending.size }

  /** Queues the alerts; `done` hears each one's outcome (not for a version replaced by a newer one before it was sent: that one's). */
  put(alerts: PostableAlert[], done?: (alert: PostableAlert, outcome: Outcome) => void): void {
    if (this.closed) return
    for (const a of alerts) {
      const k = alertKey(a.labels)
      const callbacks = this.pending.get(k)?.done ?? []
      if (done) callbacks.push((o) => done(a, o))
      this.pending.set(k, { alert: a, done: callbacks })
    }
    if (!this.busy) this.flushing = this.flush()
  }

  /** Forgets what waits (leadership lost: the next leader sends what the incidents say is undelivered). */
  clear(): void { this.pending.clear() }

  private async flush(): Promise<void> {
    this.busy = true
    try {
      while (this.pending.size && !this.closed) {
        const batch = [...this.pending.entries()].slice(0, MAX_ALERTS_PER_POST)
        for (const [k] of batch) this.pending.delete(k)
        const settle = (outcome: Outcome) => { for (const [, e] of batch) for (const d of e.done) d(outcome) }
        try {
          const res = await fetch(this.url, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch.map(([, e]) => e.alert)),
            signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.opts.timeoutMs ?? 10_000)]),
          })
          const text = await res.text()
          if (refusedForGood(res.status)) {
            this.failures = 0
            this.opts.count?.('alertmanager', 'dropped', batch.length)
            this.opts.log?.warn({ url: this.url, alerts: batch.length, status: res.status, answer: text.slice(0, 1000) }, 'alertmanager refused the alerts; dropped (not retried)')
            settle('dropped')
            continue
          }
          if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`)
          this.failures = 0
          this.opts.count?.('alertmanager', 'success', batch.length)
          settle('delivered')
        } catch (err) {
          this.opts.count?.('alertmanager', 'failure', batch.length)
          this.opts.log?.warn({ url: this.url, alerts: batch.length, err: (err as Error).message }, 'alertmanager: could not post alerts; will retry')
          // Keep what failed unless a newer version of the same alert is already waiting (which then reports for both).
          for (const [k, e] of batch) {
            const newer = this.pending.get(k)
            if (newer) newer.done.unshift(...e.done)
            else this.pending.set(k, e)
          }
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

/**
 * The X-StreamSpace-Signature header, as Stripe signs its webhooks: `t=<unix seconds>,v1=<hex
 * HMAC-SHA256 of "<t>.<raw body>">`. The time inside the signed text lets a receiver refuse a
 * replay of a captured request (docs/alerts.md: the receiver's check).
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`
}

export interface WebhookOptions extends SenderOptions {
  url: string
  secret?: string
  /** Messages waiting at most; when full the oldest is dropped (counted). Default 1000. */
  maxQueue?: number
  /** A message is given up after this many attempts (counted as dropped). Default 12. */
  maxAttempts?: number
}

export interface WebhookDelivery {
  /** X-StreamSpace-Delivery: the same on every attempt (and, given by the caller, across processes), so a receiver can drop duplicates. */
  id?: string
  /** After a 2xx. */
  onDelivered?: () => void
}

/**
 * The webhook: one message at a time, in order, retried with backoff; enqueue never waits. A
 * message whose id is already queued is not queued twice. What it drops (full, or given up) is
 * still undelivered in its incident: the monitor queues it again later.
 */
export class WebhookQueue {
  private queue: { id: string; body: string; attempts: number; onDelivered?: () => void }[] = []
  private running: Promise<void> | undefined
  private closed = false
  private readonly abort = new AbortController()
  readonly name = 'webhook'
  dropped = 0
  delivered = 0

  constructor(private readonly opts: WebhookOptions) {}

  get size(): number { return this.queue.length }

  /** Whether a message with this id waits or is being sent. */
  has(id: string): boolean { return this.queue.some((m) => m.id === id) }

  enqueue(message: WebhookMessage, delivery: WebhookDelivery = {}): void {
    if (this.closed) return
    const id = delivery.id ?? randomUUID()
    if (this.has(id)) return
    const max = this.opts.maxQueue ?? 1000
    while (this.queue.length >= max) {
      this.queue.shift()
      this.dropped++
      this.opts.count?.('webhook', 'dropped', 1)
      this.opts.log?.warn({ queue: max }, 'webhook: queue full, dropped the oldest message')
    }
    this.queue.push({ id, body: JSON.stringify(message), attempts: 0, onDelivered: delivery.onDelivered })
    this.running ??= this.drain().finally(() => { this.running = undefined })
  }

  /** Forgets what waits (leadership lost: the next leader sends what the incidents say is undelivered). */
  clear(): void { this.queue = [] }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.closed) {
      const msg = this.queue[0]
      msg.attempts++
      try {
        const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': SERVICE_LABEL, 'x-streamspace-delivery': msg.id }
        if (this.opts.secret) headers['x-streamspace-signature'] = signWebhook(this.opts.secret, msg.body, Math.floor(this.opts.clock.now() / 1000))
        const res = await fetch(this.opts.url, {
          method: 'POST', headers, body: msg.body,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.opts.timeoutMs ?? 10_000)]),
        })
        await res.arrayBuffer()
        if (!res.ok) throw new Error(`HTTP ${res.status}`)
        if (this.queue[0] === msg) this.queue.shift()
        this.delivered++
        this.opts.count?.('webhook', 'success', 1)
        msg.onDelivered?.()
      } catch (err) {
        if (this.closed) return
        this.opts.count?.('webhook', 'failure', 1)
        if (msg.attempts >= (this.opts.maxAttempts ?? 12)) {
          if (this.queue[0] === msg) this.queue.shift()
          this.dropped++
          this.opts.count?.('webhook', 'dropped', 1)
          this.opts.log?.warn({ delivery: msg.id, attempts: msg.attempts, err: (err as Error).message }, 'webhook: giving up on a message for now')
          continue
        }
        const delay = Math.min(this.opts.maxBackoffMs ?? 30_000, (this.opts.backoffMs ?? 500) * 2 ** (msg.attempts - 1))
        this.opts.log?.warn({ delivery: msg.id, attempt: msg.attempts, retryInMs: delay, err: (err as Error).message }, 'webhook: delivery failed; will retry')
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
