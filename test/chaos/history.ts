// What a chaos run records, everything the checker (check.ts) reads: times are ms since the epoch.
import type { AuditEntry } from '../../src/sim/index.js'

export type { AuditEntry }

/** What a workload request meant to change, for invariant 5 (labels and taints) and 3 (cordon state). */
export type Intent =
  | { op: 'label'; node: string; key: string; value: string }
  | { op: 'unlabel'; node: string; key: string }
  | { op: 'taint'; node: string; key: string; value: string; effect: string }
  | { op: 'untaint'; node: string; key: string; effect: string }
  | { op: 'cordon' | 'uncordon' | 'drain'; node: string }
  | { op: 'plan'; nodes: string[]; id?: string }
  | { op: 'cancel' | 'complete'; id: string; nodes: string[] }

/** One request of the workload through the proxy and its answer (status 0: no answer, the connection was cut). */
export interface ApiCall {
  start: number
  end: number
  method: string
  path: string
  status: number
  intent?: Intent
  /** The answer's message for a 4xx/5xx. */
  message?: string
}

/** One version of a watched object as the cluster stored it (deleted: the object went). */
export interface ObjectVersion {
  at: number
  kind: 'NodeMaintenance' | 'NodeDrain' | 'NodeIncident' | 'Lease'
  name: string
  uid: string
  deleted: boolean
  creationTimestamp?: string
  spec: Record<string, any>
  status: Record<string, any>
}

/** A replica process: `host` is the proxy address it reaches the cluster through (the audit's Host). */
export interface ReplicaEvent {
  at: number
  replica: string
  host: string
  event: 'started' | 'ready' | 'signal' | 'exited'
  signal?: string
  leader?: boolean
}

export interface WebhookReceipt { at: number; id: string; answered: number; status: string; labels: Record<string, string> }
export interface AlertmanagerReceipt { at: number; answered: number; alerts: { labels: Record<string, string>; startsAt: string; endsAt: string }[] }

export interface FinalPod { namespace: string; name: string; daemonSet: boolean; mirror: boolean; terminating: boolean }
export interface FinalNode { name: string; labels: Record<string, string>; taints: { key: string; value?: string; effect: string }[]; unschedulable: boolean; pods: FinalPod[] }

export interface History {
  seed: number
  startedAt: number
  /** Faults and kills stopped, the workload stopped: from here the system settles. */
  quietAt: number
  endedAt: number
  calls: ApiCall[]
  audit: AuditEntry[]
  objects: ObjectVersion[]
  replicas: ReplicaEvent[]
  webhook: WebhookReceipt[]
  alertmanager: AlertmanagerReceipt[]
  final: FinalNode[]
}

export interface Violation {
  invariant: 1 | 2 | 3 | 4 | 5 | 6
  message: string
}
