// Outcomes that are not success, in the domain's own terms. Domain rooms, the kube layer and the
// plugins throw a Failure of one kind; src/plugins/errors.ts is the one place that turns each kind
// into an HTTP status and our {statusCode, error, message, details?} answer.
export type FailureKind =
  /** The request itself is wrong (a field, a selector): the message names the field. */
  | 'invalid'
  /** No valid credentials were presented. */
  | 'unauthenticated'
  /** Credentials are valid, but this caller may not do this. */
  | 'forbidden'
  /** What was asked about does not exist (a node, a label on it, a taint). */
  | 'not_found'
  /** It clashes with the current state (another drain of the node runs; the object kept changing). */
  | 'conflict'
  /** Understood, but refused as asked (pods that block a drain; Kubernetes found the object invalid). */
  | 'refused'
  /** A bound is reached (drains at once, changes per user, a budget): retry later. */
  | 'too_many'
  /** The cluster answered with a failure of its own. */
  | 'cluster_failed'
  /** We cannot do it now: the cluster is unreachable or forbids us, the caches have not synced, the service is stopping. */
  | 'unavailable'
  /** It did not finish in the time allowed. */
  | 'timed_out'
  /** What the request continues is no longer kept (an expired list continue token). */
  | 'gone'
  /** A condition the request set (If-Match) does not hold: the object changed since the caller read it. */
  | 'precondition_failed'

export class Failure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    /** Anything a client can act on (the pods that block a drain, the problems of a field...). */
    readonly details?: unknown,
  ) {
    super(message)
    this.name = 'Failure'
  }
}

export const isFailure = (err: unknown, kind?: FailureKind): err is Failure =>
  err instanceof Failure && (kind === undefined || err.kind === kind)

export const invalid = (message: string, details?: unknown) => new Failure('invalid', message, details)

/** The one wording of an unknown node, wherever it is found missing. */
export const nodeNotFound = (name: string) => new Failure('not_found', `Node "${name}" not found`)
