// Where maintenance plans live: NodeMaintenance objects (nodes.stream.space/v1alpha1, cluster-
// scoped, CRD in the chart's crds/), read through one informer on every replica. Before them,
// plans were keys of one ConfigMap in POD_NAMESPACE (`<id>.json`, a cancel asked on a follower as
// `<id>.cancel.json`): the leader imports those once (legacyPlanConfigMap) and removes each key
// it imported. Also StreamSpace's Session resources, which plans hibernate.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node'
import type { KubeClients } from './client.js'
import { ClusterObjects } from './custom-objects.js'
import { OwnConfigMap } from './configmap.js'
import { isNotFound, toKubeError } from './errors.js'
import { MAINTENANCE_CONFIGMAP_NAME } from './permissions.js'
import type { Clock } from '../clock.js'
import type { Log } from '../shared/log.js'

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)

/** The informer and writes of NodeMaintenance objects (Spec and Status are the domain's). */
export function nodeMaintenances<Spec, Status>(clients: KubeClients, log: Log, clock?: Clock): ClusterObjects<Spec, Status> {
  return new ClusterObjects<Spec, Status>({ kc: clients.kc, kind: 'NodeMaintenance', plural: 'nodemaintenances', log, clock })
}

/** The plans ConfigMap of earlier versions: each plan's JSON by id, and removal of keys by id. */
export function legacyPlanConfigMap(clients: KubeClients, namespace: string, name: string = MAINTENANCE_CONFIGMAP_NAME) {
  const cm = new OwnConfigMap(clients, namespace, name, 'maintenance')
  return {
    async read(): Promise<Map<string, string>> {
      const out = new Map<string, string>()
      for (const [k, v] of Object.entries((await cm.read())?.data ?? {})) if (k.endsWith('.json')) out.set(k.slice(0, -5), v)
      return out
    },
    async remove(ids: string[]): Promise<void> {
      try {
        // A merge patch with null removes a key.
        const data = Object.fromEntries(ids.map((id) => [`${id}.json`, null]))
        await clients.core.patchNamespacedConfigMap({ name, namespace, body: { data } }, mergePatch)
      } catch (err) {
        if (!isNotFound(err)) throw toKubeError(err, `patch configmaps/${name} in namespace ${namespace}`)
      }
    },
  }
}

/** StreamSpace's Session resources (design: "StreamSpace facts"). */
export const SESSION_GROUP = 'stream.space'
export const SESSION_VERSION = 'v1alpha1'
export const SESSION_PLURAL = 'sessions'

/** Hibernates a session: merge patch spec.state=hibernated; StreamSpace's controller scales its Deployment to 0. */
export async function hibernateSession(clients: KubeClients, namespace: string, name: string): Promise<void> {
  try {
    await clients.custom.patchNamespacedCustomObject(
      { group: SESSION_GROUP, version: SESSION_VERSION, namespace, plural: SESSION_PLURAL, name, body: { spec: { state: 'hibernated' } } },
      mergePatch,
    )
  } catch (err) {
    throw toKubeError(err, `patch sessions.${SESSION_GROUP}/${name} in namespace ${namespace}`)
  }
}
