// Revocation through StreamSpace's Redis (src/plugins/session-store.ts) against a real
// redis-server: a token is good only while `session:<jti>` exists; a logout (the key deleted)
// takes effect within the cache time; Redis down or frozen fails closed with 503 saying so, and
// service resumes when it is back. The cluster is the simulator (revocation never touches it).
import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { startBackend, type Backend } from '../helpers/backend.js'
import { makeToken, startService, TEST_JWT_SECRET, waitFor, type Service } from '../helpers/service.js'
import { RedisServer } from '../helpers/redis.js'
import { FakeClock } from '../helpers/clock.js'
import { SessionStore, sessionKey } from '../../src/plugins/session-store.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { Redis } from 'ioredis'

const jtiOf = (token: string): string => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti

/** A token StreamSpace issued at login: signed, and its session key written to Redis. */
async function login(redis: RedisServer, claims: Parameters<typeof makeToken>[0] = {}): Promise<{ token: string; jti: string }> {
  const token = makeToken(claims)
  const jti = jtiOf(token)
  await redis.set(sessionKey(jti), JSON.stringify({ user_id: claims.user_id ?? 'u-1', username: claims.username ?? 'alice' }))
  return { token, jti }
}

let backend: Backend
let redis: RedisServer
t.before(async () => {
  backend = await startBackend('sim')
  redis = await RedisServer.start()
})
t.teardown(async () => {
  await redis?.close()
  await backend?.close()
})

async function serviceWith(t: Test, env: Record<string, string>, log?: string[]): Promise<Service> {
  const svc = await startService(backend.kc, {
    env: { SESSION_STORE_URL: redis.url, ...(log ? { LOG_LEVEL: 'info' } : {}), ...env },
    ...(log ? { logStream: { write: (l: string) => { log.push(l) } } } : {}),
  })
  t.teardown(() => svc.close())
  return svc
}

t.test('a token is good while its session key exists, and 401 within the cache time after logout', async (t) => {
  const svc = await serviceWith(t, { SESSION_STORE_CACHE_SECONDS: '1' })
  const { token, jti } = await login(redis)
  const ok = await svc.api('/nodes', { token })
  t.equal(ok.status, 200, 'session key present: 200')
  // Also StreamSpace's own admin Nodes API, behind the same check.
  t.equal((await fetch(`${svc.url}/api/v1/admin/nodes`, { headers: { authorization: `Bearer ${token}` } })).status, 200)

  await redis.del(sessionKey(jti))
  const loggedOut = Date.now()
  let res: Response
  for (;;) {
    res = await svc.api('/nodes', { token })
    if (res.status !== 200) break
    t.ok(Date.now() - loggedOut < 1500, 'the old answer is reused only within the 1 s cache')
    await new Promise((r) => setTimeout(r, 50))
  }
  const tookMs = Date.now() - loggedOut
  t.equal(res.status, 401, 'logged out: 401')
  t.ok(tookMs < 1500, `logout took effect after ${tookMs} ms (cache 1 s; the contract: within 10 s)`)
  const body = await res.json() as { statusCode: number; message: string }
  t.equal(body.statusCode, 401)
  t.match(body.message, /session has ended/)
  t.notMatch(JSON.stringify(body), jti, 'the answer does not echo the session id')
  t.equal((await fetch(`${svc.url}/api/v1/admin/nodes`, { headers: { authorization: `Bearer ${token}` } })).status, 401, 'compat API too')

  // Another user's live session is not affected.
  const other = await login(redis, { user_id: 'u-2', username: 'bob' })
  t.equal((await svc.api('/nodes', { token: other.token })).status, 200)
})

t.test('a token without jti is 401 when the session store is configured', async (t) => {
  const svc = await serviceWith(t, {})
  const now = Math.floor(Date.now() / 1000)
  const sign = createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256' })
  for (const jti of [undefined, '', 42]) {
    const payload: Record<string, unknown> = { user_id: 'u-1', username: 'alice', role: 'admin', iss: 'streamspace-api', iat: now, exp: now + 600 }
    if (jti !== undefined) payload.jti = jti
    const res = await svc.api('/nodes', { token: sign(payload) })
    t.equal(res.status, 401, `jti ${JSON.stringify(jti)}: 401`)
    t.match((await res.json() as { message: string }).message, /no session id \(jti\)/)
  }
  // A jti far longer than StreamSpace's UUIDs is refused without a lookup.
  const res = await svc.api('/nodes', { token: sign({ user_id: 'u-1', username: 'alice', role: 'admin', iss: 'streamspace-api', iat: now, exp: now + 600, jti: 'x'.repeat(600) }) })
  t.equal(res.status, 401)
})

t.test('a revoked session is 401 before the role is looked at; a live non-admin is 403', async (t) => {
  const svc = await serviceWith(t, {})
  const live = await login(redis, { role: 'user', user_id: 'u-3', username: 'carol' })
  t.equal((await svc.api('/nodes', { token: live.token })).status, 403)
  const revoked = makeToken({ role: 'user', user_id: 'u-3', username: 'carol' })
  t.equal((await svc.api('/nodes', { token: revoked })).status, 401)
  // Bad signatures never reach Redis: 401 as before.
  t.equal((await svc.api('/nodes', { token: makeToken({ secret: 'another-secret-that-is-at-least-32-characters' }) })).status, 401)
})

t.test('Redis stopped: 503 saying so; restarted: works again', async (t) => {
  const log: string[] = []
  const svc = await serviceWith(t, { SESSION_STORE_CACHE_SECONDS: '0', SESSION_STORE_TIMEOUT_MS: '500' }, log)
  const { token } = await login(redis)
  t.equal((await svc.api('/nodes', { token })).status, 200)

  await redis.stop()
  const res = await svc.api('/nodes', { token })
  t.equal(res.status, 503, 'store down: fail closed')
  const body = await res.json() as { statusCode: number; error: string; message: string }
  t.equal(body.statusCode, 503)
  t.match(body.message, /Session store unavailable/)
  t.match(body.message, /SESSION_STORE_URL/)
  t.notMatch(body.message, /127\.0\.0\.1|ECONNREFUSED/, 'no address or internals in the answer')
  // Reads under the prefix, writes and the compat API alike; the unauthenticated endpoints still answer.
  t.equal((await svc.api('/nodes/stats', { token })).status, 503)
  t.equal((await svc.api('/nodes/nope/labels', { token, method: 'PUT', json: { key: 'a', value: 'b' } })).status, 503)
  t.equal((await fetch(`${svc.url}/healthz`)).status, 200, '/healthz needs no session store')
  t.equal((await fetch(`${svc.url}/readyz`)).status, 200, '/readyz needs no session store')
  // Still a 401 for tokens that are bad on their own: no lookup needed.
  t.equal((await svc.api('/nodes', { token: null })).status, 401)

  await redis.start()
  await waitFor(async () => (await svc.api('/nodes', { token })).status === 200, 10_000, 'requests succeed once Redis is back')
  t.pass('works again after the restart (the session persisted in Redis)')
  const metrics = await (await fetch(`${svc.url}/metrics`)).text()
  t.match(metrics, /streamspace_node_manager_session_store_lookups_total\{result="failed"\} [1-9]/)
  t.match(metrics, /streamspace_node_manager_session_store_lookups_total\{result="present"\} [1-9]/)
  const lines = log.join('')
  t.match(lines, /session store unreachable/, 'the outage is logged')
  t.notMatch(lines, token, 'the token is never logged')
})

t.test('Redis frozen (accepts connections, answers nothing): 503 after the timeout, not a hang', async (t) => {
  const svc = await serviceWith(t, { SESSION_STORE_CACHE_SECONDS: '0', SESSION_STORE_TIMEOUT_MS: '300' })
  const { token } = await login(redis)
  t.equal((await svc.api('/nodes', { token })).status, 200)
  redis.freeze()
  try {
    const started = Date.now()
    const res = await svc.api('/nodes', { token })
    const took = Date.now() - started
    t.equal(res.status, 503)
    t.ok(took < 3000, `refused after ${took} ms (timeout 300 ms)`)
  } finally {
    redis.thaw()
  }
  await waitFor(async () => (await svc.api('/nodes', { token })).status === 200, 10_000, 'answers again once Redis thaws')
})

t.test('without SESSION_STORE_URL no lookup is made: a signed admin token alone is enough', async (t) => {
  const svc = await startService(backend.kc)
  t.teardown(() => svc.close())
  t.equal((await svc.api('/nodes', { token: makeToken() })).status, 200, 'no key in Redis, no store configured: 200')
  t.equal(svc.app.sessionStore, undefined)
})

t.test('SESSION_STORE_* settings are validated, naming the setting', async (t) => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ JWT_SECRET: TEST_JWT_SECRET, ...env })
      return ''
    } catch (err) {
      t.type(err, ConfigError)
      return (err as Error).message
    }
  }
  t.match(problems({ SESSION_STORE_URL: 'http://redis:6379' }), /SESSION_STORE_URL must match/)
  t.match(problems({ SESSION_STORE_CACHE_SECONDS: '30' }), /SESSION_STORE_CACHE_SECONDS must be a number from 0 to 5/)
  t.match(problems({ SESSION_STORE_TIMEOUT_MS: '10' }), /SESSION_STORE_TIMEOUT_MS must be an integer from 50 to 10000/)
  t.equal(problems({ SESSION_STORE_URL: 'rediss://:pw@redis.streamspace:6380/2' }), '')
  t.equal(loadConfig({ JWT_SECRET: TEST_JWT_SECRET }).service.sessionStoreCacheSeconds, 2, 'default cache: 2 s')
})

t.test('the cache: one answer per jti for exactly cacheMs (fake clock), shared lookups, failures never cached', async (t) => {
  const client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500, lazyConnect: true })
  await client.connect()
  t.teardown(() => client.disconnect())
  const clock = new FakeClock()
  const seen: string[] = []
  const store = new SessionStore(client, 2000, clock, (r) => seen.push(r))
  const jti = randomUUID()
  await redis.set(sessionKey(jti), '{}')
  t.equal(await store.isActive(jti), true)
  await redis.del(sessionKey(jti))
  clock.advance(1999)
  t.equal(await store.isActive(jti), true, 'still cached at 1999 ms')
  clock.advance(1)
  t.equal(await store.isActive(jti), false, 'looked up again at 2000 ms: gone')
  t.same(seen, ['present', 'missing'])

  // A missing key is cached too (a logged-out token cannot hammer Redis).
  t.equal(await store.isActive(jti), false)
  t.equal(seen.length, 2)

  // Ten concurrent checks of one new jti make one lookup.
  const other = randomUUID()
  await redis.set(sessionKey(other), '{}')
  const answers = await Promise.all(Array.from({ length: 10 }, () => store.isActive(other)))
  t.same(answers, Array(10).fill(true))
  t.equal(seen.length, 3, 'one lookup for ten checks')

  // A failure is thrown and not cached: the next check asks again.
  const failing = new SessionStore({ exists: async () => { throw new Error('down') } }, 2000, clock, (r) => seen.push(r))
  await t.rejects(failing.isActive(jti), { name: 'StoreUnavailable' })
  await t.rejects(failing.isActive(jti), { name: 'StoreUnavailable' })
  t.same(seen.slice(3), ['failed', 'failed'])
})
