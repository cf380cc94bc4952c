// The clusters the sim starts with: the demo cluster (no --nodes), an empty one (--nodes 0), or
// N generated worker nodes with M workload pods and S session pods each.
import { randomUUID } from 'node:crypto'
import { hash, isoSeconds, makeNode, makePod, nodeIp, runningStatus, withPodReady, type NodeShape } from './objects.js'
import { SYSTEM_PRIORITY_CLASSES } from './admission.js'
import { replicaSetFor, templateHash } from './controllers.js'
import { SESSION_TEMPLATES, sessionDeployment, sessionLabels } from './sessions.js'
import type { Obj, Store } from './store.js'

const DAY = 86_400_000

interface Owner { apiVersion: string; kind: string; name: string; uid: string }

function suffix(seed: string, length = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
  let h = hash(seed)
  let out = ''
  for (let i = 0; i < length; i++) {
    out += alphabet[h % alphabet.length]
    h = Math.floor(h / alphabet.length) || hash(seed + out)
  }
  return out
}

function namespace(name: string, created: Date): Obj {
  return {
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name }, creationTimestamp: isoSeconds(created) },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  }
}

function container(name: string, image: string, cpu: string, memory: string, limits?: { cpu?: string; memory: string }): Obj {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    resources: { requests: { cpu, memory }, ...(limits ? { limits } : {}) },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  }
}

function podSpec(containers: Obj[], extra: Obj = {}): Obj {
  return {
    containers,
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    serviceAccountName: 'default',
    serviceAccount: 'default',
    securityContext: {},
    schedulerName: 'default-scheduler',
    enableServiceLinks: true,
    preemptionPolicy: 'PreemptLowerPriority',
    priority: 0,
    tolerations: [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ],
    ...extra,
  }
}

const DS_TOLERATIONS = [
  { operator: 'Exists', effect: 'NoSchedule' },
  { operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
]

/** Accumulates objects per resource and stores them in one bulk insert. */
class ClusterBuilder {
  readonly objects = new Map<string, Obj[]>()
  readonly nodeIPs = new Map<string, string>()
  private readonly notReadyNodes = new Set<string>()
  private readonly podKeys = new Set<string>()
  constructor(readonly now: Date, readonly sessionObjects = false) {}

  add(resource: string, obj: Obj): Obj {
    let list = this.objects.get(resource)
    if (!list) this.objects.set(resource, (list = []))
    obj.metadata.uid ??= randomUUID()
    if (resource.endsWith('.apps') || resource.endsWith('.policy') || resource === 'pods') obj.metadata.generation ??= 1
    list.push(obj)
    return obj
  }

  node(shape: NodeShape): void {
    const node = this.add('nodes', makeNode(shape, this.now))
    this.nodeIPs.set(shape.name, nodeIp(shape.index))
    if (shape.ready === false) this.notReadyNodes.add(shape.name)
    // Each kubelet renews a Lease in kube-node-lease (a silent one stopped renewing a while ago).
    const renew = new Date(this.now.getTime() - (shape.ready === false ? 3 * 3600_000 : 4000))
    this.add('leases.coordination.k8s.io', {
      metadata: {
        name: shape.name,
        namespace: 'kube-node-lease',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: shape.name, uid: node.metadata.uid }],
        creationTimestamp: node.metadata.creationTimestamp,
      },
      spec: { holderIdentity: shape.name, leaseDurationSeconds: 40, renewTime: renew.toISOString().replace('Z', '000Z') },
    })
  }

  workload(resource: 'daemonsets.apps' | 'replicasets.apps' | 'deployments.apps' | 'statefulsets.apps', ns: string, name: string,
    labels: Record<string, string>, spec: Obj, replicas: number, created: Date): Owner {
    const kind = { 'daemonsets.apps': 'DaemonSet', 'replicasets.apps': 'ReplicaSet', 'deployments.apps': 'Deployment', 'statefulsets.apps': 'StatefulSet' }[resource]
    const workloadSpec: Obj = {
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec },
      ...(kind === 'DaemonSet' ? { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } } } : { replicas }),
    }
    const status = kind === 'DaemonSet'
      ? { currentNumberScheduled: replicas, desiredNumberScheduled: replicas, numberAvailable: replicas, numberMisscheduled: 0, numberReady: replicas, observedGeneration: 1, updatedNumberScheduled: replicas }
      : { replicas, readyReplicas: replicas, availableReplicas: replicas, ...(kind === 'ReplicaSet' ? { fullyLabeledReplicas: replicas } : { updatedReplicas: replicas }), observedGeneration: 1 }
    const obj = this.add(resource, { metadata: { name, namespace: ns, labels, creationTimestamp: isoSeconds(created) }, spec: workloadSpec, status })
    return { apiVersion: 'apps/v1', kind, name, uid: obj.metadata.uid }
  }

  pod(ns: string, name: string, nodeName: string | undefined, labels: Record<string, string>, spec: Obj, created: Date, owner?: Owner, annotations?: Record<string, string>): void {
    // Generated suffixes can collide at 150,000 pods: pick another one, as the ReplicaSet controller would.
    for (let attempt = 1; this.podKeys.has(`${ns}/${name}`); attempt++) name = name.replace(/[^-]+$/, suffix(`${name}#${attempt}`))
    this.podKeys.add(`${ns}/${name}`)
    const pod = makePod({ namespace: ns, name, nodeName, labels, spec, owner, annotations, created })
    if (nodeName) pod.status = runningStatus(pod, this.nodeIPs.get(nodeName) ?? '10.0.0.1', created)
    // Pods on a NotReady node were marked not ready by the node lifecycle controller.
    this.add('pods', nodeName && this.notReadyNodes.has(nodeName) ? withPodReady(pod, false, this.now) : pod)
  }

  pdb(ns: string, name: string, selector: Record<string, string>, rule: Obj, created: Date): void {
    this.add('poddisruptionbudgets.policy', { metadata: { name, namespace: ns, creationTimestamp: isoSeconds(created) }, spec: { ...rule, selector: { matchLabels: selector } }, status: {} })
  }

  /** kube-proxy on each node, coredns with its PDB, as every cluster has. */
  systemWorkloads(nodes: string[], corednsNodes: string[], created: Date): void {
    const proxyLabels = { 'k8s-app': 'kube-proxy' }
    const proxySpec = podSpec([container('kube-proxy', 'registry.k8s.io/kube-proxy:v1.33.4', '100m', '64Mi')], {
      hostNetwork: true, priorityClassName: 'system-node-critical', priority: 2000001000, serviceAccountName: 'kube-proxy', serviceAccount: 'kube-proxy', tolerations: DS_TOLERATIONS,
    })
    const proxy = this.workload('daemonsets.apps', 'kube-system', 'kube-proxy', proxyLabels, proxySpec, nodes.length, created)
    for (const n of nodes) this.pod('kube-system', `kube-proxy-${suffix(n)}`, n, { ...proxyLabels, 'controller-revision-hash': '6d4b9c7f8', 'pod-template-generation': '1' }, proxySpec, created, proxy)

    const dnsLabels = { 'k8s-app': 'kube-dns' }
    const dnsSpec = podSpec([container('coredns', 'registry.k8s.io/coredns/coredns:v1.12.0', '100m', '70Mi', { memory: '170Mi' })], {
      priorityClassName: 'system-cluster-critical', priority: 2000000000, serviceAccountName: 'coredns', serviceAccount: 'coredns',
    })
    this.workload('deployments.apps', 'kube-system', 'coredns', dnsLabels, dnsSpec, corednsNodes.length, created)
    const rs = this.workload('replicasets.apps', 'kube-system', 'coredns-674b8bbfcf', { ...dnsLabels, 'pod-template-hash': '674b8bbfcf' }, dnsSpec, corednsNodes.length, created)
    for (const n of corednsNodes) this.pod('kube-system', `coredns-674b8bbfcf-${suffix('coredns' + n)}`, n, { ...dnsLabels, 'pod-template-hash': '674b8bbfcf' }, dnsSpec, created, rs)
    this.pdb('kube-system', 'coredns', dnsLabels, { minAvailable: 1 }, created)
  }

  /** A running session on the node: a bare pod, or (sessionObjects) a Session with its Deployment, ReplicaSet and pod, as StreamSpace runs it. */
  sessionPod(node: string, id: string, user: string, template: string, created: Date): void {
    const spec = SESSION_SPECS[template] ?? SESSION_SPECS.firefox
    const name = `ss-${user}-${id}`
    if (!this.sessionObjects) {
      this.pod('streamspace', name, node, { app: 'streamspace-session', session: id, user, template }, spec, created)
      return
    }
    const at = isoSeconds(created)
    const labels = sessionLabels(name, user, template)
    const session = this.add('sessions.stream.space', {
      metadata: { name, namespace: 'streamspace', labels, generation: 1, creationTimestamp: at },
      spec: { user, template, state: 'running' },
      status: { phase: 'Running' },
    })
    const ready = { replicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 }
    const base = sessionDeployment(session, 1, spec)
    const d = this.add('deployments.apps', { ...base, metadata: { ...base.metadata, creationTimestamp: at }, status: { ...ready, updatedReplicas: 1 } })
    const rsBase = replicaSetFor(d, templateHash(d.spec.template), 1)
    const rs = this.add('replicasets.apps', { ...rsBase, metadata: { ...rsBase.metadata, creationTimestamp: at }, status: { ...ready, fullyLabeledReplicas: 1 } })
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid }
    this.pod('streamspace', `${rs.metadata.name}-${suffix(name)}`, node, rs.spec.template.metadata.labels, spec, created, owner)
  }

  insertInto(store: Store): void {
    // Namespaces first so resourceVersions follow a plausible creation order.
    for (const resource of ['namespaces', 'nodes', ...[...this.objects.keys()].filter((r) => r !== 'namespaces' && r !== 'nodes')]) {
      const list = this.objects.get(resource)
      if (list) store.bulkInsert(resource, list)
    }
  }
}

const SESSION_SPECS: Record<string, Obj> = Object.fromEntries(SESSION_TEMPLATES.map((t) => [
  t,
  podSpec([container('session', `ghcr.io/streamspace/session-${t}:1.4.2`, t === 'desktop' ? '1' : '500m', t === 'desktop' ? '2Gi' : '1Gi', { cpu: '2', memory: '4Gi' })], {
    volumes: [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
    terminationGracePeriodSeconds: 30,
  }),
]))
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy']

function baseNamespaces(b: ClusterBuilder, created: Date): void {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'streamspace']) b.add('namespaces', namespace(ns, created))
  // The API server creates the system PriorityClasses itself.
  for (const [name, { value, description }] of Object.entries(SYSTEM_PRIORITY_CLASSES)) {
    b.add('priorityclasses.scheduling.k8s.io', { metadata: { name, generation: 1, creationTimestamp: isoSeconds(created) }, value, description, preemptionPolicy: 'PreemptLowerPriority' })
  }
}

/** The small StreamSpace cluster behind `npm start` with no cluster configured. */
function demoCluster(b: ClusterBuilder): void {
  const now = b.now.getTime()
  const created = new Date(now - 41 * DAY)
  baseNamespaces(b, created)
  const shapes: NodeShape[] = [
    { name: 'control-plane-1', index: 1, cpu: 4, memoryGi: 8, instanceType: 'm6i.xlarge', zone: 'us-east-1a', controlPlane: true, created },
    { name: 'worker-small-1', index: 2, cpu: 4, memoryGi: 16, instanceType: 'm6i.xlarge', zone: 'us-east-1a', created: new Date(now - 40 * DAY) },
    { name: 'worker-medium-1', index: 3, cpu: 8, memoryGi: 32, instanceType: 'm6i.2xlarge', zone: 'us-east-1b', created: new Date(now - 33 * DAY - 5 * 3600_000) },
    { name: 'worker-large-1', index: 4, cpu: 16, memoryGi: 64, instanceType: 'm6i.4xlarge', zone: 'us-east-1c', created: new Date(now - 12 * DAY - 7 * 3600_000) },
    { name: 'worker-medium-2', index: 5, cpu: 8, memoryGi: 32, instanceType: 'm6i.2xlarge', zone: 'us-east-1c', ready: false, created: new Date(now - 2 * DAY - 3 * 3600_000) },
  ]
  for (const s of shapes) b.node(s)
  const names = shapes.map((s) => s.name)
  b.systemWorkloads(names, ['worker-small-1', 'worker-medium-1'], created)

  // Static pods of the control plane appear as mirror pods owned by their Node.
  const cp = shapes[0]
  const cpOwner = { apiVersion: 'v1', kind: 'Node', name: cp.name, uid: b.objects.get('nodes')![0].metadata.uid }
  for (const [component, cpu] of [['etcd', '100m'], ['kube-apiserver', '250m'], ['kube-controller-manager', '200m'], ['kube-scheduler', '100m']] as const) {
    const image = component === 'etcd' ? 'registry.k8s.io/etcd:3.5.21-0' : `registry.k8s.io/${component}:v1.33.4`
    const spec = podSpec([container(component, image, cpu, component === 'etcd' ? '100Mi' : '128Mi')], {
      hostNetwork: true, priorityClassName: 'system-node-critical', priority: 2000001000, tolerations: [{ operator: 'Exists', effect: 'NoExecute' }],
    })
    const hashText = hash(component).toString(16)
    b.pod('kube-system', `${component}-${cp.name}`, cp.name, { component, tier: 'control-plane' }, spec, created, cpOwner, {
      'kubernetes.io/config.hash': hashText, 'kubernetes.io/config.mirror': hashText, 'kubernetes.io/config.source': 'file',
    })
  }

  // The StreamSpace API with a PDB, and running sessions on the Ready workers.
  const apiLabels = { app: 'streamspace-api' }
  const apiSpec = podSpec([container('api', 'ghcr.io/streamspace/api:1.4.2', '250m', '256Mi', { memory: '512Mi' })])
  b.workload('deployments.apps', 'streamspace', 'streamspace-api', apiLabels, apiSpec, 2, new Date(now - 30 * DAY))
  const apiRs = b.workload('replicasets.apps', 'streamspace', 'streamspace-api-7c9d6b5f4', { ...apiLabels, 'pod-template-hash': '7c9d6b5f4' }, apiSpec, 2, new Date(now - 9 * DAY))
  for (const n of ['worker-medium-1', 'worker-large-1']) {
    b.pod('streamspace', `streamspace-api-7c9d6b5f4-${suffix('api' + n)}`, n, { ...apiLabels, 'pod-template-hash': '7c9d6b5f4' }, apiSpec, new Date(now - 9 * DAY), apiRs)
  }
  b.pdb('streamspace', 'streamspace-api', apiLabels, { maxUnavailable: 1 }, new Date(now - 30 * DAY))
  const sessions: [string, string, string, number][] = [
    ['worker-small-1', 'alice', 'firefox', 3], ['worker-medium-1', 'bob', 'vscode', 50], ['worker-medium-1', 'carol', 'desktop', 7],
    ['worker-large-1', 'dave', 'firefox', 120], ['worker-large-1', 'erin', 'vscode', 15], ['worker-large-1', 'frank', 'desktop', 240],
  ]
  for (const [node, user, template, minutes] of sessions) b.sessionPod(node, suffix(user + template, 8), user, template, new Date(now - minutes * 60_000))
}

const GENERATED_SIZES = [
  { cpu: 8, memoryGi: 32, instanceType: 'm6i.2xlarge' },
  { cpu: 16, memoryGi: 64, instanceType: 'm6i.4xlarge' },
  { cpu: 32, memoryGi: 128, instanceType: 'm6i.8xlarge' },
  { cpu: 4, memoryGi: 16, instanceType: 'm6i.xlarge' },
]
const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c']
const APP_COUNT = 20

/** N worker nodes named node-00001..., each with podsPerNode workload pods and sessionsPerNode sessions. */
function generatedCluster(b: ClusterBuilder, nodeCount: number, podsPerNode: number, sessionsPerNode: number): void {
  const now = b.now.getTime()
  const created = new Date(now - 60 * DAY)
  baseNamespaces(b, created)
  if (nodeCount === 0) return
  b.add('namespaces', namespace('workloads', created))
  const names: string[] = []
  for (let i = 1; i <= nodeCount; i++) {
    const name = `node-${String(i).padStart(5, '0')}`
    names.push(name)
    b.node({ name, index: i, ...GENERATED_SIZES[i % GENERATED_SIZES.length], zone: ZONES[i % ZONES.length], created: new Date(now - ((i * 7919) % 60) * DAY - (i % 24) * 3600_000) })
  }
  if (podsPerNode <= 0 && sessionsPerNode <= 0) return
  // Two DaemonSet pods per node (kube-proxy, node-exporter), the rest from ReplicaSets.
  const dsPods = Math.min(podsPerNode, 2)
  if (dsPods >= 1) b.systemWorkloads(names, names.slice(0, 2), created)
  let exporter: { owner: Owner; spec: Obj; labels: Record<string, string> } | undefined
  if (dsPods >= 2) {
    const labels = { app: 'node-exporter' }
    const spec = podSpec([container('node-exporter', 'quay.io/prometheus/node-exporter:v1.9.0', '50m', '64Mi', { memory: '128Mi' })], { hostNetwork: true, tolerations: DS_TOLERATIONS })
    exporter = { owner: b.workload('daemonsets.apps', 'kube-system', 'node-exporter', labels, spec, nodeCount, created), spec, labels }
  }
  const rsPerNode = Math.max(0, podsPerNode - dsPods)
  const apps = Array.from({ length: rsPerNode > 0 ? APP_COUNT : 0 }, (_, a) => {
    const name = `app-${String(a + 1).padStart(2, '0')}`
    const podHash = suffix(name, 10).replace(/[^a-z0-9]/g, 'x')
    const labels = { app: name, 'pod-template-hash': podHash }
    const big = a % 4 === 0
    const spec = podSpec([container('app', a % 2 ? 'docker.io/library/nginx:1.27.3' : 'docker.io/library/redis:7.4.2', big ? '200m' : '50m', big ? '256Mi' : '64Mi', { memory: big ? '512Mi' : '128Mi' })])
    // Pods are dealt to the apps in turn: app a gets its share of them exactly, so each ReplicaSet has the pods it asks for.
    const total = rsPerNode * nodeCount
    const replicas = Math.floor(total / APP_COUNT) + (a < total % APP_COUNT ? 1 : 0)
    b.workload('deployments.apps', 'workloads', name, { app: name }, spec, replicas, created)
    const owner = b.workload('replicasets.apps', 'workloads', `${name}-${podHash}`, labels, spec, replicas, created)
    return { name: `${name}-${podHash}`, labels, spec, owner }
  })
  let appCursor = 0
  for (let i = 0; i < nodeCount; i++) {
    const node = names[i]
    const podCreated = new Date(now - ((i * 31) % 20) * DAY - 3600_000)
    if (exporter) b.pod('kube-system', `node-exporter-${suffix('ne' + node)}`, node, { ...exporter.labels, 'controller-revision-hash': '5f7d8c9b6' }, exporter.spec, podCreated, exporter.owner)
    for (let p = 0; p < rsPerNode; p++) {
      const app = apps[appCursor++ % apps.length]
      b.pod('workloads', `${app.name}-${suffix(`${node}/${p}`)}`, node, app.labels, app.spec, podCreated, app.owner)
    }
    for (let s = 0; s < sessionsPerNode; s++) {
      const user = USERS[(i + s) % USERS.length]
      b.sessionPod(node, suffix(`${node}/session/${s}`, 8), user, SESSION_TEMPLATES[(i + s) % SESSION_TEMPLATES.length], new Date(now - ((i + s * 17) % 600) * 60_000))
    }
  }
}

export interface SeedOptions {
  nodes?: number
  podsPerNode?: number
  sessionsPerNode?: number
  /** Sessions as Session objects with their Deployment, ReplicaSet and pod (else bare pods). */
  sessionObjects?: boolean
}

export function seedCluster(store: Store, opts: SeedOptions, now = new Date()): void {
  const b = new ClusterBuilder(now, opts.sessionObjects)
  if (opts.nodes === undefined) demoCluster(b)
  else generatedCluster(b, opts.nodes, opts.podsPerNode ?? 0, opts.sessionsPerNode ?? 0)
  b.insertInto(store)
}
