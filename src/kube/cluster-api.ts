// What AUTOSCALING_PROVIDER=cluster-api writes, as Kubernetes calls:
// - Cluster API MachineDeployments (cluster.x-k8s.io/v1beta1): listed by label selector across
//   namespaces, their annotations changed with a JSON merge patch conditional on resourceVersion.
//   Nothing else of them is ever written (cluster-autoscaler owns spec.replicas).
// - The overprovisioning PriorityClass (scheduling.k8s.io/v1, cluster-scoped) and Deployment
//   (apps/v1, in the service's namespace): created, kept in step, and deleted; only objects that
//   carry our managed-by label are ever changed or deleted.
import { PatchStrategy, setHeaderOptions, type V1Deployment, type V1PriorityClass } from '@kubernetes/client-node'
import type { KubeClients } from './client.js'
import { isNotFound, KubeError, toKubeError } from './errors.js'

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)

export const MD_GROUP = 'cluster.x-k8s.io'
export const MD_VERSION = 'v1beta1'
export const MD_PLURAL = 'machinedeployments'

/** The labels on everything the service creates (the Helm chart's keys). */
export const MANAGED_LABELS = {
  'app.kubernetes.io/name': 'streamspace-node-manager',
  'app.kubernetes.io/managed-by': 'streamspace-node-manager',
  'app.kubernetes.io/component': 'overprovisioning',
} as const
const OURS = (labels: Record<string, string> | undefined) => labels?.['app.kubernetes.io/managed-by'] === MANAGED_LABELS['app.kubernetes.io/managed-by']

export interface MachineDeploymentRef {
  namespace: string
  name: string
  resourceVersion: string
  labels: Record<string, string>
  annotations: Record<string, string>
  replicas: number | undefined
}

interface RawMachineDeployment {
  metadata?: { namespace?: string; name?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  spec?: { replicas?: number }
}

/**
 * The MachineDeployments in every namespace, ordered by namespace and name (all of them: one that
 * no longer matches the selector may still carry our annotations). No Cluster API (the kind is not
 * served): none.
 */
export async function listMachineDeployments(clients: KubeClients): Promise<MachineDeploymentRef[]> {
  let list: { items?: RawMachineDeployment[] }
  try {
    list = await clients.custom.listClusterCustomObject({ group: MD_GROUP, version: MD_VERSION, plural: MD_PLURAL }) as { items?: RawMachineDeployment[] }
  } catch (err) {
    if (isNotFound(err)) return []
    throw toKubeError(err, `list ${MD_PLURAL}.${MD_GROUP}`)
  }
  return (list.items ?? []).map((md) => ({
    namespace: md.metadata?.namespace ?? '',
    name: md.metadata?.name ?? '',
    resourceVersion: md.metadata?.resourceVersion ?? '',
    labels: md.metadata?.labels ?? {},
    annotations: md.metadata?.annotations ?? {},
    replicas: md.spec?.replicas,
  })).sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name))
}

/** Sets (string) or removes (null) annotations of a MachineDeployment, only if it is still at resourceVersion (else 409). */
export async function patchMachineDeploymentAnnotations(clients: KubeClients, md: { namespace: string; name: string; resourceVersion: string }, annotations: Record<string, string | null>): Promise<void> {
  try {
    await clients.custom.patchNamespacedCustomObject(
      { group: MD_GROUP, version: MD_VERSION, plural: MD_PLURAL, namespace: md.namespace, name: md.name, body: { metadata: { resourceVersion: md.resourceVersion, annotations } } },
      mergePatch,
    )
  } catch (err) {
    throw toKubeError(err, `patch ${MD_PLURAL}.${MD_GROUP}/${md.name} in namespace ${md.namespace}`)
  }
}

export interface PriorityClassSpec { name: string; value: number; description: string }

/**
 * Makes the PriorityClass exist as asked. Its value cannot change in place: one of ours with
 * another value is deleted and made again. One that is not ours is refused (conflict), never touched.
 * Returns whether anything was written.
 */
export async function ensurePriorityClass(clients: KubeClients, spec: PriorityClassSpec): Promise<boolean> {
  let current: V1PriorityClass | undefined
  try {
    current = await clients.scheduling.readPriorityClass({ name: spec.name })
  } catch (err) {
    if (!isNotFound(err)) throw toKubeError(err, `get priorityclasses.scheduling.k8s.io/${spec.name}`)
  }
  if (current) {
    if (!OURS(current.metadata?.labels)) throw new KubeError('conflict', `PriorityClass ${spec.name} exists and is not managed by streamspace-node-manager: left alone`)
    if (current.value === spec.value) return false
    await deletePriorityClass(clients, spec.name)
  }
  try {
    await clients.scheduling.createPriorityClass({
      body: {
        apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass',
        metadata: { name: spec.name, labels: { ...MANAGED_LABELS } },
        value: spec.value, globalDefault: false, preemptionPolicy: 'Never', description: spec.description,
      },
    })
  } catch (err) {
    throw toKubeError(err, `create priorityclasses.scheduling.k8s.io/${spec.name}`)
  }
  return true
}

/** Deletes our PriorityClass (absent: nothing to do; not ours: left alone). Returns whether it was deleted. */
export async function deletePriorityClass(clients: KubeClients, name: string): Promise<boolean> {
  try {
    const current = await clients.scheduling.readPriorityClass({ name })
    if (!OURS(current.metadata?.labels)) return false
    await clients.scheduling.deletePriorityClass({ name })
    return true
  } catch (err) {
    if (isNotFound(err)) return false
    throw toKubeError(err, `delete priorityclasses.scheduling.k8s.io/${name}`)
  }
}

export interface OverprovisioningSpec {
  namespace: string
  name: string
  priorityClassName: string
  replicas: number
  /** Each pause pod's requests, as quantity strings. */
  cpu: string
  memory: string
  image: string
}

function deploymentBody(s: OverprovisioningSpec): V1Deployment {
  const selector = { 'app.kubernetes.io/name': MANAGED_LABELS['app.kubernetes.io/name'], 'app.kubernetes.io/component': MANAGED_LABELS['app.kubernetes.io/component'] }
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: s.name, namespace: s.namespace, labels: { ...MANAGED_LABELS } },
    spec: {
      replicas: s.replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...MANAGED_LABELS } },
        spec: {
          priorityClassName: s.priorityClassName,
          terminationGracePeriodSeconds: 0,
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65535, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: 'pause', image: s.image,
            resources: { requests: { cpu: s.cpu, memory: s.memory }, limits: { memory: s.memory } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          }],
        },
      },
    },
  }
}

/** What the Deployment runs now, to compare with what is wanted; undefined when absent. */
export interface OverprovisioningState { replicas: number; cpu: string; memory: string; priorityClassName: string; ours: boolean }

export async function readOverprovisioning(clients: KubeClients, namespace: string, name: string): Promise<OverprovisioningState | undefined> {
  try {
    const d = await clients.apps.readNamespacedDeployment({ name, namespace })
    const c = d.spec?.template.spec?.containers?.[0]
    return {
      replicas: d.spec?.replicas ?? 1,
      cpu: String(c?.resources?.requests?.cpu ?? ''),
      memory: String(c?.resources?.requests?.memory ?? ''),
      priorityClassName: d.spec?.template.spec?.priorityClassName ?? '',
      ours: OURS(d.metadata?.labels),
    }
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw toKubeError(err, `get deployments.apps/${name} in namespace ${namespace}`)
  }
}

/** Creates the overprovisioning Deployment, or brings ours to the spec (merge patch of the whole spec). */
export async function applyOverprovisioning(clients: KubeClients, s: OverprovisioningSpec, exists: boolean): Promise<void> {
  const body = deploymentBody(s)
  try {
    if (!exists) await clients.apps.createNamespacedDeployment({ namespace: s.namespace, body })
    else await clients.apps.patchNamespacedDeployment({ name: s.name, namespace: s.namespace, body: { metadata: { labels: body.metadata!.labels }, spec: body.spec } }, mergePatch)
  } catch (err) {
    throw toKubeError(err, `${exists ? 'patch' : 'create'} deployments.apps/${s.name} in namespace ${s.namespace}`)
  }
}

/** Deletes our overprovisioning Deployment and, through the garbage collector, its pods. Returns whether it was deleted. */
export async function deleteOverprovisioning(clients: KubeClients, namespace: string, name: string): Promise<boolean> {
  const current = await readOverprovisioning(clients, namespace, name)
  if (!current?.ours) return false
  try {
    await clients.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: 'Background' })
    return true
  } catch (err) {
    if (isNotFound(err)) return false
    throw toKubeError(err, `delete deployments.apps/${name} in namespace ${namespace}`)
  }
}
