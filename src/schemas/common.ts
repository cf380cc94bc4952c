import { Type, type Static } from 'typebox'

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
}, { $id: 'ErrorResponse', description: 'Every error answer: HTTP status, its name, what went wrong, and optional details.' })
export type ErrorResponse = Static<typeof ErrorResponse>

/** Error answers every route under the prefix can give. */
export const commonErrors = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  // Answered by Fastify before the route runs: a path parameter over 1024 characters (414), a body
  // over the limit (413) or not JSON (415).
  413: ErrorResponse,
  414: ErrorResponse,
  415: ErrorResponse,
  500: ErrorResponse,
  502: ErrorResponse,
  503: ErrorResponse,
}
