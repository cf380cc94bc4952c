// Leader election through a coordination.k8s.io/v1 Lease, with client-go's semantics
// (k8s.io/client-go/tools/leaderelection): a candidate takes the Lease when it is absent, released
// (no holder) or expired; the leader renews it every retryPeriod and steps down when it could not
// renew for renewDeadline. Expiry is measured from when THIS replica last saw the record change
// (when its GET answered, on its monotonic clock), never from renewTime in the object, so clock
// skew between replicas and wall-clock jumps do not matter. Every update is conditional on the
// resourceVersion read: a 409 is a lost race. On stop the leader releases the Lease (no holder,
// leaseDurationSeconds 1, as ReleaseOnCancel) so another replica takes over at once.
// Fencing: onStoppedLeading is awaited before the elector campaigns again and before it releases
// the Lease, so two leading sessions of one replica never overlap and no runner of ours still acts
// once another replica may lead; stillLeading() lets runners check before each step.
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { KubeConfig } from '@kubernetes/client-node'
import { requestJson } from './raw.js'
import { isConflict, isNotFound, toKubeError } from './errors.js'
import { monotonicNow, systemClock, type Clock } from '../clock.js'
// The Lease's name is declared with its permissions (LEADER_LEASE_NAME in permissions.ts).
import { LEADER_LEASE_NAME } from './permissions.js'
import type { Log } from '../shared/log.js'

export interface LeaseSpec {
  holderIdentity?: string | null
  leaseDurationSeconds?: number | null
  acquireTime?: string | null
  renewTime?: string | null
  leaseTransitions?: number | null
}

export interface Lease {
  apiVersion?: string
  kind?: string
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown }
  spec?: LeaseSpec
}

/** The three calls leader election makes. The default goes to the API server; tests may wrap it. */
export interface LeaseClient {
  /** undefined when the Lease does not exist. */
  get(signal?: AbortSignal): Promise<Lease | undefined>
  create(lease: Lease, signal?: AbortSignal): Promise<Lease>
  /** Conditional on lease.metadata.resourceVersion: a stale one fails with 409. */
  update(lease: Lease, signal?: AbortSignal): Promise<Lease>
}

export function apiLeaseClient(kc: KubeConfig, namespace: string, name: string = LEADER_LEASE_NAME): LeaseClient {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`
  return {
    async get(signal) {
      try {
        return await requestJson<Lease>(kc, 'GET', `${base}/${encodeURIComponent(name)}`, undefined, signal)
      } catch (err) {
        if (isNotFound(err)) return undefined
        throw toKubeError(err, `get leases/${name} in namespace ${namespace}`)
      }
    },
    async create(lease, signal) {
      try {
        return await requestJson<Lease>(kc, 'POST', base, lease, signal)
      } catch (err) {
        throw toKubeError(err, `create leases in namespace ${namespace}`)
      }
    },
    async update(lease, signal) {
      try {
        return await requestJson<Lease>(kc, 'PUT', `${base}/${encodeURIComponent(name)}`, lease, signal)
      } catch (err) {
        throw toKubeError(err, `update leases/${name} in namespace ${namespace}`)
      }
    },
  }
}

/** Identity as the DESIGN says: POD_NAME, else hostname plus a random suffix. */
export function leaderIdentity(podName?: string): string {
  return podName || `${hostname()}_${randomBytes(4).toString('hex')}`
}

/** MicroTime as the API server writes it: RFC 3339 with six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

export interface LeaderElectorOptions {
  client: LeaseClient
  identity: string
  /** client-go defaults for controllers: 15 s, 10 s, 2 s. */
  leaseDurationMs?: number
  renewDeadlineMs?: number
  retryPeriodMs?: number
  clock?: Clock
  log?: Log
  /** Called on becoming leader; `lost` is aborted when leadership ends (client-go's ctx). */
  onStartedLeading?: (lost: AbortSignal) => void
  /** Called on losing leadership or on stop(); awaited before the next campaign and before the release. */
  onStoppedLeading?: () => Promise<void> | void
  /** Whenever the observed holder changes (undefined: nobody). */
  onNewLeader?: (identity: string | undefined) => void
}

const JITTER = 1.2

export class LeaderElector {
  readonly identity: string
  readonly leaseDurationMs: number
  readonly renewDeadlineMs: number
  readonly retryPeriodMs: number
  private readonly clock: Clock
  private readonly client: LeaseClient
  private observedRecord: LeaseSpec | undefined
  private observedRaw = ''
  /** Our monotonic clock when the record last changed (or was written by us). */
  private observedTime = 0
  /** Our monotonic clock when the last successful acquire or renew was SENT (conservative for fencing). */
  private renewedAt = -Infinity
  /** confirmLeading() callers waiting for the next renewal (or the end of leadership). */
  private renewWaiters = new Set<() => void>()
  private leading = false
  private lost = new AbortController()
  private running: Promise<void> | undefined
  private abort = new AbortController()
  /** Counters, for tests and metrics. */
  readonly stats = { attempts: 0, acquired: 0, renewed: 0, conflicts: 0, errors: 0, lost: 0 }
  lastError: string | undefined

  constructor(private readonly opts: LeaderElectorOptions) {
    this.identity = opts.identity
    this.client = opts.client
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000
    this.clock = opts.clock ?? systemClock
    if (this.leaseDurationMs <= this.renewDeadlineMs) throw new Error('leaseDuration must be greater than renewDeadline')
    if (this.renewDeadlineMs <= JITTER * this.retryPeriodMs) throw new Error('renewDeadline must be greater than retryPeriod*1.2')
  }

  get isLeader(): boolean { return this.leading }

  /**
   * Fencing for the leader's runners: call before each step that changes the cluster. True only
   * while this replica leads and its last successful renewal was sent less than renewDeadline ago
   * (monotonic), as client-go deems the lease lost after renewDeadline; false from the moment
   * leadership ends, while the stop callbacks still run.
   */
  stillLeading(): boolean {
    return this.leading && monotonicNow(this.clock) - this.renewedAt < this.renewDeadlineMs
  }

  /**
   * stillLeading(), but when this replica leads and only its renewal is overdue (a stalled event
   * loop, a paused VM), waits for the elector's next renewal or its stepping down, then answers:
   * a runner does not give up a plan the Lease still holds for it, nor acts on a lapsed one.
   */
  async confirmLeading(): Promise<boolean> {
    if (this.stillLeading()) return true
    if (!this.leading) return false
    await new Promise<void>((resolve) => this.renewWaiters.add(resolve))
    return this.stillLeading()
  }

  private renewed(sentAt: number): void {
    this.renewedAt = sentAt
    for (const wake of this.renewWaiters) wake()
    this.renewWaiters.clear()
  }

  /** The holder as this replica last saw it (undefined: none, or not yet read). */
  get leader(): string | undefined {
    return this.observedRecord?.holderIdentity || undefined
  }

  /** Runs until stop(): campaign, lead while renewals succeed, campaign again after losing. */
  start(): void {
    if (this.running) return
    this.abort = new AbortController()
    this.running = this.run(this.abort.signal)
  }

  /** Stops campaigning; a leader releases the Lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.abort.abort()
    await this.running
    this.running = undefined
    if (this.leading) {
      await this.setLeading(false)
      await this.release()
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // Acquire: try every retryPeriod (with jitter) until we hold the Lease.
      while (!signal.aborted) {
        if (await this.tryAcquireOrRenew(signal)) break
        await this.clock.sleep(this.retryPeriodMs * (1 + Math.random() * (JITTER - 1)), signal)
      }
      if (signal.aborted) return
      this.stats.acquired++
      await this.setLeading(true)
      // Renew: each round retries every retryPeriod until it succeeds or renewDeadline passes.
      for (;;) {
        await this.clock.sleep(this.retryPeriodMs, signal)
        if (signal.aborted) return
        const deadline = monotonicNow(this.clock) + this.renewDeadlineMs
        const left = () => deadline - monotonicNow(this.clock)
        let renewed = false
        for (;;) {
          if (left() <= 0 || signal.aborted) break
          if (await this.tryAcquireOrRenew(signal, left())) { renewed = true; break }
          if (left() <= 0) break
          await this.clock.sleep(Math.min(this.retryPeriodMs, Math.max(0, left())), signal)
        }
        if (signal.aborted) return
        if (renewed) { this.stats.renewed++; continue }
        this.stats.lost++
        this.opts.log?.warn({ identity: this.identity, lastError: this.lastError }, `leader election: failed to renew the Lease within ${this.renewDeadlineMs} ms: stepping down`)
        await this.setLeading(false) // the stops end before we campaign again
        break
      }
    }
  }

  private async setLeading(leading: boolean): Promise<void> {
    if (this.leading === leading) return
    this.leading = leading
    this.opts.log?.info({ identity: this.identity }, leading ? 'leader election: became the leader' : 'leader election: no longer the leader')
    if (leading) {
      this.lost = new AbortController()
      this.opts.onStartedLeading?.(this.lost.signal)
      return
    }
    this.lost.abort()
    for (const wake of this.renewWaiters) wake()
    this.renewWaiters.clear()
    try {
      await this.opts.onStoppedLeading?.()
    } catch (err) {
      this.opts.log?.warn({ identity: this.identity, err: err instanceof Error ? err.message : String(err) }, 'leader election: a stop callback failed')
    }
  }

  /** `now`: the monotonic reading when the record was read (after the request answered). */
  private observe(lease: Lease, now: number): void {
    const spec = lease.spec ?? {}
    const raw = JSON.stringify([spec.holderIdentity ?? '', spec.leaseDurationSeconds ?? 0, spec.acquireTime ?? '', spec.renewTime ?? '', spec.leaseTransitions ?? 0])
    const before = this.observedRecord?.holderIdentity || undefined
    if (raw !== this.observedRaw) {
      this.observedRaw = raw
      this.observedRecord = { ...spec }
      this.observedTime = now
    }
    const after = spec.holderIdentity || undefined
    if (before !== after) this.opts.onNewLeader?.(after)
  }

  /**
   * One attempt, as client-go's tryAcquireOrRenew: true when we hold the Lease afterwards.
   * Public so tests can drive single steps with a fake clock.
   */
  async tryAcquireOrRenew(outer?: AbortSignal, timeoutMs = this.renewDeadlineMs): Promise<boolean> {
    this.stats.attempts++
    const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs)))
    const signal = outer ? AbortSignal.any([outer, timeout]) : timeout
    const sentAt = monotonicNow(this.clock)
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000)
    try {
      const current = await this.client.get(signal)
      // Read the clocks once the GET has answered: a slow answer must not shorten the lease we saw.
      const mono = monotonicNow(this.clock)
      const now = this.clock.now() // wall clock: only for the times written into the record
      if (!current) {
        const created = await this.client.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: LEADER_LEASE_NAME },
          spec: { holderIdentity: this.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        }, signal)
        this.observe(created, monotonicNow(this.clock))
        this.renewed(sentAt)
        this.lastError = undefined
        return true
      }
      this.observe(current, mono)
      const spec = current.spec ?? {}
      const holder = spec.holderIdentity || ''
      const leaseMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000
      if (holder && holder !== this.identity && this.observedTime + leaseMs > mono) {
        this.lastError = undefined
        return false // held by another, not expired as we see it
      }
      const mine = holder === this.identity
      const next: LeaseSpec = {
        holderIdentity: this.identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      }
      const updated = await this.client.update({ ...current, spec: { ...spec, ...next } }, signal)
      this.observe(updated, monotonicNow(this.clock))
      this.renewed(sentAt)
      this.lastError = undefined
      return true
    } catch (err) {
      if (isConflict(err)) {
        this.stats.conflicts++
        this.lastError = 'lost the race for the Lease (409 Conflict)'
      } else {
        this.stats.errors++
        this.lastError = err instanceof Error ? err.message : String(err)
        this.opts.log?.warn({ identity: this.identity, err: this.lastError }, 'leader election: Lease request failed')
      }
      return false
    }
  }

  /** Gives the Lease up if we still hold it: no holder, leaseDurationSeconds 1 (client-go's release). */
  async release(): Promise<boolean> {
    try {
      const current = await this.client.get(AbortSignal.timeout(this.renewDeadlineMs))
      if (!current || (current.spec?.holderIdentity || '') !== this.identity) return false
      const now = this.clock.now()
      const updated = await this.client.update({
        ...current,
        spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: current.spec?.leaseTransitions ?? 0 },
      }, AbortSignal.timeout(this.renewDeadlineMs))
      this.observe(updated, monotonicNow(this.clock))
      this.opts.log?.info({ identity: this.identity }, 'leader election: released the Lease')
      return true
    } catch (err) {
      this.opts.log?.warn({ identity: this.identity, err: err instanceof Error ? err.message : String(err) }, 'leader election: could not release the Lease')
      return false
    }
  }
}
