// Kubernetes Status objects for errors, shaped as a v1.33 kube-apiserver sends them.
export interface StatusCause { reason?: string; message?: string; field?: string }

export class ApiError extends Error {
  constructor(
    public code: number,
    public reason: string,
    message: string,
    public details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[]; retryAfterSeconds?: number },
  ) {
    super(message)
  }

  toStatus(): Record<string, unknown> {
    const status: Record<string, unknown> = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
    }
    if (this.details) status.details = this.details
    status.code = this.code
    return status
  }
}

/** kind as it appears in Status details: the plural resource name, e.g. "nodes". */
export function notFound(resource: string, name: string, group = ''): ApiError {
  const qualified = group ? `${resource}.${group}` : resource
  return new ApiError(404, 'NotFound', `${qualified} "${name}" not found`, { name, ...(group ? { group } : {}), kind: resource })
}

export function alreadyExists(resource: string, name: string, group = ''): ApiError {
  const qualified = group ? `${resource}.${group}` : resource
  return new ApiError(409, 'AlreadyExists', `${qualified} "${name}" already exists`, { name, ...(group ? { group } : {}), kind: resource })
}

export function conflict(resource: string, name: string, group = ''): ApiError {
  const qualified = group ? `${resource}.${group}` : resource
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, ...(group ? { group } : {}), kind: resource },
  )
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message)
}

export function invalid(kind: string, name: string, field: string, message: string): ApiError {
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${field}: ${message}`, {
    name,
    kind,
    causes: [{ reason: 'FieldValueInvalid', message, field }],
  })
}

export function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')
}

export function gone(message: string): ApiError {
  return new ApiError(410, 'Expired', message)
}

export function successStatus(details?: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code: 201 }
}
