// Errors our routes answer with: {statusCode, error, message, details?}. Domain code throws
// HttpError (or KubeError from src/kube/errors.ts); the errors plugin renders both.
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

export const notFound = (what: string) => new HttpError(404, `${what} not found`)
export const badRequest = (message: string, details?: unknown) => new HttpError(400, message, details)
