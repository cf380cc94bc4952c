// Pod access for the drain: listing the pods on a node (paginated), evicting or deleting one,
// watching the pods on a node, and the few lookups the drain's filters and reports need
// (DaemonSets, PodDisruptionBudgets, eviction support by discovery). Plain functions over
// KubeClients; they throw ApiException as client-node does, callers decide what a status means.
// (Reading and cordoning the node: node-patches.ts.)
import type { V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node'
import type { KubeClients } from './client.js'

export const POD_PAGE_SIZE = 500

export const nodeFieldSelector = (node: string) => `spec.nodeName=${node}`

/** "namespace/name", the way pods are named in every list we answer with. */
export const podKey = (pod: { metadata?: { namespace?: string; name?: string } }) =>
  `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`

export interface PodListing {
  pods: V1Pod[]
  /** resourceVersion of the first page: the list is a consistent snapshot at that version. */
  resourceVersion: string
}

/** All pods on a node, page by page (limit/continue), as kubectl drain lists them. */
export async function listPodsOnNode(
  clients: KubeClients,
  node: string,
  opts: { labelSelector?: string; limit?: number } = {},
): Promise<PodListing> {
  const pods: V1Pod[] = []
  let resourceVersion = ''
  let cont: string | undefined
  do {
    const page = await clients.core.listPodForAllNamespaces({
      fieldSelector: nodeFieldSelector(node),
      labelSelector: opts.labelSelector || undefined,
      limit: opts.limit ?? POD_PAGE_SIZE,
      _continue: cont,
    })
    if (!resourceVersion) resourceVersion = page.metadata?.resourceVersion ?? ''
    pods.push(...page.items)
    cont = page.metadata?._continue || undefined
  } while (cont)
  return { pods, resourceVersion }
}

/** Asks the API server whether it accepts a pod label selector (one pod of a page of one; throws its 400). */
export async function checkPodSelector(clients: KubeClients, node: string, labelSelector: string): Promise<void> {
  await clients.core.listPodForAllNamespaces({ fieldSelector: nodeFieldSelector(node), labelSelector, limit: 1 })
}

export async function readDaemonSet(clients: KubeClients, namespace: string, name: string) {
  return clients.apps.readNamespacedDaemonSet({ namespace, name })
}

export async function listPodDisruptionBudgets(
  clients: KubeClients,
  namespace: string,
): Promise<V1PodDisruptionBudget[]> {
  const list = await clients.policy.listNamespacedPodDisruptionBudget({ namespace })
  return list.items
}

/**
 * The API version to send Evictions with, found as kubectl finds it: the `pods/eviction`
 * subresource in /api/v1 names its group and version (policy/v1, or policy/v1beta1 on old
 * servers). Undefined when the server has no eviction subresource, or names no group and version
 * for it: then pods are deleted, as kubectl does.
 */
export async function evictionApiVersion(clients: KubeClients): Promise<string | undefined> {
  const list = await clients.core.getAPIResources()
  const r = list.resources.find((x) => x.name === 'pods/eviction' && x.kind === 'Eviction')
  // kubectl's CheckEvictionSupport: a subresource that names no group and version counts as none.
  return r?.group && r.version ? `${r.group}/${r.version}` : undefined
}

export async function evictPod(
  clients: KubeClients,
  pod: { namespace: string; name: string },
  opts: { apiVersion: string; gracePeriodSeconds?: number },
): Promise<void> {
  const deleteOptions = opts.gracePeriodSeconds === undefined ? undefined : { gracePeriodSeconds: opts.gracePeriodSeconds }
  await clients.core.createNamespacedPodEviction({
    name: pod.name,
    namespace: pod.namespace,
    body: {
      apiVersion: opts.apiVersion,
      kind: 'Eviction',
      metadata: { name: pod.name, namespace: pod.namespace },
      deleteOptions,
    },
  })
}

export async function deletePod(
  clients: KubeClients,
  pod: { namespace: string; name: string },
  opts: { gracePeriodSeconds?: number },
): Promise<void> {
  await clients.core.deleteNamespacedPod({
    name: pod.name,
    namespace: pod.namespace,
    gracePeriodSeconds: opts.gracePeriodSeconds,
  })
}

export type PodWatchEvent = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'

/** A raw pod as a watch delivers it (plain JSON, not a client-node model object). */
export interface WatchedPod {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; deletionTimestamp?: string }
  code?: number
}

/**
 * Watches the pods on a node from resourceVersion. `onEnd` is called once when the watch ends
 * for any reason (server closed it, inactivity timeout, error, 410 Gone as an ERROR event
 * first); the caller re-lists and watches again. Returns a function that stops the watch.
 */
export async function watchPodsOnNode(
  clients: KubeClients,
  node: string,
  resourceVersion: string,
  onEvent: (type: PodWatchEvent, pod: WatchedPod) => void,
  onEnd: (err: unknown) => void,
): Promise<() => void> {
  const controller = await clients.watch.watch(
    '/api/v1/pods',
    { fieldSelector: nodeFieldSelector(node), resourceVersion, allowWatchBookmarks: true },
    (type, obj) => onEvent(type as PodWatchEvent, obj as WatchedPod),
    onEnd,
  )
  return () => controller.abort()
}

/** The Kubernetes Events about a node in one namespace (the drain reads back its own). */
export async function listNodeEvents(clients: KubeClients, namespace: string, node: string) {
  const list = await clients.core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.kind=Node,involvedObject.name=${node}`,
  })
  return list.items
}
