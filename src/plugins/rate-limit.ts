// Per-user rate limit for the routes that change the cluster. One budget per user (the JWT's
// user_id) shared by all mutating routes; over it, 429 with Retry-After and a message saying the
// limit. Routes opt in with `preHandler: fastify.changeRateLimit`, which runs after authentication.
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { Failure } from '../errors.js'

export interface ChangeRateLimitOptions {
  /** Changes a user may make per window. Default 120. */
  max?: number
  /** Window in milliseconds. Default 60,000. */
  timeWindowMs?: number
}

declare module 'fastify' {
  interface FastifyInstance {
    changeRateLimit: preHandlerAsyncHookHandler
  }
}

function userKey(request: FastifyRequest): string {
  const user = (request as { user?: { user_id?: unknown; username?: unknown } }).user
  const id = user?.user_id ?? user?.username
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
}, { name: 'change-rate-limit', fastify: '5.x' })
