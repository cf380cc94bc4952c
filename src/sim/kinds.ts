// The resources the sim serves, and the discovery documents built from them.
import { CHART_RESOURCES, type PrinterColumn } from './crds.js'
import type { JsonSchema } from './schema.js'

export interface ResourceDef {
  group: string // '' for core
  version: string
  plural: string
  singular: string
  kind: string
  namespaced: boolean
  shortNames?: string[]
  /** Has a status subresource: updates of the main resource keep the stored status. */
  status?: boolean
  /** Served but not stored (metrics). */
  readOnly?: boolean
  /** Has a scale subresource (autoscaling/v1 Scale over spec.replicas / status.replicas / status.selector). */
  scale?: boolean
  categories?: string[]
  /** Served as a CustomResourceDefinition serves it (no strategic merge patch, schema validation, status.selector for scale). */
  custom?: boolean
  /** A CRD's openAPIV3Schema: writes are pruned, defaulted and validated against it (schema.ts). */
  schema?: JsonSchema
  /** A CRD's additionalPrinterColumns, for kubectl Tables. */
  columns?: PrinterColumn[]
}

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

export const RESOURCES: ResourceDef[] = [
  { group: '', version: 'v1', plural: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'], status: true },
  { group: '', version: 'v1', plural: 'nodes', singular: 'node', kind: 'Node', namespaced: false, shortNames: ['no'], status: true },
  { group: '', version: 'v1', plural: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, shortNames: ['po'], status: true },
  { group: '', version: 'v1', plural: 'events', singular: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'] },
  { group: '', version: 'v1', plural: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] },
  { group: 'apps', version: 'v1', plural: 'daemonsets', singular: 'daemonset', kind: 'DaemonSet', namespaced: true, shortNames: ['ds'], status: true },
  { group: 'apps', version: 'v1', plural: 'replicasets', singular: 'replicaset', kind: 'ReplicaSet', namespaced: true, shortNames: ['rs'], status: true, scale: true },
  { group: 'apps', version: 'v1', plural: 'deployments', singular: 'deployment', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], status: true, scale: true, categories: ['all'] },
  { group: 'apps', version: 'v1', plural: 'statefulsets', singular: 'statefulset', kind: 'StatefulSet', namespaced: true, shortNames: ['sts'], status: true, scale: true },
  { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', singular: 'poddisruptionbudget', kind: 'PodDisruptionBudget', namespaced: true, shortNames: ['pdb'], status: true },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', singular: 'lease', kind: 'Lease', namespaced: true },
  { group: 'scheduling.k8s.io', version: 'v1', plural: 'priorityclasses', singular: 'priorityclass', kind: 'PriorityClass', namespaced: false, shortNames: ['pc'] },
  // Custom resources, served as their CustomResourceDefinitions define them (test/helpers/crds.ts installs the same on the real server).
  { group: 'cluster.x-k8s.io', version: 'v1beta1', plural: 'machinedeployments', singular: 'machinedeployment', kind: 'MachineDeployment', namespaced: true, shortNames: ['md'], status: true, scale: true, categories: ['cluster-api'], custom: true },
  { group: 'stream.space', version: 'v1alpha1', plural: 'sessions', singular: 'session', kind: 'Session', namespaced: true, status: true, categories: ['streamspace'], custom: true },
  { group: 'metrics.k8s.io', version: 'v1beta1', plural: 'nodes', singular: '', kind: 'NodeMetrics', namespaced: false, readOnly: true },
  { group: 'metrics.k8s.io', version: 'v1beta1', plural: 'pods', singular: '', kind: 'PodMetrics', namespaced: true, readOnly: true },
  // The product's own custom resources (nodes.stream.space), from the chart's CRD files (crds.ts).
  ...CHART_RESOURCES,
]

export function resourceId(group: string, plural: string): string {
  return group ? `${plural}.${group}` : plural
}

/** Kinds whose objects carry metadata.generation (bumped on spec changes), as their registry strategies set it. */
export function tracksGeneration(def: ResourceDef): boolean {
  return def.group === 'apps' || def.group === 'policy' || def.group === 'scheduling.k8s.io' || !!def.custom
}

/** The store's id of a resource: "pods", "replicasets.apps". */
export function idOf(def: ResourceDef): string {
  return resourceId(def.group, def.plural)
}

export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural)
}

export function apiVersionOf(def: ResourceDef): string {
  return def.group ? `${def.group}/${def.version}` : def.version
}

function groupVersions(metrics: boolean): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>()
  for (const r of RESOURCES) {
    if (!r.group || (!metrics && r.group === 'metrics.k8s.io')) continue
    seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version })
  }
  return [...seen.values()]
}

export function apiVersionsDoc(): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] }
}

export function apiGroupListDoc(metrics: boolean): Record<string, unknown> {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groupVersions(metrics).map(({ group, version }) => apiGroupDoc(group, version)),
  }
}

export function apiGroupDoc(group: string, version: string): Record<string, unknown> {
  const gv = { groupVersion: `${group}/${version}`, version }
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: [gv], preferredVersion: gv }
}

export function hasGroupVersion(group: string, version: string, metrics: boolean): boolean {
  return groupVersions(metrics).some((gv) => gv.group === group && gv.version === version)
}

export function apiResourceListDoc(group: string, version: string): Record<string, unknown> {
  const resources: Record<string, unknown>[] = []
  for (const r of RESOURCES) {
    if (r.group !== group || r.version !== version) continue
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.readOnly ? ['get', 'list'] : RW,
      ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      ...(r.plural === 'pods' || r.plural === 'daemonsets' ? { categories: ['all'] } : r.categories ? { categories: r.categories } : {}),
    })
    if (r.scale) {
      resources.push({ name: `${r.plural}/scale`, singularName: '', namespaced: r.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] })
    }
    if (r.status) {
      resources.push({ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] })
    }
    if (r.plural === 'pods' && r.group === '') {
      resources.push({ name: 'pods/eviction', singularName: '', namespaced: true, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] })
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources }
}

/** The discovery document (or health text) at a non-resource path; undefined when there is none. */
export function discoveryDoc(path: string, metrics: boolean): Record<string, unknown> | string | undefined {
  if (path === '/version') return VERSION_INFO
  if (path === '/api') return apiVersionsDoc()
  if (path === '/apis') return apiGroupListDoc(metrics)
  if (path === '/api/v1') return apiResourceListDoc('', 'v1')
  if (path === '/healthz' || path === '/livez' || path === '/readyz') return 'ok'
  const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path)
  if (m) {
    const [, group, version] = m
    if (!version) {
      const gv = groupVersions(metrics).find((g) => g.group === group)
      return gv ? apiGroupDoc(group, gv.version) : undefined
    }
    if (hasGroupVersion(group, version, metrics)) return apiResourceListDoc(group, version)
  }
  return undefined
}

export const VERSION_INFO = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.4',
  gitCommit: '74cdb426c7ca6d6ed5ac2a7ca4a0b4f2e5a8c3f1',
  gitTreeState: 'clean',
  buildDate: '2025-08-12T18:00:00Z',
  goVersion: 'go1.24.5',
  compiler: 'gc',
  platform: 'linux/amd64',
  emulationMajor: '1',
  emulationMinor: '33',
  minCompatibilityMajor: '1',
  minCompatibilityMinor: '32',
}
