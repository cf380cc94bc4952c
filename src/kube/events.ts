// Kubernetes Events about a Node, so that `kubectl describe node` and `kubectl get events` show
// what this service did. kubectl describe node lists events in all namespaces whose involvedObject
// is {kind: Node, name, uid: the node's uid (or its name, as the kubelet writes), namespace: ""},
// so the involvedObject carries no namespace. The Event itself must live in "default": the API
// server's validation of core/v1 Events (without eventTime) refuses any other namespace for an
// involvedObject without one ("involvedObject.namespace: does not match event.namespace", 422).
import { hostname } from 'node:os'
import type { CoreV1Event } from '@kubernetes/client-node'
import type { KubeClients } from './client.js'
import { toKubeError } from './errors.js'

export const EVENT_COMPONENT = 'streamspace-node-manager'

export interface NodeEventSpec {
  /** UpperCamelCase, e.g. "NodeLabeled". */
  reason: string
  message: string
  type?: 'Normal' | 'Warning'
}

export interface NodeEventOptions {
  /** Where the Event object lives. Default "default", the only one a real API server accepts for Nodes. */
  namespace?: string
  /** Source component. Default "streamspace-node-manager". */
  component?: string
  now?: Date
}

export interface NodeRef {
  metadata?: { name?: string; uid?: string }
}

/** An Event name as client-go makes it: <object name>.<time in hex>, unique enough under concurrency. */
function eventName(node: string, now: Date): string {
  const nanos = BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000))
  return `${node}.${nanos.toString(16)}`
}

/** Creates a core/v1 Event about `node`. Throws a KubeError if the API refuses it. */
export async function recordNodeEvent(clients: KubeClients, node: NodeRef, event: NodeEventSpec, opts: NodeEventOptions = {}): Promise<CoreV1Event> {
  const name = node.metadata?.name ?? ''
  return recordEvent(clients, { apiVersion: 'v1', kind: 'Node', name, uid: node.metadata?.uid ?? name }, event, opts)
}

/** Every Event this service recorded about Nodes in one namespace (all pages). */
export async function listOwnNodeEvents(clients: KubeClients, namespace = 'default', component = EVENT_COMPONENT): Promise<CoreV1Event[]> {
  const out: CoreV1Event[] = []
  let cont: string | undefined
  try {
    do {
      const page = await clients.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Node,source=${component}`, limit: 500, _continue: cont })
      out.push(...page.items)
      cont = page.metadata?._continue || undefined
    } while (cont)
  } catch (err) {
    throw toKubeError(err, `list events in namespace ${namespace}`)
  }
  return out
}

/** What an Event is about: a cluster-scoped object (no namespace, e.g. a Node) or a namespaced one (e.g. our ConfigMap). */
export interface InvolvedObject { apiVersion: string; kind: string; name: string; namespace?: string; uid?: string }

/**
 * Creates a core/v1 Event about `obj`, in opts.namespace, else the object's own namespace, else
 * "default" (the only one a real API server accepts for a cluster-scoped object such as a Node).
 * Throws a KubeError if the API refuses it.
 */
export async function recordEvent(clients: KubeClients, obj: InvolvedObject, event: NodeEventSpec, opts: NodeEventOptions = {}): Promise<CoreV1Event> {
  const namespace = opts.namespace ?? obj.namespace ?? 'default'
  const component = opts.component ?? EVENT_COMPONENT
  const now = opts.now ?? new Date()
  const body: CoreV1Event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: eventName(obj.name, now), namespace },
    involvedObject: {
      apiVersion: obj.apiVersion, kind: obj.kind, name: obj.name,
      ...(obj.namespace !== undefined ? { namespace: obj.namespace } : {}),
      ...(obj.uid ? { uid: obj.uid } : {}),
    },
    reason: event.reason,
    message: event.message.slice(0, 1024),
    type: event.type ?? 'Normal',
    source: { component },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    reportingComponent: component,
    reportingInstance: hostname(),
  }
  try {
    return await clients.core.createNamespacedEvent({ namespace, body })
  } catch (err) {
    throw toKubeError(err, `create events in namespace ${namespace}`)
  }
}
