// Revocation as StreamSpace does it: a signed, unexpired token is only good while StreamSpace's
// Redis (SESSION_STORE_URL) still holds the key `session:<jti>`; logout deletes it. With the
// setting, every verified token is checked there (through auth's addTokenCheck, before the role):
// the key missing -> 401; a token without jti -> 401; Redis down or too slow -> 503 saying so (fail
// closed: a signature alone does not prove the session is still valid). Answers are cached per jti
// for SESSION_STORE_CACHE_SECONDS (default 2, at most 5), so a logout takes effect within that.
// Without the setting nothing is checked (and the log says so once at start).
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { Counter } from 'prom-client'
import { Failure } from '../errors.js'
import { systemClock, type Clock } from '../clock.js'
import { METRIC_PREFIX } from '../nodes/node-series.js'

/** The one command the store needs (EXISTS), so tests can also drive the cache without a server. */
export interface SessionKeyLookup {
  exists(key: string): Promise<number>
}

export interface SessionStoreOptions {
  /** redis:// or rediss:// URL of StreamSpace's session store; unset: no revocation check. */
  url?: string
  /** How long one answer (present or missing) is reused for a jti. Default 2000 ms. */
  cacheMs?: number
  /** How long a lookup may take (connect or command) before the request is refused with 503. Default 1000 ms. */
  timeoutMs?: number
  clock?: Clock
}

/** StreamSpace's key for a logged-in session (deleted on logout). */
export const sessionKey = (jti: string) => `session:${jti}`

/** Longer jti values are refused without a lookup (StreamSpace's are UUIDs). */
const MAX_JTI_LENGTH = 512
/** At most this many jti answers are cached; the oldest goes first. */
const MAX_CACHED = 10_000

export class StoreUnavailable extends Error {
  constructor(readonly cause: unknown) {
    super(`session store lookup failed: ${(cause as Error)?.message ?? String(cause)}`)
    this.name = 'StoreUnavailable'
  }
}

/**
 * Whether a session (by jti) is still active in the store, with a short cache: a present or missing
 * key is believed for `cacheMs`, concurrent lookups of one jti share one command. A failed lookup
 * is never cached and throws StoreUnavailable.
 */
export class SessionStore {
  private readonly cache = new Map<string, { active: boolean; at: number }>()
  private readonly inFlight = new Map<string, Promise<boolean>>()

  constructor(
    private readonly redis: SessionKeyLookup,
    private readonly cacheMs: number,
    private readonly clock: Clock = systemClock,
    /** Told of every lookup that reached the store (cached answers are not). */
    private readonly onLookup: (result: 'present' | 'missing' | 'failed') => void = () => {},
  ) {}

  async isActive(jti: string): Promise<boolean> {
    const hit = this.cache.get(jti)
    if (hit && this.clock.now() - hit.at < this.cacheMs) return hit.active
    if (hit) this.cache.delete(jti)
    const running = this.inFlight.get(jti)
    if (running) return running
    const lookup = this.lookup(jti).finally(() => this.inFlight.delete(jti))
    this.inFlight.set(jti, lookup)
    return lookup
  }

  private async lookup(jti: string): Promise<boolean> {
    let n: number
    try {
      n = await this.redis.exists(sessionKey(jti))
    } catch (err) {
      this.onLookup('failed')
      throw new StoreUnavailable(err)
    }
    const active = n > 0
    this.onLookup(active ? 'present' : 'missing')
    if (this.cacheMs > 0) {
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string)
      this.cache.set(jti, { active, at: this.clock.now() })
    }
    return active
  }

  /** Forgets every cached answer. */
  clear(): void { this.cache.clear() }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Present when SESSION_STORE_URL is set. */
    sessionStore?: SessionStore
  }
}

/** The URL without its password, for the log. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'an unparsable URL'
  }
}

export default fp<SessionStoreOptions>(async (app, opts) => {
  if (!opts.url) {
    app.log.info('SESSION_STORE_URL is not set: tokens are not checked against StreamSpace\'s session store (a logged-out token stays valid until it expires)')
    return
  }
  const timeoutMs = opts.timeoutMs ?? 1000
  const where = redactUrl(opts.url)
  const redis = new Redis(opts.url, {
    // Fail at once while disconnected rather than queueing: the request answers 503 and the
    // client keeps reconnecting in the background (backoff 100 ms doubling to 2 s).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times - 1, 5), 2000),
    connectionName: 'streamspace-node-manager',
  })
  let up: boolean | undefined
  redis.on('ready', () => {
    if (up !== true) app.log.info({ session_store: where }, 'session store connected: tokens are checked for revocation')
    up = true
  })
  const lost = (why: string) => {
    if (up !== false && !closing) app.log.error({ session_store: where, err: why }, 'session store unreachable: requests with a token are refused with 503 until it answers')
    up = false
  }
  let closing = false
  redis.on('error', (err: Error) => lost(err.message))
  redis.on('close', () => lost('connection closed'))

  const lookups = new Counter({
    name: `${METRIC_PREFIX}session_store_lookups_total`,
    help: 'Lookups of session:<jti> in StreamSpace\'s Redis (cached answers not counted), by result: present, missing (revoked: 401) or failed (503)',
    labelNames: ['result'] as const,
    registers: [app.metrics.registry],
  })
  for (const result of ['present', 'missing', 'failed']) lookups.labels(result).inc(0)
  const store = new SessionStore(redis, opts.cacheMs ?? 2000, opts.clock, (result) => lookups.labels(result).inc())
  app.decorate('sessionStore', store)

  app.addTokenCheck(async (claims, request) => {
    const jti = claims.jti
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
      throw new Failure('unauthenticated', 'Unauthorized: the token carries no session id (jti) to check against the session store')
    }
    let active: boolean
    try {
      active = await store.isActive(jti)
    } catch (err) {
      request.log.warn({ session_store: where, err: (err as Error).message }, 'session store lookup failed: refused with 503')
      throw new Failure('unavailable', 'Session store unavailable: cannot confirm that the session is still valid (StreamSpace\'s Redis at SESSION_STORE_URL does not answer); refused rather than trusting the signature alone. Retry shortly.')
    }
    if (!active) throw new Failure('unauthenticated', 'Unauthorized: the session has ended (logged out or expired in StreamSpace)')
  })

  // Waits briefly for the first connection so the first requests are not refused needlessly;
  // a store still down after that is no reason to refuse to start (requests get 503 meanwhile).
  app.addHook('onReady', async () => {
    if (redis.status === 'ready') return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs)
      function done() { clearTimeout(timer); redis.off('ready', done); resolve() }
      redis.once('ready', done)
    })
  })
  app.addHook('onClose', async () => {
    closing = true
    redis.disconnect()
  })
}, { name: 'session-store', dependencies: ['auth', 'metrics'] })
