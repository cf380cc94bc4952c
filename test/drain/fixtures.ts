// Drain fixtures, created through the Kubernetes API only (no simulator shortcuts), so the same
// tests run against the simulated cluster and a real kube-apiserver. Owners exist as real
// objects (a garbage collector would remove pods whose owner is missing).
import type { KubeClients } from '../../src/kube/client.js'
import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node'

export async function createNode(c: KubeClients, name: string, labels: Record<string, string> = {}) {
  await c.core.createNode({
    body: {
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...labels } },
      spec: {},
      status: {
        capacity: { cpu: '8', memory: '32Gi', pods: '110' },
        allocatable: { cpu: '8', memory: '32Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
      },
    },
  })
}

export async function ensureNamespace(c: KubeClients, name: string) {
  try {
    await c.core.createNamespace({ body: { metadata: { name } } })
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err
  }
}

export interface Owner { kind: string; name: string; uid: string; apiVersion: string }

export async function createReplicaSet(c: KubeClients, namespace: string, name: string, replicas: number, labels: Record<string, string>): Promise<Owner> {
  const rs = await c.apps.createNamespacedReplicaSet({
    namespace,
    body: {
      metadata: { name, namespace, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9' }] } },
      },
    },
  })
  return { kind: 'ReplicaSet', name, uid: rs.metadata!.uid!, apiVersion: 'apps/v1' }
}

export async function createDaemonSet(c: KubeClients, namespace: string, name: string, labels: Record<string, string>): Promise<Owner> {
  const ds = await c.apps.createNamespacedDaemonSet({
    namespace,
    body: {
      metadata: { name, namespace, labels },
      spec: {
        selector: { matchLabels: labels },
        // Selects no node, so a real DaemonSet controller leaves our hand-made pods alone.
        template: { metadata: { labels }, spec: { nodeSelector: { 'drain-test/none': 'true' }, containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9' }] } },
      },
    },
  })
  return { kind: 'DaemonSet', name, uid: ds.metadata!.uid!, apiVersion: 'apps/v1' }
}

export interface PodSpec {
  namespace?: string
  name: string
  node: string
  owner?: Owner
  labels?: Record<string, string>
  emptyDir?: boolean
  mirror?: boolean
  grace?: number
}

export async function createPod(c: KubeClients, p: PodSpec): Promise<V1Pod> {
  const namespace = p.namespace ?? 'default'
  return c.core.createNamespacedPod({
    namespace,
    body: {
      metadata: {
        name: p.name,
        namespace,
        labels: p.labels,
        annotations: p.mirror ? { 'kubernetes.io/config.mirror': 'mirror-hash', 'kubernetes.io/config.source': 'file' } : undefined,
        ownerReferences: p.owner
          ? [{ apiVersion: p.owner.apiVersion, kind: p.owner.kind, name: p.owner.name, uid: p.owner.uid, controller: true, blockOwnerDeletion: true }]
          : undefined,
      },
      spec: {
        nodeName: p.node,
        terminationGracePeriodSeconds: p.grace ?? 1,
        containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9' }],
        volumes: p.emptyDir ? [{ name: 'scratch', emptyDir: {} }] : undefined,
      },
    },
  })
}

/**
 * Marks a pod finished through the status subresource, as a kubelet would: once it runs (so the
 * kubelet, real or stand-in, is done starting it), with a merge patch (no resourceVersion race).
 */
export async function completePod(c: KubeClients, namespace: string, name: string, phase: 'Succeeded' | 'Failed' = 'Succeeded') {
  for (let i = 0; ; i++) {
    const pod = await c.core.readNamespacedPodStatus({ namespace, name })
    if (pod.status?.phase === 'Running') break
    if (i > 200) throw new Error(`pod ${namespace}/${name} never ran`)
    await new Promise((r) => setTimeout(r, 25))
  }
  await c.core.patchNamespacedPodStatus(
    { namespace, name, body: { status: { phase, conditions: [{ type: 'Ready', status: 'False', reason: 'PodCompleted' }] } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  )
}

export async function createPdb(
  c: KubeClients,
  namespace: string,
  name: string,
  labels: Record<string, string>,
  spec: { minAvailable?: number; maxUnavailable?: number },
) {
  await c.policy.createNamespacedPodDisruptionBudget({
    namespace,
    body: { metadata: { name, namespace }, spec: { selector: { matchLabels: labels }, ...spec } },
  })
}

export async function podsOnNode(c: KubeClients, node: string): Promise<string[]> {
  const list = await c.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })
  return list.items.map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`).sort()
}

export async function isCordoned(c: KubeClients, node: string): Promise<boolean> {
  return (await c.core.readNode({ name: node })).spec?.unschedulable === true
}

/**
 * The standard mixed node of the parity test and several behaviour tests:
 *   web-0, web-1    ReplicaSet pods (PDB "web" if pdb is given; web-2... on <node>-other)
 *   ds-<node>       DaemonSet pod
 *   mirror-<node>   mirror (static) pod in kube-system
 *   bare-<node>     unmanaged pod        (only if unmanaged)
 *   cache-<node>    ReplicaSet pod with emptyDir   (only if emptyDir)
 *   done-<node>     completed unmanaged pod        (only if completed)
 */
export async function mixedNode(
  c: KubeClients,
  node: string,
  opts: {
    unmanaged?: boolean; emptyDir?: boolean; completed?: boolean; namespace?: string
    pdb?: { minAvailable?: number; maxUnavailable?: number }
    /** More replicas of "web" (web-2, ...) on another node, <node>-other, as a spread workload has. */
    webElsewhere?: number
  } = {},
) {
  const ns = opts.namespace ?? `drain-${node}`
  await createNode(c, node)
  await ensureNamespace(c, ns)
  await ensureNamespace(c, 'kube-system')
  const webLabels = { app: 'web', node }
  const elsewhere = opts.webElsewhere ?? 0
  const rs = await createReplicaSet(c, ns, 'web', 2 + elsewhere, webLabels)
  if (elsewhere) await createNode(c, `${node}-other`)
  for (let i = 0; i < elsewhere; i++) await createPod(c, { namespace: ns, name: `web-${2 + i}`, node: `${node}-other`, owner: rs, labels: webLabels })
  const ds = await createDaemonSet(c, ns, 'agent', { app: 'agent', node })
  await createPod(c, { namespace: ns, name: 'web-0', node, owner: rs, labels: webLabels })
  await createPod(c, { namespace: ns, name: 'web-1', node, owner: rs, labels: webLabels })
  await createPod(c, { namespace: ns, name: `ds-${node}`, node, owner: ds, labels: { app: 'agent', node } })
  await createPod(c, { namespace: 'kube-system', name: `mirror-${node}`, node, mirror: true, labels: { component: 'static' } })
  if (opts.unmanaged) await createPod(c, { namespace: ns, name: `bare-${node}`, node, labels: { app: 'bare' } })
  if (opts.emptyDir) {
    const cacheLabels = { app: 'cache', node }
    const cacheRs = await createReplicaSet(c, ns, 'cache', 1, cacheLabels)
    await createPod(c, { namespace: ns, name: `cache-${node}`, node, owner: cacheRs, labels: cacheLabels, emptyDir: true })
  }
  if (opts.completed) {
    await createPod(c, { namespace: ns, name: `done-${node}`, node, labels: { app: 'job' } })
    await completePod(c, ns, `done-${node}`)
  }
  if (opts.pdb) await createPdb(c, ns, 'web', webLabels, opts.pdb)
  return { ns }
}
