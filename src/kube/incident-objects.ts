// Where incidents live: NodeIncident objects (nodes.stream.space/v1alpha1, cluster-scoped, CRD in
// the chart's crds/), one per node and problem from start to end, read through one informer on
// every replica. The leader writes one before it pages anyone and records in its status what each
// receiver was delivered, so a later leader (or a restarted service) delivers what is missing.
import type { KubeClients } from './client.js'
import { ClusterObjects, type CustomObject } from './custom-objects.js'
import type { Clock } from '../clock.js'
import type { Log } from '../shared/log.js'

export interface IncidentSpec {
  node: string
  /** The node's uid, so the Event about its end names it after it was deleted. */
  nodeUID?: string
  alertname: string
  condition: string
  severity: string
  /** When the problem began (RFC 3339): the alert's startsAt, kept for the incident's whole life. */
  startsAt: string
  /** The alert's labels, exactly as every receiver gets them. */
  labels: Record<string, string>
}

/** What one receiver was given of one message: delivered (2xx) or dropped (refused for good, e.g. a 4xx from Alertmanager). */
export interface DeliveryRecord { at: string; result: 'delivered' | 'dropped' }

export interface IncidentStatus {
  state?: 'firing' | 'resolved'
  endsAt?: string
  /** The alert's description. */
  message?: string
  /** Why it ended. */
  ended?: 'recovered' | 'deleted'
  /** The notifications are due (alertOnNodeFailure was on): what an outbox entry is. */
  paged?: boolean
  /** The problem as last seen on the node: a later leader tells a continuing incident from a new one by it. */
  observed?: { status: string; reason: string; message: string; since?: string }
  /** Per receiver ("webhook", "alertmanager <url>"): each message's delivery. */
  deliveries?: Record<string, { firing?: DeliveryRecord; resolved?: DeliveryRecord }>
}

export type IncidentObject = CustomObject<IncidentSpec, IncidentStatus>

/** The informer and writes of NodeIncident objects. */
export function nodeIncidents(clients: KubeClients, log: Log, clock?: Clock): ClusterObjects<IncidentSpec, IncidentStatus> {
  return new ClusterObjects<IncidentSpec, IncidentStatus>({ kc: clients.kc, kind: 'NodeIncident', plural: 'nodeincidents', log, clock })
}
