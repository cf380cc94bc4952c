import { Type, type Static, type TSchema, type TUnsafe } from 'typebox'

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
}, {
  $id: 'ErrorResponse',
  description: 'Every error answer: HTTP status, its name, what went wrong, and optional details.',
  examples: [{ statusCode: 404, error: 'Not Found', message: 'Node worker-9 not found' }],
})
export type ErrorResponse = Static<typeof ErrorResponse>

/** Read by @fastify/swagger as the response's description (the schema itself is only a $ref). */
export const RESPONSE_DESCRIPTION = 'x-response-description'

/** What each error status means on any route; a route passes its own words where they say more. */
export const ERROR_MEANING: Record<number, string> = {
  400: 'Bad input: the message names the field or parameter and what is wrong with it',
  401: 'No valid StreamSpace JWT (missing, expired, wrong signature or issuer, or revoked)',
  403: 'The token is valid but its role is not admin',
  404: 'No such resource (the message names it)',
  409: 'Conflicts with the cluster\'s current state (the message says with what)',
  412: 'If-Match names another version than the one stored',
  413: 'The body is over the limit (1 MiB)',
  414: 'A path parameter is over 1024 characters',
  415: 'The body is not JSON',
  422: 'Understood but refused because of the cluster\'s state (details lists what blocks it)',
  429: 'Too many changes by this user: the rate limit (details.retry_after_seconds says when to retry)',
  500: 'An unexpected error (no stack trace is answered; the log has it)',
  502: 'The Kubernetes API server failed the request',
  503: 'Not ready: the watch caches have not synced yet, or the Kubernetes API server is unreachable',
  504: 'Timed out waiting on the cluster',
}

/** One error status of a route: the shared ErrorResponse by reference, described for this route. */
export function errorAnswer(status: number, description = ERROR_MEANING[status] ?? 'Error') {
  // (Beside a $ref, @fastify/swagger reads the response's description from `description`.)
  return Type.Unsafe<ErrorResponse>({ $ref: 'ErrorResponse#', description })
}

/**
 * Error answers of a route by status: each status's general meaning, or the route's own words
 * (`{404: 'No node of that name'}`). Always with the statuses every route under the prefix can give.
 */
export function errorAnswers(statuses: Array<number | [number, string]> = []) {
  const out: Record<number, ReturnType<typeof errorAnswer>> = {}
  for (const s of [...COMMON_STATUSES, ...statuses]) {
    const [status, description] = Array.isArray(s) ? s : [s, undefined]
    out[status] = errorAnswer(status, description)
  }
  return out
}

/**
 * Statuses every route under the prefix can give: bad input, no or a bad token, not an admin;
 * answered by Fastify before the route runs: a path parameter over 1024 characters (414), a body
 * over the limit (413) or not JSON (415); and the cluster or the service failing.
 */
const COMMON_STATUSES = [400, 401, 403, 413, 414, 415, 500, 502, 503]

/** Error answers every route under the prefix can give. */
export const commonErrors = errorAnswers()

const hasId = (schema: TSchema) => typeof (schema as { $id?: unknown }).$id === 'string'

/**
 * A documented answer: the schema (referenced when it has a $id, so the shared component keeps
 * its name), what it means, and an example a reader (Swagger UI, a client generator) sees.
 * Serialization is the schema's own: the wrapper adds only annotations.
 */
export function answer<T extends TSchema>(schema: T, description: string, example: Static<T>): TUnsafe<Static<T>> {
  const docs = { [RESPONSE_DESCRIPTION]: description, examples: [example] }
  return Type.Unsafe<Static<T>>(hasId(schema) ? { allOf: [schema], ...docs } : { ...schema, ...docs })
}

/** A request body (or other input) with an example; validation is the schema's own. */
export function withExample<T extends TSchema>(schema: T, example: Static<T>): TUnsafe<Static<T>> {
  return Type.Unsafe<Static<T>>(hasId(schema) ? { allOf: [schema], examples: [example] } : { ...schema, examples: [example] })
}
