// Test objects made through the Kubernetes API, so the same fixture works on the simulated
// cluster and on the real API server. Each returns the object the server stored.
import { HttpMethod, PatchStrategy, RbacAuthorizationV1Api, RequestContext, setHeaderOptions, type KubeConfig, type V1PolicyRule, type V1Node, type V1Pod, type V1PodDisruptionBudget, type V1DaemonSet, type V1ReplicaSet, type V1Taint } from '@kubernetes/client-node'
import { randomUUID } from 'node:crypto'
import { fetch } from 'undici'
import type { KubeClients } from '../../src/kube/client.js'

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)

function codeOf(err: unknown): number | undefined {
  return (err as { code?: number }).code
}

/** Polls `predicate` until it holds (a throw counts as not yet); throws naming `what` after timeoutMs. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      if (await predicate()) return
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

export async function ensureNamespace(clients: KubeClients, name: string): Promise<void> {
  try {
    await clients.core.createNamespace({ body: { metadata: { name } } })
  } catch (err) {
    if (codeOf(err) !== 409) throw err
  }
}

export interface NodeFixture {
  name: string
  cpu: string
  memory: string
  pods?: string
  /** Ready condition True (default) or False. */
  ready?: boolean
  labels?: Record<string, string>
  taints?: V1Taint[]
  unschedulable?: boolean
  /** Honoured by the simulator only: a real API server stamps creationTimestamp itself. */
  createdAgoSeconds?: number
}

export async function createNode(clients: KubeClients, f: NodeFixture): Promise<V1Node> {
  const now = new Date()
  const resources = { cpu: f.cpu, memory: f.memory, pods: f.pods ?? '110' }
  const condition = (type: string, status: string, reason: string) =>
    ({ type, status, reason, message: reason, lastHeartbeatTime: now, lastTransitionTime: now })
  const body: V1Node = {
    metadata: {
      name: f.name,
      // The beta OS and arch labels too, as a kubelet registers: otherwise the node lifecycle
      // controller adds them just after, a write that races tests comparing resourceVersions.
      labels: {
        'kubernetes.io/hostname': f.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64', ...f.labels,
      },
      ...(f.createdAgoSeconds !== undefined ? { creationTimestamp: new Date(Date.now() - f.createdAgoSeconds * 1000) } : {}),
    },
    spec: { taints: f.taints, unschedulable: f.unschedulable },
    // A real API server keeps the status given on create (that is how a kubelet registers).
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID'),
        f.ready === false ? condition('Ready', 'False', 'KubeletNotReady') : condition('Ready', 'True', 'KubeletReady'),
      ],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: f.name }],
      nodeInfo: {
        architecture: 'amd64', operatingSystem: 'linux', osImage: 'Debian GNU/Linux 12 (bookworm)',
        kernelVersion: '6.1.0', containerRuntimeVersion: 'containerd://1.7.0', kubeletVersion: 'v1.33.13',
        kubeProxyVersion: '', bootID: randomUUID(), machineID: f.name, systemUUID: randomUUID(),
      },
    },
  }
  return clients.core.createNode({ body })
}

const ownerApiVersion: Record<string, string> = {
  ReplicaSet: 'apps/v1', DaemonSet: 'apps/v1', StatefulSet: 'apps/v1', Deployment: 'apps/v1',
  ReplicationController: 'v1', Job: 'batch/v1', Node: 'v1',
}

export interface PodFixture {
  name: string
  namespace: string
  node: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  /**
   * Controller owner. Without uid the owner is looked up (ReplicaSet, DaemonSet): on the real
   * server the garbage collector deletes a pod whose owner does not exist.
   */
  owner?: { kind: string; name: string; uid?: string }
  /** Set after create (the server resets status): Succeeded and Failed stay; Running is the kubelet's. */
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed'
  emptyDir?: boolean
  requests?: { cpu: string; memory: string }
  terminationGracePeriodSeconds?: number
}

async function ownerUid(clients: KubeClients, ns: string, owner: { kind: string; name: string; uid?: string }): Promise<string> {
  if (owner.uid) return owner.uid
  const read = owner.kind === 'ReplicaSet' ? clients.apps.readNamespacedReplicaSet({ name: owner.name, namespace: ns })
    : owner.kind === 'DaemonSet' ? clients.apps.readNamespacedDaemonSet({ name: owner.name, namespace: ns })
    : owner.kind === 'StatefulSet' ? clients.apps.readNamespacedStatefulSet({ name: owner.name, namespace: ns })
    : undefined
  if (!read) throw new Error(`createPod: give the uid of the ${owner.kind} ${owner.name}`)
  return (await read).metadata!.uid!
}

export async function createPod(clients: KubeClients, f: PodFixture): Promise<V1Pod> {
  const ownerReferences = f.owner
    ? [{ apiVersion: ownerApiVersion[f.owner.kind] ?? 'v1', kind: f.owner.kind, name: f.owner.name, uid: await ownerUid(clients, f.namespace, f.owner), controller: true, blockOwnerDeletion: true }]
    : undefined
  const body: V1Pod = {
    metadata: { name: f.name, namespace: f.namespace, labels: f.labels, annotations: f.annotations, ownerReferences },
    spec: {
      nodeName: f.node,
      terminationGracePeriodSeconds: f.terminationGracePeriodSeconds,
      containers: [{
        name: 'main',
        image: 'registry.example/app:1',
        resources: f.requests ? { requests: f.requests } : undefined,
        volumeMounts: f.emptyDir ? [{ name: 'scratch', mountPath: '/scratch' }] : undefined,
      }],
      volumes: f.emptyDir ? [{ name: 'scratch', emptyDir: {} }] : undefined,
    },
  }
  const pod = await clients.core.createNamespacedPod({ namespace: f.namespace, body })
  if (f.phase === 'Succeeded' || f.phase === 'Failed') {
    return clients.core.patchNamespacedPodStatus({ name: f.name, namespace: f.namespace, body: { status: { phase: f.phase } } }, mergePatch)
  }
  return pod
}

export interface WorkloadFixture {
  name: string
  namespace: string
  /** Pod labels, also the selector. */
  labels: Record<string, string>
}

function podTemplate(labels: Record<string, string>) {
  return { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'registry.example/app:1' }] } }
}

/** No DaemonSet controller runs on the harness: its pods are made with createPod. */
export async function createDaemonSet(clients: KubeClients, f: WorkloadFixture): Promise<V1DaemonSet> {
  return clients.apps.createNamespacedDaemonSet({
    namespace: f.namespace,
    body: { metadata: { name: f.name, namespace: f.namespace, labels: f.labels }, spec: { selector: { matchLabels: f.labels }, template: podTemplate(f.labels) } },
  })
}

/**
 * No ReplicaSet controller runs on the harness: its pods are made with createPod. `replicas`
 * (default 1) should match them: the disruption controller counts expected pods from it.
 */
export async function createReplicaSet(clients: KubeClients, f: WorkloadFixture & { replicas?: number }): Promise<V1ReplicaSet> {
  return clients.apps.createNamespacedReplicaSet({
    namespace: f.namespace,
    body: { metadata: { name: f.name, namespace: f.namespace, labels: f.labels }, spec: { replicas: f.replicas ?? 1, selector: { matchLabels: f.labels }, template: podTemplate(f.labels) } },
  })
}

export interface PdbFixture {
  name: string
  namespace: string
  selector: Record<string, string>
  minAvailable?: number | string
  maxUnavailable?: number | string
  /** Wait until the disruption controller has computed its status (default true): evictions need it. */
  waitStatus?: boolean
}

export async function createPDB(clients: KubeClients, f: PdbFixture): Promise<V1PodDisruptionBudget> {
  await clients.policy.createNamespacedPodDisruptionBudget({
    namespace: f.namespace,
    body: {
      metadata: { name: f.name, namespace: f.namespace },
      spec: { selector: { matchLabels: f.selector }, minAvailable: f.minAvailable, maxUnavailable: f.maxUnavailable },
    },
  })
  let pdb!: V1PodDisruptionBudget
  await waitFor(async () => {
    pdb = await clients.policy.readNamespacedPodDisruptionBudget({ name: f.name, namespace: f.namespace })
    return f.waitStatus === false || (pdb.status?.observedGeneration ?? 0) >= (pdb.metadata?.generation ?? 1)
  }, 30_000, `status of PodDisruptionBudget ${f.namespace}/${f.name}`)
  return pdb
}

/** Waits until every named pod in the namespace runs and is Ready. */
export async function waitPodsRunning(clients: KubeClients, namespace: string, names: string[], timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => {
    const pods = (await clients.core.listNamespacedPod({ namespace })).items
    return names.every((n) => {
      const p = pods.find((x) => x.metadata?.name === n)
      return p?.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
    })
  }, timeoutMs, `pods ${names.join(', ')} in ${namespace} to run`)
}

/** Waits until the pod no longer exists. */
export async function waitPodGone(clients: KubeClients, namespace: string, name: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => {
    try {
      await clients.core.readNamespacedPod({ name, namespace })
      return false
    } catch (err) {
      if (codeOf(err) === 404) return true
      throw err
    }
  }, timeoutMs, `pod ${namespace}/${name} to go`)
}

/** One plain HTTP request to the API server with the kubeconfig's credentials; the body parsed when JSON. */
export async function kubeRequest(kc: KubeConfig, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: any }> {
  const server = kc.getCurrentCluster()!.server.replace(/\/+$/, '')
  const ctx = new RequestContext(server + path, HttpMethod[method])
  await kc.applySecurityAuthentication(ctx)
  const res = await fetch(server + path, {
    method,
    headers: { ...ctx.getHeaders(), accept: 'application/json', 'content-type': contentType },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: ctx.getDispatcher(),
  })
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch { /* not JSON: keep the text */ }
  return { status: res.status, body: parsed }
}

/**
 * Binds a ClusterRole with these rules to a user (e.g. the static-token "node-manager" user of
 * the real API server), as the Helm chart's ClusterRole will. Needs an admin kubeconfig.
 */
export async function grantClusterRole(kc: KubeConfig, f: { name: string; user: string; rules: V1PolicyRule[] }): Promise<void> {
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api)
  await rbac.createClusterRole({ body: { metadata: { name: f.name }, rules: f.rules } })
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: f.name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: f.name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: f.user }],
    },
  })
}

export interface MachineDeploymentFixture { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; replicas?: number }

/** A Cluster API MachineDeployment (cluster.x-k8s.io/v1beta1), as clusterctl would make one, trimmed. */
export async function createMachineDeployment(clients: KubeClients, f: MachineDeploymentFixture): Promise<void> {
  await clients.custom.createNamespacedCustomObject({
    group: 'cluster.x-k8s.io', version: 'v1beta1', namespace: f.namespace, plural: 'machinedeployments',
    body: {
      apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'MachineDeployment',
      metadata: { name: f.name, namespace: f.namespace, labels: f.labels ?? {}, ...(f.annotations ? { annotations: f.annotations } : {}) },
      spec: {
        clusterName: 'c1', replicas: f.replicas ?? 2,
        selector: { matchLabels: { 'cluster.x-k8s.io/deployment-name': f.name } },
        template: {
          metadata: { labels: { 'cluster.x-k8s.io/deployment-name': f.name } },
          spec: { clusterName: 'c1', version: 'v1.33.4', bootstrap: { configRef: { apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1', kind: 'KubeadmConfigTemplate', name: f.name } }, infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'DockerMachineTemplate', name: f.name } },
        },
      },
    },
  })
}
