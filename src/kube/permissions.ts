// Every Kubernetes verb and resource this service uses, and why: the one source of truth for
// least privilege. The Helm chart's ClusterRole and Roles are rendered from it (`npm run rbac` writes
// charts/streamspace-node-manager/files/rbac.json; a test fails when that file is stale), and the
// least-privilege test binds exactly these rules on a real API server, then removes each in turn.
// A rule that only a setting needs says so (`needs`): the chart grants it only with that setting
// (autoscaling.provider in the values, AUTOSCALING_PROVIDER in the pod), so a default install
// cannot create Deployments or PriorityClasses nor patch MachineDeployments.
// Add a rule here in the same change that adds a call through src/kube, then run `npm run rbac`
// and `UPDATE_GOLDEN=1 npx tap test/chart/chart.test.ts` (the chart's golden files hold the roles).

import type { ServiceSettings } from '../config.js'

/** AUTOSCALING_PROVIDER: none recommends only; cluster-api writes through Cluster API. */
export type AutoscalingProvider = ServiceSettings['autoscalingProvider']
export const AUTOSCALING_PROVIDERS: readonly AutoscalingProvider[] = ['none', 'cluster-api']

/** The settings that decide which rules an install needs. */
export interface FeatureSettings { autoscalingProvider: AutoscalingProvider }

export interface PermissionRule {
  /** The feature that needs it; also what fails (with 502/503 naming the permission) without it. */
  feature: string
  /** The setting that needs it; absent: every install needs it. */
  needs?: Partial<FeatureSettings>
  apiGroups: string[]
  resources: string[]
  verbs: string[]
  /** Only these objects (get, update, patch, delete; `create` cannot be limited by name). */
  resourceNames?: string[]
}

/** The overprovisioning Deployment (in POD_NAMESPACE) and PriorityClass of AUTOSCALING_PROVIDER=cluster-api. */
export const OVERPROVISIONING_NAME = 'streamspace-node-manager-overprovisioning'

const CLUSTER_API: Partial<FeatureSettings> = { autoscalingProvider: 'cluster-api' }

/** Cluster-wide rules: the ClusterRole. */
export const REQUIRED_PERMISSIONS: readonly PermissionRule[] = [
  { feature: 'node list and watch cache', apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
  { feature: 'pod index and drain pod list', apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  { feature: 'node usage (metrics-server)', apiGroups: ['metrics.k8s.io'], resources: ['nodes'], verbs: ['get', 'list'] },
  { feature: 'labels, taints, cordon and uncordon, session protection annotations', apiGroups: [''], resources: ['nodes'], verbs: ['patch'] },
  { feature: 'drain: evict pods', apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
  { feature: 'drain: delete pods (disable_eviction)', apiGroups: [''], resources: ['pods'], verbs: ['delete'] },
  { feature: 'drain: check DaemonSets of DaemonSet pods', apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['get'] },
  { feature: 'drain: name the PodDisruptionBudget that blocks', apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['list'] },
  { feature: 'maintenance: hibernate sessions at the deadline', apiGroups: ['stream.space'], resources: ['sessions'], verbs: ['patch'] },
  // Plans are NodeMaintenance objects (cluster-scoped, CRD in the chart's crds/): every replica
  // watches them and writes spec (create, cancel, complete); the leader deletes finished ones.
  { feature: 'maintenance plans: NodeMaintenance objects', apiGroups: ['nodes.stream.space'], resources: ['nodemaintenances'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'] },
  { feature: 'maintenance plans: the leader writes their status', apiGroups: ['nodes.stream.space'], resources: ['nodemaintenances/status'], verbs: ['update'] },
  // Drains are NodeDrain objects named after their node: any replica creates one (POST .../drain)
  // or deletes a finished one to replace it; every replica watches them; the leader runs them,
  // writes their status and deletes finished ones.
  { feature: 'drains: NodeDrain objects', apiGroups: ['nodes.stream.space'], resources: ['nodedrains'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'] },
  { feature: 'drains: the leader writes their status', apiGroups: ['nodes.stream.space'], resources: ['nodedrains/status'], verbs: ['update'] },
  // Incidents are NodeIncident objects: every replica watches them (GET P/cluster/health); the
  // leader creates one before paging, records deliveries in its status and deletes resolved ones
  // after their TTL (get: re-read on a conflict; patch: kept with the others of the group).
  { feature: 'alerts: NodeIncident objects', apiGroups: ['nodes.stream.space'], resources: ['nodeincidents'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'] },
  { feature: 'alerts: the leader writes their status', apiGroups: ['nodes.stream.space'], resources: ['nodeincidents/status'], verbs: ['update'] },
  // AUTOSCALING_PROVIDER=cluster-api only: the MachineDeployments are listed in every namespace
  // (one no longer selected may carry our annotations) and only their annotations are patched;
  // spec.replicas is never written. With provider none the service touches none of these.
  { feature: 'cluster-api autoscaling: node group annotations', needs: CLUSTER_API, apiGroups: ['cluster.x-k8s.io'], resources: ['machinedeployments'], verbs: ['list', 'patch'] },
  // The overprovisioning PriorityClass is cluster-scoped: created (cannot be limited by name), then read and deleted by name.
  { feature: 'cluster-api autoscaling: create the overprovisioning PriorityClass', needs: CLUSTER_API, apiGroups: ['scheduling.k8s.io'], resources: ['priorityclasses'], verbs: ['create'] },
  { feature: 'cluster-api autoscaling: read and delete the overprovisioning PriorityClass', needs: CLUSTER_API, apiGroups: ['scheduling.k8s.io'], resources: ['priorityclasses'], verbs: ['delete', 'get'], resourceNames: [OVERPROVISIONING_NAME] },
]

/** ClusterRole rules: one per (apiGroup, resource set, resourceNames), verbs merged, in a stable order. */
export function clusterRoleRules(rules: readonly PermissionRule[] = REQUIRED_PERMISSIONS): RbacRule[] {
  return roleRules(rules)
}

// ---------------------------------------------------------------------------------------------
// Namespaced permissions: granted by a Role (and RoleBinding) in the service's own namespace
// (POD_NAMESPACE, the Helm release namespace), never cluster-wide.

/** The Lease that elects the leader, in POD_NAMESPACE (design: "Several replicas"). */
export const LEADER_LEASE_NAME = 'streamspace-node-manager'

/** The ConfigMap that holds the options set through PUT P/config, in POD_NAMESPACE (src/kube/runtime-config.ts). */
export const RUNTIME_CONFIG_NAME = 'streamspace-node-manager-config'
/** The ConfigMap that kept maintenance plans before NodeMaintenance objects, in POD_NAMESPACE: imported once, then emptied. */
export const MAINTENANCE_CONFIGMAP_NAME = 'streamspace-node-manager-maintenance'

/** The ConfigMap holding the round-robin cursor of node selection, shared by the replicas (src/selection/cursor.ts). */
export const SELECTION_CONFIGMAP_NAME = 'streamspace-node-manager-selection'

export interface NamespacedPermissionRule extends PermissionRule {
  /** Limits the rule to these object names (not possible for create, list or watch). */
  resourceNames?: string[]
}

export const NAMESPACED_PERMISSIONS: readonly NamespacedPermissionRule[] = [
  // The API server cannot limit create by name: the object does not exist yet.
  { feature: 'leader election: create the Lease', apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  { feature: 'leader election: read and renew the Lease', apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'], resourceNames: [LEADER_LEASE_NAME] },
  // The first PUT P/config makes its ConfigMap, the first round-robin selection its cursor's
  // (create cannot be limited by name: one rule serves both).
  { feature: 'runtime configuration: create its ConfigMap', apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
  // Every replica watches it; list and watch by name: the watch asks with fieldSelector metadata.name=<name>, which RBAC matches against resourceNames.
  { feature: 'runtime configuration: watch its ConfigMap', apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'], resourceNames: [RUNTIME_CONFIG_NAME] },
  // PUT P/config reads it and writes it back conditionally on its resourceVersion.
  { feature: 'runtime configuration: read and update its ConfigMap', apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update'], resourceNames: [RUNTIME_CONFIG_NAME] },
  // Round-robin selection: the cursor read and moved by a conditional replace (any replica).
  { feature: 'node selection: the round-robin cursor shared by the replicas', apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update'], resourceNames: [SELECTION_CONFIGMAP_NAME] },
  // The plans of earlier versions: the leader reads them once and removes each key it imported.
  { feature: 'maintenance plans: import those of an earlier version', apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'patch'], resourceNames: [MAINTENANCE_CONFIGMAP_NAME] },
  // The audit Events of PUT P/config (about its ConfigMap) and of the leader's autoscaling
  // recommendations (about the Lease) live beside their object.
  { feature: 'audit events on the runtime configuration and the Lease', apiGroups: [''], resources: ['events'], verbs: ['create'] },
  // Only with AUTOSCALING_PROVIDER=cluster-api: a Deployment create right next to StreamSpace's
  // Secrets would let the account run a pod that mounts them.
  { feature: 'cluster-api autoscaling: create the overprovisioning Deployment', needs: CLUSTER_API, apiGroups: ['apps'], resources: ['deployments'], verbs: ['create'] },
  { feature: 'cluster-api autoscaling: read, size and delete the overprovisioning Deployment', needs: CLUSTER_API, apiGroups: ['apps'], resources: ['deployments'], verbs: ['delete', 'get', 'patch'], resourceNames: [OVERPROVISIONING_NAME] },
]

/**
 * Where Events about Nodes live: a real API server accepts an Event about a cluster-scoped object
 * only in "default" (src/kube/events.ts). A Role there, never a ClusterRole.
 */
export const NODE_EVENT_NAMESPACE = 'default'

/** Rules in NODE_EVENT_NAMESPACE: the Role the chart makes there. */
export const NODE_EVENT_PERMISSIONS: readonly PermissionRule[] = [
  { feature: 'audit events on nodes', apiGroups: [''], resources: ['events'], verbs: ['create'] },
  { feature: 'drain status after a restart (its Events read back)', apiGroups: [''], resources: ['events'], verbs: ['list'] },
]

export interface RbacRule { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }

/** Role rules: one per (apiGroup, resource set, resourceNames), verbs merged, in a stable order. */
export function roleRules(rules: readonly NamespacedPermissionRule[] = NAMESPACED_PERMISSIONS): RbacRule[] {
  const merged = new Map<string, RbacRule & { verbSet: Set<string> }>()
  for (const r of rules) {
    const key = JSON.stringify([r.apiGroups, r.resources, r.resourceNames ?? null])
    const entry = merged.get(key) ?? { apiGroups: r.apiGroups, resources: r.resources, ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}), verbs: [], verbSet: new Set<string>() }
    for (const v of r.verbs) entry.verbSet.add(v)
    merged.set(key, entry)
  }
  return [...merged.values()].map(({ verbSet, ...e }) => ({ ...e, verbs: [...verbSet].sort() }))
}

/** Whether an install with these settings needs the rule. */
export function isNeeded(rule: PermissionRule, settings: FeatureSettings): boolean {
  return Object.entries(rule.needs ?? {}).every(([k, v]) => settings[k as keyof FeatureSettings] === v)
}

/** The rules of one install, by where they are granted. */
export interface FeatureSetPermissions {
  /** ClusterRole. */
  cluster: PermissionRule[]
  /** Role in the service's namespace (POD_NAMESPACE, the release namespace). */
  namespaced: PermissionRule[]
  /** Role in NODE_EVENT_NAMESPACE. */
  nodeEvents: PermissionRule[]
}

export function permissionsFor(settings: FeatureSettings): FeatureSetPermissions {
  const pick = (rules: readonly PermissionRule[]) => rules.filter((r) => isNeeded(r, settings))
  return { cluster: pick(REQUIRED_PERMISSIONS), namespaced: pick(NAMESPACED_PERMISSIONS), nodeEvents: pick(NODE_EVENT_PERMISSIONS) }
}

export interface ChartRoles { clusterRole: RbacRule[]; role: RbacRule[]; nodeEventsRole: RbacRule[] }

/** The merged rules of the chart's ClusterRole and Roles for these settings. */
export function chartRoles(settings: FeatureSettings): ChartRoles {
  const p = permissionsFor(settings)
  return { clusterRole: clusterRoleRules(p.cluster), role: roleRules(p.namespaced), nodeEventsRole: roleRules(p.nodeEvents) }
}

/** What `npm run rbac` writes to the chart (files/rbac.json): the roles for each autoscaling.provider. */
export function chartRbac(): { nodeEventNamespace: string; autoscalingProvider: Record<AutoscalingProvider, ChartRoles> } {
  const byProvider = Object.fromEntries(AUTOSCALING_PROVIDERS.map((p) => [p, chartRoles({ autoscalingProvider: p })]))
  return { nodeEventNamespace: NODE_EVENT_NAMESPACE, autoscalingProvider: byProvider as Record<AutoscalingProvider, ChartRoles> }
}
