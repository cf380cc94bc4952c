// Every Kubernetes verb and resource this service uses, and why: the one source of truth for
// least privilege. The Helm chart's ClusterRole is rendered from it (`npm run rbac`), and the
// least-privilege test binds exactly these rules on a real API server, then removes each in turn.
// Add a rule here in the same change that adds a call through src/kube.

export interface PermissionRule {
  /** The feature that needs it; also what fails (with 502/503 naming the permission) without it. */
  feature: string
  apiGroups: string[]
  resources: string[]
  verbs: string[]
  /** Only these objects (get, update, patch, delete; `create` cannot be limited by name). */
  resourceNames?: string[]
}

export const REQUIRED_PERMISSIONS: readonly PermissionRule[] = [
  { feature: 'node list and watch cache', apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
  { feature: 'pod index and drain pod list', apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  { feature: 'node usage (metrics-server)', apiGroups: ['metrics.k8s.io'], resources: ['nodes'], verbs: ['get', 'list'] },
  { feature: 'labels, taints, cordon and uncordon', apiGroups: [''], resources: ['nodes'], verbs: ['patch'] },
  { feature: 'audit events on nodes', apiGroups: [''], resources: ['events'], verbs: ['create'] },
  { feature: 'drain: evict pods', apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
  { feature: 'drain: delete pods (disable_eviction)', apiGroups: [''], resources: ['pods'], verbs: ['delete'] },
  { feature: 'drain: check DaemonSets of DaemonSet pods', apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['get'] },
  { feature: 'drain: name the PodDisruptionBudget that blocks', apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['list'] },
  { feature: 'drain status after a restart (its Events read back)', apiGroups: [''], resources: ['events'], verbs: ['list'] },
]

/** ClusterRole rules: one per (apiGroup, resource set), verbs merged, in a stable order. */
export function clusterRoleRules(rules: readonly PermissionRule[] = REQUIRED_PERMISSIONS): { apiGroups: string[]; resources: string[]; verbs: string[] }[] {
  const merged = new Map<string, { apiGroups: string[]; resources: string[]; verbs: Set<string> }>()
  for (const r of rules) {
    const key = JSON.stringify([r.apiGroups, r.resources])
    const entry = merged.get(key) ?? { apiGroups: r.apiGroups, resources: r.resources, verbs: new Set<string>() }
    for (const v of r.verbs) entry.verbs.add(v)
    merged.set(key, entry)
  }
  return [...merged.values()].map((e) => ({ apiGroups: e.apiGroups, resources: e.resources, verbs: [...e.verbs].sort() }))
}

/**
 * Rules in the service's own namespace (POD_NAMESPACE): the chart's Role. The leader-election Lease
 * is created once (create cannot be limited by name), then only read and renewed by its name.
 */
export const NAMESPACED_PERMISSIONS: readonly PermissionRule[] = [
  { feature: 'leader election: create the Lease', apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  { feature: 'leader election: read and renew the Lease', apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'], resourceNames: ['streamspace-node-manager'] },
]

/** Role rules for the namespaced permissions, one per rule (resourceNames kept). */
export function roleRules(rules: readonly PermissionRule[] = NAMESPACED_PERMISSIONS): { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[] {
  return rules.map((r) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: [...r.verbs].sort(), ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}) }))
}
