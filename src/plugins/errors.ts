// One shape for every error answer: {statusCode, error, message, details?}. Validation errors name
// the field; Kubernetes failures say what was refused; nothing leaks a stack trace.
import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import type { FastifyError } from 'fastify'
import { HttpError } from '../errors.js'
import { KubeError } from '../kube/errors.js'

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

export default fp(async (app) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) {
      return reply.code(400).send(errorBody(400, validationMessage(err), err.validation.map((v) => ({ field: v.instancePath, message: v.message }))))
    }
    if (err instanceof HttpError || err instanceof KubeError) {
      if (err.statusCode >= 500) request.log.warn({ err: err.message }, 'request failed')
      return reply.code(err.statusCode).send(errorBody(err.statusCode, err.message, err.details))
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500
    if (status >= 500) {
      request.log.error({ err }, 'unhandled error')
      return reply.code(status).send(errorBody(status, 'Internal server error'))
    }
    return reply.code(status).send(errorBody(status, err.message))
  })
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody(404, `Route ${request.method} ${request.url.split('?')[0]} not found`))
  })
}, { name: 'errors' })
