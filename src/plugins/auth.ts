// StreamSpace admin JWTs: HS256 with the shared secret, exp and iss required (the library skips the issuer check when iss is absent), nbf honoured,
// a small clock tolerance. `app.requireAdmin` is the onRequest hook for every route under the
// prefix: no/invalid/expired token -> 401, valid but not role=admin -> 403. Other plugins add
// checks of a verified token with `app.addTokenCheck` (session-store: revocation through Redis);
// they run after the signature and claims are verified and before the role is looked at.
import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { Failure } from '../errors.js'

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
  secret: string
  issuer: string
}

export default fp<AuthOptions>(async (app, opts) => {
  await app.register(jwt, {
    secret: opts.secret,
    sign: { algorithm: 'HS256', iss: opts.issuer },
    // Verified tokens are cached (fast-jwt's LRU, keyed by a hash of the token, each entry kept no
    // longer than the token's exp and at most 10 minutes; failures are not cached): an admin page
    // polling with one token costs a lookup per request, not an HMAC and a decode.
    verify: { algorithms: ['HS256'], allowedIss: opts.issuer, requiredClaims: ['exp', 'iss'], clockTolerance: 5000, cache: 1000 },
  })
  const checks: TokenCheck[] = []
  app.decorate('addTokenCheck', (check: TokenCheck) => { checks.push(check) })
  app.decorate('requireAdmin', async function (request) {
    if (!request.headers.authorization) throw new Failure('unauthenticated', 'Missing bearer token: send Authorization: Bearer <StreamSpace JWT>')
    try {
      await request.jwtVerify()
    } catch (err) {
      const code = (err as { code?: string }).code ?? ''
      const why = code.includes('EXPIRED') ? 'token expired'
        : code.includes('INACTIVE') ? 'token not yet valid (nbf)'
          : code.includes('CLAIM') ? (err as Error).message
            : 'invalid token'
      throw new Failure('unauthenticated', `Unauthorized: ${why}`)
    }
    for (const check of checks) await check(request.user, request)
    if (request.user.role !== 'admin') throw new Failure('forbidden', `Forbidden: role "${request.user.role}" is not admin`)
  } satisfies onRequestHookHandler)
}, { name: 'auth', dependencies: ['errors'] })
