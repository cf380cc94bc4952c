// Kubernetes API failures, in the domain's terms (src/errors.ts): what the API server said of the
// request itself (not found, conflict, invalid, too many requests), or that the cluster failed us
// (unreachable, forbidden to us: unavailable; a 5xx: cluster_failed). Messages name what was
// refused; the API server's own code and reason are kept for callers that look closer.
import { ApiException } from '@kubernetes/client-node'
import { Failure, type FailureKind } from '../errors.js'

export class KubeError extends Failure {
  constructor(
    kind: FailureKind,
    message: string,
    /** The API server's HTTP status; undefined for a network-level failure. */
    readonly kubeStatus?: number,
    readonly reason?: string,
    details?: unknown,
  ) {
    super(kind, message, details)
    this.name = 'KubeError'
  }
}

/** The cluster (not the request) failed: unreachable, refused us (RBAC), or broke (5xx). */
export const isClusterFailure = (err: unknown): boolean =>
  err instanceof KubeError && (err.kind === 'unavailable' || err.kind === 'cluster_failed')

/** The message and causes of the Status an API server answered with, when it answered. */
export function apiStatus(err: unknown): { message?: string; causes: Array<{ reason?: string; message?: string }> } {
  if (!(err instanceof ApiException)) return { causes: [] }
  const body = parseBody(err.body) as StatusBody & { details?: { causes?: Array<{ reason?: string; message?: string }> } }
  return { message: body.message, causes: body.details?.causes ?? [] }
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
        return new KubeError('unavailable', `Kubernetes API rejected our credentials while trying to ${what}: ${msg}`, 401, body.reason)
      case 403:
        return new KubeError('unavailable', `Kubernetes RBAC forbids the service to ${what}: ${msg}`, 403, body.reason)
      case 404:
        return new KubeError('not_found', msg, 404, body.reason, body.details)
      case 409:
        return new KubeError('conflict', msg, 409, body.reason, body.details)
      case 422:
        return new KubeError('refused', msg, 422, body.reason, body.details)
      case 429:
        return new KubeError('too_many', msg, 429, body.reason, body.details)
      default:
        return new KubeError('cluster_failed', `Kubernetes API failed to ${what} (HTTP ${err.code}): ${msg}`, err.code, body.reason)
    }
  }
  const msg = err instanceof Error ? err.message : String(err)
  return new KubeError('unavailable', `Kubernetes API unreachable while trying to ${what}: ${msg}`)
}
