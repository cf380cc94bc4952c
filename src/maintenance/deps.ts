// What the maintenance engine and its runners are given: the cluster as the watch caches see it,
// the plans' objects, and the steps that change the cluster (passed in, so tests drive them).
import type { Clock } from '../clock.js'
import type { ClusterObjects } from '../kube/custom-objects.js'
import type { NodeObject, SlimPod } from '../kube/types.js'
import type { NodeEventSpec } from '../kube/events.js'
import type { DrainOptions, DrainResult } from '../drain/types.js'
import type { FitReport } from './types.js'
import type { PlanSpec, PlanStatus } from './objects.js'
import type { Log } from '../shared/log.js'

export interface MaintenanceSource {
  getNode(name: string): NodeObject | undefined
  nodes(): Iterable<NodeObject>
  podsOnNode(name: string): Iterable<SlimPod>
  /** Calls back on every change the watch caches see (pods and nodes). Returns unsubscribe. */
  onChange(listener: () => void): () => void
  /** Resolves once the node and pod caches have synced (a leader reads nothing before). */
  whenSynced(): Promise<void>
}

export interface MaintenanceMetrics {
  sessionsHibernated(n: number): void
  sessionsWaited(n: number): void
  waitedSeconds(s: number): void
}

/** The plans written before NodeMaintenance objects: one ConfigMap key per plan. Imported once, then emptied. */
export interface LegacyPlans {
  /** Each stored plan's JSON by id (a cancel asked on a follower: `<id>.cancel`). */
  read(): Promise<Map<string, string>>
  remove(ids: string[]): Promise<void>
}

export interface MaintenanceDeps {
  objects: ClusterObjects<PlanSpec, PlanStatus>
  clock: Clock
  source: MaintenanceSource
  /** Cordons with who and why; does nothing to a node already cordoned with this reason. */
  cordon(node: string, by: string, reason: string): Promise<void>
  uncordon(node: string, by: string): Promise<void>
  /** The existing drain; rejects when it fails (its message says why). */
  drain(node: string, options: DrainOptions, actor: string, signal: AbortSignal): Promise<DrainResult>
  hibernate(namespace: string, session: string): Promise<void>
  recordEvent(node: NodeObject, event: NodeEventSpec): Promise<unknown>
  /** Whether the pods of these nodes fit on the other schedulable nodes. */
  fit?(nodes: string[]): FitReport
  log: Log
  metrics?: MaintenanceMetrics
  /** Whether the service is stopping (a drain interrupted then is not a failure). */
  isStopping?(): boolean
  /**
   * Fencing, asked before each step that changes the cluster: whether this replica still leads
   * (waiting for the next Lease renewal when only that is overdue).
   */
  confirmLeading?(): Promise<boolean>
  legacy?: LegacyPlans
  /** Finished plans are deleted this long after they end, unless their spec says otherwise. Default 7 days. */
  ttlSecondsAfterFinished?: number
  /** Finished plans kept at most (the oldest deleted first). Default 100. */
  keepFinished?: number
  /** How often the leader looks again beside the informer's changes (a safety net). Default 60 s. */
  resyncMs?: number
  /** How long cancel and complete wait for the leader's answer before answering with what is known. Default 30 s. */
  answerWaitMs?: number
  newId?: () => string
}
