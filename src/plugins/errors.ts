// One shape for every error answer: {statusCode, error, message, details?}, and the one place that
// maps the domain's outcomes (src/errors.ts) to HTTP status codes. Validation errors name the
// field; Kubernetes failures say what was refused; errors Fastify raises itself (bad JSON, wrong
// content type, body too large, a path parameter too long) answer in the same shape; nothing
// leaks a stack trace.
import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'
import { Failure, type FailureKind } from '../errors.js'

/** The largest request body (Fastify's bodyLimit, set by app.ts): 1 MiB, far above any valid request
 *  (a maintenance plan of 1,000 node names is about 260 KB). Over it: 413 saying the limit. */
export const BODY_LIMIT_BYTES = 1024 * 1024

/** Each outcome's HTTP status. */
export const STATUS_OF: Record<FailureKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  refused: 422,
  too_many: 429,
  cluster_failed: 502,
  unavailable: 503,
  timed_out: 504,
  gone: 410,
  precondition_failed: 412,
}

export const statusOf = (err: Failure): number => STATUS_OF[err.kind]

export function errorBody(statusCode: number, message: string, details?: unknown) {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, ...(details === undefined ? {} : { details }) }
}

/** "body/key must match pattern ..." -> names the field the way a client sent it. */
function validationMessage(err: FastifyError): string {
  const first = err.validation?.[0]
  if (!first) return err.message
  const context = err.validationContext ?? 'request'
  const path = first.instancePath ? first.instancePath.slice(1).replaceAll('/', '.') : ''
  const missing = (first.params as { missingProperty?: string })?.missingProperty
  const extra = (first.params as { additionalProperty?: string })?.additionalProperty
  const field = missing ? [path, missing].filter(Boolean).join('.') : extra ? [path, extra].filter(Boolean).join('.') : path
  if (missing) return `${context}.${field} is required`
  if (extra) return `${context}.${field} is not allowed`
  return `${context}${field ? '.' + field : ''} ${first.message ?? 'is invalid'}`
}

/** Fastify's own errors (FST_ERR_*): its message without its code, in our shape. */
function fastifyMessage(err: FastifyError, status: number, request: FastifyRequest): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return `body is not valid JSON: ${err.message}`
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `Unsupported Media Type ${JSON.stringify(request.headers['content-type'] ?? '')}: send application/json`
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `body is too large: at most ${request.routeOptions.bodyLimit ?? BODY_LIMIT_BYTES} bytes (${Math.round((request.routeOptions.bodyLimit ?? BODY_LIMIT_BYTES) / 1024)} KiB)`
    default:
      return status >= 500 ? 'Internal server error' : err.message
  }
}

/**
 * Errors Fastify answers before any route runs (a malformed URL, a path parameter longer than
 * maxParamLength): passed to Fastify({ frameworkErrors }) by app.ts.
 */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (err, request: FastifyRequest, reply: FastifyReply) => {
  const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : err.statusCode && err.statusCode >= 400 ? err.statusCode : 400
  const message = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
    ? `A path parameter of ${request.url.split('?')[0]} is longer than any valid one`
    : err.code === 'FST_ERR_BAD_URL' ? `The URL ${request.url.split('?')[0]} is not valid (bad percent-encoding?)` : err.message
  void reply.code(status).send(errorBody(status, message))
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The HTTP status of an outcome (500 for none: an unexpected error), e.g. for audit lines. */
    httpStatusOf(kind: FailureKind | undefined): number
  }
}

/** A route's URL as a matcher for concrete paths: ":param" is one segment, "*" the rest. */
function routeMatcher(url: string): RegExp {
  const pattern = url.split(/(:[A-Za-z0-9_]+|\*)/).map((part) =>
    part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('')
  return new RegExp(`^${pattern}/?$`)
}

export default fp(async (app) => {
  app.decorate('httpStatusOf', (kind: FailureKind | undefined) => (kind ? STATUS_OF[kind] : 500))

  // 405 (with Allow) rather than 404 when the path exists under other methods. Every route is seen
  // here: this plugin is registered first, so its onRoute hook sees all that follow.
  const routes: { match: RegExp; params: number; methods: Set<string> }[] = []
  app.addHook('onRoute', (route) => {
    const methods = ([] as string[]).concat(route.method)
    const existing = routes.find((r) => r.match.source === routeMatcher(route.url).source)
    if (existing) methods.forEach((m) => existing.methods.add(m))
    else routes.push({ match: routeMatcher(route.url), params: (route.url.match(/:[A-Za-z0-9_]+|\*/g) ?? []).length, methods: new Set(methods) })
  })
  // In onRequest, before the body is looked at: an unknown method with a body (QUERY, ...) would
  // otherwise answer 400 for its missing content type instead.
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.is404) return done()
    const path = request.url.split('?')[0]
    // The resource is the most specific route that matches: POST /nodes/select, not also GET
    // /nodes/:name with a node named "select" (as the OpenAPI document lists them).
    const matching = routes.filter((r) => r.match.test(path))
    const fewest = Math.min(...matching.map((r) => r.params))
    const allowed = new Set<string>()
    for (const r of matching) if (r.params === fewest) r.methods.forEach((m) => allowed.add(m))
    if (allowed.size === 0 || allowed.has(request.method)) return done()
    const allow = [...allowed].sort().join(', ')
    reply.code(405).header('allow', allow).send(errorBody(405, `Method ${request.method} is not allowed on ${path}: use ${allow}`))
  })
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) {
      return reply.code(400).send(errorBody(400, validationMessage(err), err.validation.map((v) => ({ field: v.instancePath, message: v.message }))))
    }
    if (err instanceof Failure) {
      const status = statusOf(err)
      if (status >= 500) request.log.warn({ err: err.message, kind: err.kind }, 'request failed')
      // A 412 says which version is current (details.etag), so the client can read it and retry.
      const etag = err.kind === 'precondition_failed' ? (err.details as { etag?: unknown } | undefined)?.etag : undefined
      if (typeof etag === 'string') reply.header('etag', etag)
      return reply.code(status).send(errorBody(status, err.message, err.details))
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500
    if (status >= 500) request.log.error({ err }, 'unhandled error')
    return reply.code(status).send(errorBody(status, fastifyMessage(err, status, request)))
  })
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody(404, `Route ${request.method} ${request.url.split('?')[0]} not found`))
  })
}, { name: 'errors' })
