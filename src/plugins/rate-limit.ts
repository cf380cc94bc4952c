// Per-user rate limit for every write: one budget per user (the JWT's subject, `sub`; else its
// user_id) shared by all routes that change something (POST, PUT, PATCH, DELETE: labels, taints,
// cordon, drains, maintenance plans, runtime configuration, StreamSpace's own page); over it, 429
// with Retry-After and a message saying the limit. Reads are not limited, nor are writes whose
// route says `config: { readOnly: true }` (POST P/nodes/select computes an answer, changes nothing).
// The scopes that authenticate call `limitWrites` from their onRoute hook: the limit runs as the
// route's first preHandler (after authentication in onRequest) and its 429 is documented.
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest, RouteOptions, preHandlerAsyncHookHandler } from 'fastify'
import { Failure } from '../errors.js'
import { ErrorResponse } from '../schemas/common.js'

export interface ChangeRateLimitOptions {
  /** Changes a user may make per window. Default 120. */
  max?: number
  /** Window in milliseconds. Default 60,000. */
  timeWindowMs?: number
}

declare module 'fastify' {
  interface FastifyInstance {
    changeRateLimit: preHandlerAsyncHookHandler
    /** For an onRoute hook: puts the per-user limit on the route if it writes. */
    limitWrites: (route: RouteOptions) => void
  }
  interface FastifyContextConfig {
    /** A POST that changes nothing (P/nodes/select): not rate limited. */
    readOnly?: boolean
  }
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

function userKey(request: FastifyRequest): string {
  const user = (request as { user?: { sub?: unknown; user_id?: unknown; username?: unknown } }).user
  const id = user?.sub ?? user?.user_id ?? user?.username
  return id === undefined || id === null ? `ip:${request.ip}` : `user:${String(id)}`
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`

export default fp<ChangeRateLimitOptions>(async (fastify, opts) => {
  const max = opts.max ?? 120
  const timeWindow = opts.timeWindowMs ?? 60_000
  await fastify.register(rateLimit, { global: false })
  const limiter = fastify.rateLimit({
    max,
    timeWindow,
    keyGenerator: userKey,
    onExceeded: (request, key) => {
      request.log.warn({ audit: { action: `${request.method} ${request.routeOptions.url}`, actor: key, outcome: 'refused', status_code: 429 } }, `audit: ${key} over the node change rate limit`)
    },
    errorResponseBuilder: (_request, context) =>
      new Failure('too_many', `Rate limit exceeded: at most ${max} node changes per ${seconds(timeWindow)} per user; retry in ${Math.max(1, Math.ceil(context.ttl / 1000))} s`, {
        limit: max,
        window_seconds: timeWindow / 1000,
        retry_after_seconds: Math.ceil(context.ttl / 1000),
      }),
  })
  fastify.decorate('changeRateLimit', limiter as preHandlerAsyncHookHandler)
  fastify.decorate('limitWrites', (route: RouteOptions) => {
    const methods = ([] as string[]).concat(route.method)
    if (!methods.some((m) => WRITES.has(m)) || route.config?.readOnly) return
    route.preHandler = [limiter as preHandlerAsyncHookHandler, ...([] as preHandlerAsyncHookHandler[]).concat((route.preHandler ?? []) as preHandlerAsyncHookHandler[])]
    const response = (route.schema?.response ?? {}) as Record<string, unknown>
    if (response[429] === undefined && response['4xx'] === undefined) route.schema = { ...route.schema, response: { ...response, 429: ErrorResponse } }
  })
}, { name: 'change-rate-limit', fastify: '5.x' })
