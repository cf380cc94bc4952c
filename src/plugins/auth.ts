// StreamSpace admin JWTs: HS256 with the shared secret, exp and iss required (fast-jwt skips the issuer check when iss is absent), nbf honoured,
// a small clock tolerance. `app.requireAdmin` is the onRequest hook for every route under the
// prefix: no/invalid/expired token -> 401, valid but not role=admin -> 403. Other plugins add
// checks of a verified token with `app.addTokenCheck` (session-store: revocation through Redis);
// they run after the signature and claims are verified and before the role is looked at.
// With `secretFile` (JWT_SECRET_FILE) the secret is re-read when the file changes, and tokens signed
// with the previous secret are accepted for `graceMs` (src/plugins/jwt-secrets.ts).
import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import { createVerifier, TokenError } from 'fast-jwt'
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { Failure } from '../errors.js'
import { systemClock, type Clock } from '../clock.js'
import { JwtSecrets, watchSecretFile } from './jwt-secrets.js'

export interface StreamSpaceClaims {
  user_id: string
  username: string
  email?: string
  role: 'admin' | 'operator' | 'user'
  groups?: string[]
  jti?: string
  iss: string
  sub?: string
  iat?: number
  exp: number
  nbf?: number
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    /** What we sign (demo token, tests): iss and exp are added by the signer. */
    payload: Omit<StreamSpaceClaims, 'iss' | 'exp'> & Partial<Pick<StreamSpaceClaims, 'iss' | 'exp'>>
    user: StreamSpaceClaims
  }
}

/** A further check of a verified token: throws a Failure to refuse it. */
export type TokenCheck = (claims: StreamSpaceClaims, request: FastifyRequest) => Promise<void>

declare module 'fastify' {
  interface FastifyInstance {
    requireAdmin: onRequestHookHandler
    /** Adds a check every verified token must pass (in the order added), before the role check. */
    addTokenCheck(check: TokenCheck): void
  }
}

export interface AuthOptions {
  /** The secret at start (from JWT_SECRET or the file). */
  secret: string
  issuer: string
  /** The mounted secret file to follow (JWT_SECRET_FILE); without it the secret never changes. */
  secretFile?: string
  /** How long tokens signed with the previous secret still pass after a change. */
  graceMs?: number
  /** How often the file is read again beside watching its directory (default 5 s). */
  pollMs?: number
  clock?: Clock
}

const DEFAULT_GRACE_MS = 5 * 60_000
const DEFAULT_POLL_MS = 5000

/** Verified tokens kept, each until its exp (plus the tolerance) and at most this long. */
const CACHE_ENTRIES = 1000
const CACHE_MS = 10 * 60_000
const CLOCK_TOLERANCE_MS = 5000

/**
 * A verifier with a cache keyed by the token itself: an admin page polling with one token costs a
 * Map lookup per request, not a decode, an HMAC, or a hash of the token (fast-jwt's own cache
 * hashes every token, and @fastify/jwt decodes it before asking: a fifth of the CPU of a small
 * answer). Failures are not cached. Oldest entries go first beyond CACHE_ENTRIES.
 */
export function cachedVerifier(secrets: string | JwtSecrets, issuer: string, now: () => number = Date.now): (token: string) => StreamSpaceClaims {
  const ring = typeof secrets === 'string' ? new JwtSecrets(secrets, 0, systemClock) : secrets
  const verifiers = new Map<number, (token: string) => unknown>()
  const verifierOf = (key: { id: number; secret: string }) => {
    let verify = verifiers.get(key.id)
    if (!verify) {
      verify = createVerifier({ key: key.secret, algorithms: ['HS256'], allowedIss: issuer, requiredClaims: ['exp', 'iss'], clockTolerance: CLOCK_TOLERANCE_MS })
      verifiers.set(key.id, verify)
    }
    return verify
  }
  const cache = new Map<string, { claims: StreamSpaceClaims; until: number; keyId: number }>()
  return (token) => {
    const t = now()
    const hit = cache.get(token)
    // A token verified with a secret whose grace has ended is verified again (and refused).
    if (hit && t < hit.until && ring.accepts(hit.keyId)) return hit.claims
    if (hit) cache.delete(token)
    const keys = ring.valid()
    for (const id of verifiers.keys()) if (!keys.some((k) => k.id === id)) verifiers.delete(id)
    let refusal: unknown
    for (const key of keys) {
      let claims: StreamSpaceClaims
      try {
        claims = verifierOf(key)(token) as StreamSpaceClaims
      } catch (err) {
        // Only a wrong signature means "try the previous secret"; an expired token is expired under any.
        if ((err as { code?: string }).code !== TokenError.codes.invalidSignature) throw err
        refusal ??= err
        continue
      }
      if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!)
      cache.set(token, { claims, until: Math.min(claims.exp * 1000 + CLOCK_TOLERANCE_MS, t + CACHE_MS), keyId: key.id })
      return claims
    }
    throw refusal
  }
}

function unauthenticated(err: unknown): Failure {
  const code = (err as { code?: string }).code ?? ''
  const why = code === TokenError.codes.expired ? 'token expired'
    : code === TokenError.codes.inactive ? 'token not yet valid (nbf)'
      : code === TokenError.codes.missingRequiredClaim || code === TokenError.codes.invalidClaimValue ? (err as Error).message
        : 'invalid token'
  return new Failure('unauthenticated', `Unauthorized: ${why}`)
}

export default fp<AuthOptions>(async (app, opts) => {
  // @fastify/jwt signs (the demo token, with the secret at start) and declares request.user; verifying is ours, below.
  await app.register(jwt, { secret: opts.secret, sign: { algorithm: 'HS256', iss: opts.issuer } })
  const clock = opts.clock ?? systemClock
  const secrets = new JwtSecrets(opts.secret, opts.graceMs ?? DEFAULT_GRACE_MS, clock)
  const verify = cachedVerifier(secrets, opts.issuer)
  if (opts.secretFile) {
    const stop = watchSecretFile({ file: opts.secretFile, secrets, clock, pollMs: opts.pollMs ?? DEFAULT_POLL_MS, log: app.log })
    app.addHook('onClose', async () => stop())
  }
  const checks: TokenCheck[] = []
  app.decorate('addTokenCheck', (check: TokenCheck) => { checks.push(check) })
  app.decorate('requireAdmin', async function (request) {
    const header = request.headers.authorization
    if (!header) throw new Failure('unauthenticated', 'Missing bearer token: send Authorization: Bearer <StreamSpace JWT>')
    const [scheme, token, ...rest] = header.split(' ')
    if (scheme.toLowerCase() !== 'bearer' || !token || rest.length) throw new Failure('unauthenticated', 'Unauthorized: invalid token: send Authorization: Bearer <StreamSpace JWT>')
    try {
      request.user = verify(token)
    } catch (err) {
      throw unauthenticated(err)
    }
    for (const check of checks) await check(request.user, request)
    if (request.user.role !== 'admin') throw new Failure('forbidden', `Forbidden: role "${request.user.role}" is not admin`)
  } satisfies onRequestHookHandler)
}, { name: 'auth', dependencies: ['errors'] })
