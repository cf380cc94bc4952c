// Kubernetes API failures, translated into what our HTTP layer answers: the API server's own
// status code where it speaks of the request (404, 409, 422, 429), 502/503 where it is the
// cluster that failed us (unreachable, forbidden to us, 5xx). Messages name what was refused.
import { ApiException } from '@kubernetes/client-node'

export class KubeError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly kubeStatus?: number,
    readonly reason?: string,
    readonly details?: unknown,
  ) {
    super(message)
    this.name = 'KubeError'
  }
}

interface StatusBody { message?: string; reason?: string; details?: unknown; code?: number }

function parseBody(body: unknown): StatusBody {
  if (typeof body === 'string') {
    try { return JSON.parse(body) as StatusBody } catch { return { message: body } }
  }
  return (body ?? {}) as StatusBody
}

/** The HTTP status code of a Kubernetes API failure, or undefined for a network-level failure. */
export function kubeStatusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code
  if (err instanceof KubeError) return err.kubeStatus
  return undefined
}

export function isNotFound(err: unknown): boolean { return kubeStatusOf(err) === 404 }
export function isConflict(err: unknown): boolean { return kubeStatusOf(err) === 409 }

/**
 * Wraps any error from a Kubernetes call. `what` says what we were doing, e.g.
 * "patch nodes/worker-1"; it is repeated in the message so a 403 names the missing permission.
 */
export function toKubeError(err: unknown, what: string): KubeError {
  if (err instanceof KubeError) return err
  if (err instanceof ApiException) {
    const body = parseBody(err.body)
    const msg = body.message ?? err.message
    switch (err.code) {
      case 401:
        return new KubeError(503, `Kubernetes API rejected our credentials while trying to ${what}: ${msg}`, 401, body.reason)
      case 403:
        return new KubeError(503, `Kubernetes RBAC forbids the service to ${what}: ${msg}`, 403, body.reason)
      case 404:
      case 409:
      case 422:
      case 429:
        return new KubeError(err.code, msg, err.code, body.reason, body.details)
      default:
        return new KubeError(502, `Kubernetes API failed to ${what} (HTTP ${err.code}): ${msg}`, err.code, body.reason)
    }
  }
  const msg = err instanceof Error ? err.message : String(err)
  return new KubeError(503, `Kubernetes API unreachable while trying to ${what}: ${msg}`)
}
