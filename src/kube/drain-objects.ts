// Where drains live: NodeDrain objects (nodes.stream.space/v1alpha1, cluster-scoped, CRD in the
// chart's crds/), named after their node, read through one informer on every replica. The API
// server's name uniqueness is what makes "one drain per node" hold across replicas.
import type { KubeClients } from './client.js'
import { ClusterObjects, type CustomObject } from './custom-objects.js'
import type { Clock } from '../clock.js'
import type { Log } from '../shared/log.js'

/** DrainOptions in camelCase (without dry_run and wait, which belong to the request), plus who asked. */
export interface DrainSpec {
  gracePeriodSeconds?: number
  timeoutSeconds?: number
  force?: boolean
  ignoreDaemonsets?: boolean
  deleteEmptydirData?: boolean
  disableEviction?: boolean
  podSelector?: string
  requestedBy?: string
  ttlSecondsAfterFinished?: number
}

/**
 * DrainStatus in camelCase, plus evictedCount (printer column), failureKind (what a failed drain's
 * Failure was, so any replica answers with the same HTTP code) and the drain's steps (bounded),
 * numbered across runs, from which every replica streams /drain/events.
 */
export type DrainObjectStatus = Record<string, unknown> & {
  phase?: string
  message?: string
  evictedCount?: number
  finishedAt?: string | null
  failureKind?: string
  events?: Array<Record<string, unknown>>
}

export type DrainObject = CustomObject<DrainSpec, DrainObjectStatus>

/** The informer and writes of NodeDrain objects. */
export function nodeDrains(clients: KubeClients, log: Log, clock?: Clock): ClusterObjects<DrainSpec, DrainObjectStatus> {
  return new ClusterObjects<DrainSpec, DrainObjectStatus>({ kc: clients.kc, kind: 'NodeDrain', plural: 'nodedrains', log, clock })
}
