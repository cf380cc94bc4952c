// Where maintenance plans live: one ConfigMap in the service's namespace (POD_NAMESPACE), one key
// per plan (`<id>.json`), so they survive restarts and a change of leader. Each plan is written
// with a JSON merge patch of its own key: writers of different plans never overwrite each other,
// and no resourceVersion dance is needed for that. A plan's own writes come from one place at a
// time (the replica that creates it, then the leader), so per-key last-write-wins is enough.
// Replicas learn of each other's writes through a watch on the ConfigMap (while the leader runs
// plans, or someone follows a plan's events), not by re-reading it on a timer.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node'
import type { KubeClients } from './client.js'
import { ConfigMapWatch, OwnConfigMap, type ConfigMapWatchOptions } from './configmap.js'
import { toKubeError } from './errors.js'
import { MAINTENANCE_CONFIGMAP_NAME } from './permissions.js'

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)

export interface PlanStore {
  /** Every stored plan's JSON, by id. */
  list(): Promise<Map<string, string>>
  get(id: string): Promise<string | undefined>
  put(id: string, json: string): Promise<void>
  /** Calls back whenever the stored plans may have changed (any replica's write). Returns unsubscribe. */
  onChange?(listener: () => void): () => void
  /** Stops watching (shutdown). */
  close?(): Promise<void>
}

/** With `watch`, the store tells of changes through a watch on the ConfigMap while anyone listens. */
export function configMapPlanStore(clients: KubeClients, namespace: string, name: string = MAINTENANCE_CONFIGMAP_NAME, watch?: Omit<ConfigMapWatchOptions, 'namespace' | 'name'>): PlanStore {
  const key = (id: string) => `${id}.json`
  const cm = new OwnConfigMap(clients, namespace, name, 'maintenance')
  const watcher = watch ? new ConfigMapWatch({ ...watch, namespace, name }) : undefined
  return {
    async list() {
      const out = new Map<string, string>()
      for (const [k, v] of Object.entries((await cm.read())?.data ?? {})) if (k.endsWith('.json')) out.set(k.slice(0, -5), v)
      return out
    },
    async get(id) {
      return (await cm.read())?.data?.[key(id)]
    },
    async put(id, json) {
      await cm.mergeData({ [key(id)]: json })
    },
    ...(watcher ? { onChange: (listener: () => void) => watcher.subscribe(listener), close: () => watcher.close() } : {}),
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
