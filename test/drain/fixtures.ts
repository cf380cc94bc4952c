// Drain fixtures, created through the Kubernetes API only (no simulator shortcuts), so the same
// tests run against the simulated cluster and a real kube-apiserver. Owners exist as real
// objects (a garbage collector would remove pods whose owner is missing).
// The objects themselves come from test/helpers/fixtures.ts; these keep the drain tests' shorthand.
import type { KubeClients } from '../../src/kube/client.js'
import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node'
import * as api from '../helpers/fixtures.js'
import { ensureNamespace, waitFor } from '../helpers/fixtures.js'

export { ensureNamespace }

export function createNode(c: KubeClients, name: string, labels: Record<string, string> = {}) {
  return api.createNode(c, { name, cpu: '8', memory: '32Gi', labels })
}

export interface Owner { kind: string; name: string; uid: string }

const owner = (kind: string, o: { metadata?: { name?: string; uid?: string } }): Owner => ({ kind, name: o.metadata!.name!, uid: o.metadata!.uid! })

export async function createReplicaSet(c: KubeClients, namespace: string, name: string, replicas: number, labels: Record<string, string>): Promise<Owner> {
  return owner('ReplicaSet', await api.createReplicaSet(c, { namespace, name, replicas, labels }))
}

export async function createDaemonSet(c: KubeClients, namespace: string, name: string, labels: Record<string, string>): Promise<Owner> {
  return owner('DaemonSet', await api.createDaemonSet(c, { namespace, name, labels }))
}

export interface PodSpec {
  namespace?: string
  name: string
  node: string
  owner?: Owner
  labels?: Record<string, string>
  emptyDir?: boolean
  mirror?: boolean
  /** terminationGracePeriodSeconds; 1 unless given, so drains in tests are quick. */
  grace?: number
}

export function createPod(c: KubeClients, p: PodSpec): Promise<V1Pod> {
  return api.createPod(c, {
    namespace: p.namespace ?? 'default',
    name: p.name,
    node: p.node,
    owner: p.owner,
    labels: p.labels,
    emptyDir: p.emptyDir,
    annotations: p.mirror ? { 'kubernetes.io/config.mirror': 'mirror-hash', 'kubernetes.io/config.source': 'file' } : undefined,
    terminationGracePeriodSeconds: p.grace ?? 1,
  })
}

/**
 * Marks a pod finished through the status subresource, as a kubelet would: once it runs (so the
 * kubelet, real or stand-in, is done starting it), with a merge patch (no resourceVersion race).
 */
export async function completePod(c: KubeClients, namespace: string, name: string, phase: 'Succeeded' | 'Failed' = 'Succeeded') {
  await waitFor(async () => (await c.core.readNamespacedPodStatus({ namespace, name })).status?.phase === 'Running', 10_000, `pod ${namespace}/${name} to run`)
  await c.core.patchNamespacedPodStatus(
    { namespace, name, body: { status: { phase, conditions: [{ type: 'Ready', status: 'False', reason: 'PodCompleted' }] } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  )
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
  if (opts.pdb) await api.createPDB(c, { namespace: ns, name: 'web', selector: webLabels, ...opts.pdb, waitStatus: false })
  return { ns }
}
