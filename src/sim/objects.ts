// Builders for realistic Node and Pod objects, shared by the seeded clusters and the kubelet.
import type { Obj } from './store.js'

/** FNV-1a: a small, stable hash so generated names, IPs and metrics are deterministic. */
export function hash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

let lastIsoMs = NaN
let lastIso = ''
export function isoSeconds(d: Date): string {
  // Seeding formats the same few instants 150,000 times: remember the last one.
  const ms = Math.floor(d.getTime() / 1000)
  if (ms !== lastIsoMs) {
    lastIsoMs = ms
    lastIso = d.toISOString().slice(0, 19) + 'Z'
  }
  return lastIso
}

const IMAGE_NAMES = [
  ['registry.k8s.io/kube-proxy', 'v1.33.4', 30_000_000], ['registry.k8s.io/coredns/coredns', 'v1.12.0', 20_900_000],
  ['registry.k8s.io/pause', '3.10', 320_000], ['docker.io/fluent/fluent-bit', '3.2.4', 38_000_000],
  ['quay.io/prometheus/node-exporter', 'v1.9.0', 12_400_000], ['ghcr.io/streamspace/session-firefox', '1.4.2', 612_000_000],
  ['ghcr.io/streamspace/session-vscode', '1.4.2', 803_000_000], ['ghcr.io/streamspace/session-desktop', '1.4.2', 1_210_000_000],
  ['ghcr.io/streamspace/api', '1.4.2', 48_000_000], ['ghcr.io/streamspace/controller', '1.4.2', 41_000_000],
  ['docker.io/library/nginx', '1.27.3', 72_000_000], ['docker.io/library/redis', '7.4.2', 45_000_000],
  ['docker.io/library/postgres', '16.6', 158_000_000], ['registry.k8s.io/metrics-server/metrics-server', 'v0.7.2', 19_500_000],
  ['docker.io/calico/node', 'v3.29.1', 141_000_000], ['docker.io/calico/cni', 'v3.29.1', 94_000_000],
  ['registry.k8s.io/sig-storage/csi-node-driver-registrar', 'v2.12.0', 10_800_000], ['docker.io/library/busybox', '1.37.0', 2_200_000],
  ['registry.k8s.io/etcd', '3.5.21-0', 58_900_000], ['registry.k8s.io/kube-apiserver', 'v1.33.4', 30_100_000],
  ['registry.k8s.io/kube-controller-manager', 'v1.33.4', 27_600_000], ['registry.k8s.io/kube-scheduler', 'v1.33.4', 21_300_000],
  ['ghcr.io/streamspace/session-gimp', '1.4.2', 930_000_000], ['ghcr.io/streamspace/node-manager', '0.1.0', 61_000_000],
  ['docker.io/grafana/promtail', '3.3.2', 83_000_000],
  // Session images of other apps, and the releases before the current one that nodes keep cached
  // until the kubelet's image GC: 50 in all, the most a kubelet reports (nodeStatusMaxImages), as a
  // busy session node has them. With them a node is ~11 KB of JSON, as in real large clusters.
  ['ghcr.io/streamspace/session-libreoffice', '1.4.2', 1_480_000_000], ['ghcr.io/streamspace/session-blender', '1.4.2', 2_310_000_000],
  ['ghcr.io/streamspace/session-inkscape', '1.4.2', 1_020_000_000], ['ghcr.io/streamspace/session-krita', '1.4.2', 1_190_000_000],
  ['ghcr.io/streamspace/session-chromium', '1.4.2', 690_000_000], ['ghcr.io/streamspace/session-thunderbird', '1.4.2', 640_000_000],
  ['ghcr.io/streamspace/session-audacity', '1.4.2', 710_000_000], ['ghcr.io/streamspace/session-obs', '1.4.2', 1_350_000_000],
  ['ghcr.io/streamspace/session-kdenlive', '1.4.2', 1_640_000_000], ['ghcr.io/streamspace/session-jupyter', '1.4.2', 1_870_000_000],
  ['ghcr.io/streamspace/session-firefox', '1.4.1', 611_000_000], ['ghcr.io/streamspace/session-vscode', '1.4.1', 801_000_000],
  ['ghcr.io/streamspace/session-desktop', '1.4.1', 1_208_000_000], ['ghcr.io/streamspace/session-gimp', '1.4.1', 929_000_000],
  ['ghcr.io/streamspace/session-libreoffice', '1.4.1', 1_478_000_000], ['ghcr.io/streamspace/session-chromium', '1.4.1', 688_000_000],
  ['ghcr.io/streamspace/session-firefox', '1.3.9', 604_000_000], ['ghcr.io/streamspace/session-vscode', '1.3.9', 796_000_000],
  ['ghcr.io/streamspace/session-desktop', '1.3.9', 1_199_000_000], ['ghcr.io/streamspace/api', '1.4.1', 47_800_000],
  ['ghcr.io/streamspace/controller', '1.4.1', 40_900_000], ['registry.k8s.io/kube-proxy', 'v1.32.8', 29_700_000],
  ['docker.io/calico/node', 'v3.28.2', 139_000_000], ['docker.io/calico/cni', 'v3.28.2', 93_000_000],
  ['docker.io/fluent/fluent-bit', '3.1.9', 37_400_000],
] as const

/** 64 hex digits that look like a sha256 digest, stable for the text. */
function sha(text: string): string {
  const h = hash(text)
  let out = ''
  for (let i = 0; i < 4; i++) out += (Math.imul(h ^ (i * 0x9e3779b9), 0x85ebca6b) >>> 0).toString(16).padStart(8, '0')
  return out + out
}

const imageIDs = new Map<string, string>()
function imageID(image: string): string {
  let id = imageIDs.get(image)
  if (!id) imageIDs.set(image, (id = `${image.split(':')[0]}@sha256:${sha(image)}`))
  return id
}

/** Pod conditions are the same for every pod started at one instant: share them (never mutated). */
let lastConditions: { t: string; conditions: Obj[] } = { t: '', conditions: [] }

/** One images list shared by every generated node: it is never mutated and keeps memory small. */
const NODE_IMAGES = IMAGE_NAMES.map(([repo, tag, size]) => ({ names: [`${repo}@sha256:${sha(repo + tag)}`, `${repo}:${tag}`], sizeBytes: size }))

export interface NodeShape {
  name: string
  index: number
  cpu: number
  memoryGi: number
  instanceType: string
  zone: string
  controlPlane?: boolean
  ready?: boolean
  created: Date
}

export function nodeIp(index: number): string {
  return `10.0.${Math.floor(index / 250) % 256}.${(index % 250) + 2}`
}

export function makeNode(s: NodeShape, now: Date): Obj {
  const memKi = s.memoryGi * 1024 * 1024 - 178_348 // what the kernel reports: a little under the nominal size
  const allocMemKi = memKi - (s.memoryGi >= 16 ? 1_153_434 : 552_960)
  const allocCpu = `${s.cpu * 1000 - (s.cpu >= 8 ? 150 : 100)}m`
  const region = s.zone.slice(0, -1)
  const ip = nodeIp(s.index)
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/instance-type': s.instanceType,
    'beta.kubernetes.io/os': 'linux',
    'failure-domain.beta.kubernetes.io/region': region,
    'failure-domain.beta.kubernetes.io/zone': s.zone,
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': s.name,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': s.instanceType,
    'topology.kubernetes.io/region': region,
    'topology.kubernetes.io/zone': s.zone,
  }
  if (s.controlPlane) {
    labels['node-role.kubernetes.io/control-plane'] = ''
    labels['node.kubernetes.io/exclude-from-external-load-balancers'] = ''
  } else {
    labels['streamspace.io/session-node'] = 'true'
  }
  const created = isoSeconds(s.created)
  const heartbeat = isoSeconds(now)
  const ready = s.ready !== false
  const cond = (type: string, reason: string, message: string) => ({
    type, status: 'False', lastHeartbeatTime: heartbeat, lastTransitionTime: created, reason, message,
  })
  const podCidr = `10.${64 + (s.index >> 8)}.${s.index & 255}.0/24`
  return {
    metadata: {
      name: s.name,
      labels,
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///run/containerd/containerd.sock',
        'projectcalico.org/IPv4Address': `${ip}/16`,
      },
      creationTimestamp: created,
    },
    spec: {
      podCIDR: podCidr,
      podCIDRs: [podCidr],
      providerID: `sim://${s.zone}/${s.name}`,
      ...(s.controlPlane ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] } : {}),
    },
    status: {
      capacity: { cpu: String(s.cpu), 'ephemeral-storage': '203070420Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: `${memKi}Ki`, pods: '110' },
      allocatable: { cpu: allocCpu, 'ephemeral-storage': '187149698763', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: `${allocMemKi}Ki`, pods: '110' },
      conditions: [
        cond('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        ready
          ? { type: 'Ready', status: 'True', lastHeartbeatTime: heartbeat, lastTransitionTime: created, reason: 'KubeletReady', message: 'kubelet is posting ready status' }
          : { type: 'Ready', status: 'False', lastHeartbeatTime: heartbeat, lastTransitionTime: heartbeat, reason: 'KubeletNotReady', message: 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized' },
      ],
      addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: s.name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: sha(s.name).slice(0, 32),
        systemUUID: `${sha(s.name + 'uuid').slice(0, 8)}-${sha(s.name).slice(8, 12)}-${sha(s.name).slice(12, 16)}-${sha(s.name).slice(16, 20)}-${sha(s.name).slice(20, 32)}`,
        bootID: `${sha(s.name + 'boot').slice(0, 8)}-${sha(s.name).slice(32, 36)}-${sha(s.name).slice(36, 40)}-${sha(s.name).slice(40, 44)}-${sha(s.name).slice(44, 56)}`,
        kernelVersion: '6.8.0-1021-aws',
        osImage: 'Ubuntu 24.04.1 LTS',
        containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: 'v1.33.4',
        kubeProxyVersion: 'v1.33.4',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: NODE_IMAGES,
    },
  }
}

export interface PodShape {
  namespace: string
  name: string
  nodeName?: string
  labels: Record<string, string>
  owner?: { apiVersion: string; kind: string; name: string; uid: string }
  annotations?: Record<string, string>
  /** Shared (never mutated) spec pieces for pods of one workload. */
  spec: Obj
  created: Date
}

export function makePod(s: PodShape): Obj {
  return {
    metadata: {
      name: s.name,
      ...(s.owner ? { generateName: s.name.replace(/[a-z0-9]{5}$/, '') } : {}),
      namespace: s.namespace,
      labels: s.labels,
      ...(s.annotations ? { annotations: s.annotations } : {}),
      ...(s.owner ? { ownerReferences: [{ ...s.owner, controller: true, blockOwnerDeletion: true }] } : {}),
      creationTimestamp: isoSeconds(s.created),
    },
    spec: s.nodeName ? { ...s.spec, nodeName: s.nodeName } : s.spec,
    status: { phase: 'Pending', qosClass: qosClass(s.spec) },
  }
}

/** As the API server sets it on create (from requests and limits). */
export function qosClass(spec: Obj): string {
  const containers: Obj[] = spec?.containers ?? []
  if (containers.length === 0) return 'BestEffort'
  let any = false
  let guaranteed = true
  for (const c of containers) {
    const req = c.resources?.requests ?? {}
    const lim = c.resources?.limits ?? {}
    if (Object.keys(req).length || Object.keys(lim).length) any = true
    if (!lim.cpu || !lim.memory || (req.cpu && req.cpu !== lim.cpu) || (req.memory && req.memory !== lim.memory)) guaranteed = false
  }
  return !any ? 'BestEffort' : guaranteed ? 'Guaranteed' : 'Burstable'
}

/** What the kubelet reports for a pod it runs: phase Running, Ready, one status per container. */
export function runningStatus(pod: Obj, hostIP: string, at: Date): Obj {
  const t = isoSeconds(at)
  const name = `${pod.metadata.namespace}/${pod.metadata.name}`
  const h = hash(name)
  const podIP = `10.${64 + ((h >> 16) & 63)}.${(h >> 8) & 255}.${(h & 253) + 2}`
  if (lastConditions.t !== t) {
    const condition = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: t })
    lastConditions = { t, conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(condition) }
  }
  const hostNetwork = pod.spec?.hostNetwork === true
  const ip = hostNetwork ? hostIP : podIP
  return {
    phase: 'Running',
    conditions: lastConditions.conditions,
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP: ip,
    podIPs: [{ ip }],
    startTime: t,
    containerStatuses: (pod.spec?.containers ?? []).map((c: Obj, i: number) => ({
      name: c.name,
      state: { running: { startedAt: t } },
      lastState: {},
      ready: true,
      restartCount: 0,
      image: c.image,
      imageID: imageID(String(c.image)),
      containerID: `containerd://${sha(name + i)}`,
      started: true,
    })),
    qosClass: pod.status?.qosClass ?? qosClass(pod.spec),
  }
}

/** The pod with its Ready condition set, as the node lifecycle controller (False: only the status and
 *  its transition time change, as UpdatePodCondition does) or the kubelet (True) does. */
export function withPodReady(pod: Obj, ready: boolean, at: Date): Obj {
  const status = ready ? 'True' : 'False'
  const conditions: Obj[] = pod.status?.conditions ?? []
  if (conditions.some((c) => c.type === 'Ready' && c.status === status)) return pod
  const t = isoSeconds(at)
  const old = conditions.find((c) => c.type === 'Ready')
  const readyCondition = old ? { ...old, status, lastTransitionTime: t } : { type: 'Ready', status, lastProbeTime: null, lastTransitionTime: t }
  return { ...pod, status: { ...pod.status, conditions: old ? conditions.map((c) => (c === old ? readyCondition : c)) : [...conditions, readyCondition] } }
}

export function podIsReady(pod: Obj): boolean {
  return pod.status?.phase === 'Running' && !!pod.status?.conditions?.some((c: Obj) => c.type === 'Ready' && c.status === 'True')
}

export function nodeIsReady(node: Obj): boolean {
  return !!node.status?.conditions?.some((c: Obj) => c.type === 'Ready' && c.status === 'True')
}

export function nodeInternalIP(node: Obj | undefined): string {
  return node?.status?.addresses?.find((a: Obj) => a.type === 'InternalIP')?.address ?? '10.0.0.1'
}
