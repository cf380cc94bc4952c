// Plays the kubelet for every node of a real API server (no containers anywhere):
// - a pod bound to a node whose heartbeat runs goes from Pending to Running and Ready;
// - a pod being deleted is removed (grace period 0) once its deletionGracePeriodSeconds have
//   passed, or after podTerminateSeconds when set (as the simulator does);
// - every node's Lease in kube-node-lease is renewed now and then (the kubelet's heartbeat);
//   setReady(node, status) reports the Ready condition of a kubelet that still runs;
//   stopHeartbeat(node) turns Ready to Unknown (as the node lifecycle controller reports a
//   kubelet that went silent) and, like a dead kubelet, leaves that node's pods as they are:
//   Pending ones never start and terminating ones are never removed;
// - on a node whose Ready is True, a running pod that was marked not ready (the node lifecycle
//   controller does that while the node is not Ready) is reported ready again, as a kubelet's
//   status sync does.
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
  V1MicroTime,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node'
import { codeOf, standInError, startInformers, stopInformers, type ReportError, type Watched } from './informers.js'

export interface FakeKubeletOptions {
  /** When set, a deleted pod lingers this long, whatever its grace period (seconds), as in the sim. */
  podTerminateSeconds?: number
  /** How often node Leases are renewed (seconds). */
  heartbeatSeconds?: number
  /** Where its failed API calls go (the backend fails the test with them); default: thrown at stop(). */
  report?: ReportError
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)

const KUBELET_REASONS: Record<string, string> = {
  MemoryPressure: 'KubeletHasSufficientMemory', DiskPressure: 'KubeletHasNoDiskPressure', PIDPressure: 'KubeletHasSufficientPID',
}

function nodeReady(node: V1Node): boolean {
  return !!node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
}

function podReadyStatus(pod: V1Pod): string | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready')?.status
}

export class FakeKubelet {
  private readonly core: CoreV1Api
  private readonly coordination: CoordinationV1Api
  private readonly pods: Watched<V1Pod>
  private readonly nodes: Watched<V1Node>
  private readonly silent = new Set<string>()
  private readonly removals = new Map<string, { due: number; timer: NodeJS.Timeout }>()
  private readonly starting = new Set<string>()
  private heartbeatTimer?: NodeJS.Timeout
  private stopped = false
  private nextIp = 0
  private readonly report: ReportError

  constructor(kc: KubeConfig, private readonly opts: FakeKubeletOptions = {}) {
    this.core = kc.makeApiClient(CoreV1Api)
    this.coordination = kc.makeApiClient(CoordinationV1Api)
    this.pods = makeInformer(kc, '/api/v1/pods', () => this.core.listPodForAllNamespaces())
    this.nodes = makeInformer(kc, '/api/v1/nodes', () => this.core.listNode())
    this.report = opts.report ?? ((err) => { throw err })
  }

  /** Reports a failed call (not once stopped: stopping aborts calls on purpose). */
  private fail(what: string): (err: unknown) => void {
    return (err) => { if (!this.stopped) this.report(standInError('kubelet stand-in', what, err)) }
  }

  async start(): Promise<void> {
    const onPod = (pod: V1Pod): void => this.handlePod(pod)
    this.pods.on('add', onPod)
    this.pods.on('update', onPod)
    this.pods.on('delete', (pod) => this.forgetRemoval(pod.metadata?.uid))
    // A kubelet registers its node's Lease right away.
    this.nodes.on('add', (node) => {
      const { name, uid } = node.metadata ?? {}
      if (name && uid && !this.stopped) this.renewLease(name, uid, new V1MicroTime()).catch(this.fail(`registering the Lease of node ${name}`))
    })
    // Ready again: the node's pods are looked at again (those marked not ready meanwhile become ready).
    this.nodes.on('update', (node) => {
      const name = node.metadata?.name
      if (name && nodeReady(node)) for (const pod of this.pods.list()) if (pod.spec?.nodeName === name) this.handlePod(pod)
    })
    await startInformers('kubelet stand-in', { pods: this.pods, nodes: this.nodes }, () => this.stopped, this.report)
    const every = (this.opts.heartbeatSeconds ?? 10) * 1000
    void this.heartbeat()
    this.heartbeatTimer = setInterval(() => { void this.heartbeat() }, every)
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.heartbeatTimer)
    for (const { timer } of this.removals.values()) clearTimeout(timer)
    this.removals.clear()
    await stopInformers({ pods: this.pods, nodes: this.nodes })
  }

  /**
   * Sets the node's Ready condition as its kubelet would report it (the sim's setNodeReady): the
   * kubelet keeps running, so the node's pods still start and terminate. 'Unknown' is what the node
   * lifecycle controller writes about a silent kubelet (after --node-monitor-grace-period): done here
   * at once, with what the controller does along with it: every condition Unknown, the node's pods
   * marked not ready, a NodeNotReady Event. A kubelet posting again reports its conditions again.
   */
  async setReady(node: string, status: 'True' | 'False' | 'Unknown'): Promise<void> {
    const now = new Date().toISOString()
    const current = await this.core.readNode({ name: node })
    const before = current.status?.conditions ?? []
    const wasReady = before.find((c) => c.type === 'Ready')?.status
    const [reason, message] = status === 'True' ? ['KubeletReady', 'kubelet is posting ready status']
      : status === 'False' ? ['KubeletNotReady', 'container runtime is down']
      : ['NodeStatusUnknown', 'Kubelet stopped posting node status.']
    // Unknown is written by the node lifecycle controller, which leaves lastHeartbeatTime alone.
    const conditions: object[] = [{ type: 'Ready', status, reason, message, lastTransitionTime: now, ...(status === 'Unknown' ? {} : { lastHeartbeatTime: now }) }]
    for (const c of before) {
      if (c.type === 'Ready') continue
      if (status === 'Unknown' && c.status !== 'Unknown') conditions.push({ type: c.type, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: now })
      else if (status !== 'Unknown' && c.status === 'Unknown') conditions.push({ type: c.type, status: 'False', reason: KUBELET_REASONS[c.type] ?? 'KubeletReady', message: '', lastHeartbeatTime: now, lastTransitionTime: now })
    }
    // Conditions merge by type under a strategic-merge patch: the other conditions stay.
    await this.core.patchNodeStatus({ name: node, body: { status: { conditions } } }, strategicPatch)
    if (status === 'Unknown' && wasReady === 'True') {
      for (const pod of this.pods.list()) {
        if (pod.spec?.nodeName !== node || pod.status?.phase !== 'Running') continue
        if (await this.setPodReady(pod, 'False')) await this.recordEvent({ apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, uid: pod.metadata!.uid! }, 'Warning', 'NodeNotReady', 'Node is not ready')
      }
      await this.recordEvent({ apiVersion: 'v1', kind: 'Node', name: node, uid: current.metadata?.uid }, 'Normal', 'NodeNotReady', `Node ${node} status is now: NodeNotReady`)
    }
  }

  /** An Event from "node-controller", as kube-controller-manager's recorder writes it (Node events in "default"). */
  private async recordEvent(involvedObject: { apiVersion: string; kind: string; name: string; namespace?: string; uid?: string }, type: string, reason: string, message: string): Promise<void> {
    const now = new Date()
    await this.core.createNamespacedEvent({
      namespace: involvedObject.namespace ?? 'default',
      body: {
        metadata: { generateName: `${involvedObject.name}.` },
        involvedObject, reason, message, type, count: 1, firstTimestamp: now, lastTimestamp: now,
        source: { component: 'node-controller' },
      },
    }).catch(this.fail(`recording the ${reason} Event of ${involvedObject.kind} ${involvedObject.name}`))
  }

  /** The node's kubelet dies: Ready turns Unknown, its Lease is no longer renewed, its pods are left as they are. */
  async stopHeartbeat(node: string): Promise<void> {
    this.silent.add(node)
    await this.setReady(node, 'Unknown')
  }

  /** The node's kubelet is back: Ready True, and its pods are looked after again. */
  async startHeartbeat(node: string): Promise<void> {
    this.silent.delete(node)
    await this.setReady(node, 'True')
    for (const pod of this.pods.list()) if (pod.spec?.nodeName === node) this.handlePod(pod)
  }

  isSilent(node: string): boolean {
    return this.silent.has(node)
  }

  private handlePod(pod: V1Pod): void {
    if (this.stopped) return
    const node = pod.spec?.nodeName
    if (!node || this.silent.has(node)) return
    if (pod.metadata?.deletionTimestamp) this.scheduleRemoval(pod)
    else if ((pod.status?.phase ?? 'Pending') === 'Pending') void this.run(pod)
    else if (pod.status?.phase === 'Running' && podReadyStatus(pod) === 'False') {
      const n = this.nodes.get(node)
      if (n && nodeReady(n)) void this.reportReady(pod)
    }
  }

  /** The kubelet's status sync: a running pod on a Ready node is ready. */
  private async reportReady(pod: V1Pod): Promise<void> {
    const uid = pod.metadata!.uid!
    if (this.starting.has(uid)) return
    this.starting.add(uid)
    try {
      await this.setPodReady(pod, 'True')
    } finally {
      this.starting.delete(uid)
    }
  }

  /**
   * Sets the pod's Ready condition, conditional on its resourceVersion; on a conflict it reads the
   * pod again and retries (twice). Whether it was written.
   */
  private async setPodReady(pod: V1Pod, status: 'True' | 'False'): Promise<boolean> {
    const { name, namespace } = pod.metadata as { name: string; namespace: string }
    for (let attempt = 0; attempt < 3; attempt++) {
      const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')
      if (!ready || ready.status === status || pod.status?.phase !== 'Running') return false
      const now = new Date().toISOString()
      const conditions = (pod.status?.conditions ?? []).map((c) => c.type === 'Ready' ? { ...c, status, lastTransitionTime: now } : c)
      try {
        await this.core.patchNamespacedPodStatus({ name, namespace, body: { metadata: { resourceVersion: pod.metadata!.resourceVersion }, status: { conditions } } }, mergePatch)
        return true
      } catch (err) {
        if (codeOf(err) !== 409) {
          if (codeOf(err) !== 404) this.fail(`setting Ready ${status} on pod ${namespace}/${name}`)(err)
          return false
        }
        pod = await this.core.readNamespacedPod({ name, namespace }).catch(() => pod)
      }
    }
    return false
  }

  private scheduleRemoval(pod: V1Pod): void {
    const uid = pod.metadata!.uid!
    const grace = this.opts.podTerminateSeconds ?? pod.metadata?.deletionGracePeriodSeconds ?? 0
    const due = Date.now() + grace * 1000
    const pending = this.removals.get(uid)
    // A second delete can shorten the grace period; never lengthen it.
    if (pending && pending.due <= due) return
    if (pending) clearTimeout(pending.timer)
    const { name, namespace } = pod.metadata as { name: string; namespace: string }
    // DeleteOptions go in the body: the API server ignores the query's when a body is sent.
    const timer = setTimeout(() => {
      this.core.deleteNamespacedPod({ name, namespace, body: { gracePeriodSeconds: 0, preconditions: { uid } } })
        .catch((err) => { if (codeOf(err) !== 404 && codeOf(err) !== 409) this.fail(`removing terminated pod ${namespace}/${name}`)(err) })
    }, Math.max(0, due - Date.now()))
    this.removals.set(uid, { due, timer })
  }

  private forgetRemoval(uid: string | undefined): void {
    const pending = uid ? this.removals.get(uid) : undefined
    if (pending) clearTimeout(pending.timer)
    if (uid) this.removals.delete(uid)
  }

  private async run(pod: V1Pod): Promise<void> {
    const uid = pod.metadata!.uid!
    if (this.starting.has(uid)) return
    this.starting.add(uid)
    const now = new Date().toISOString()
    const n = this.nextIp++
    const ready = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now })
    const body = {
      // Guards against overwriting a status someone else (a test fixture) set meanwhile.
      metadata: { resourceVersion: pod.metadata!.resourceVersion },
      status: {
        phase: 'Running',
        conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(ready),
        hostIP: '127.0.0.1',
        hostIPs: [{ ip: '127.0.0.1' }],
        podIP: `10.244.${(n >> 8) & 255}.${(n & 255) + 1}`,
        podIPs: [{ ip: `10.244.${(n >> 8) & 255}.${(n & 255) + 1}` }],
        startTime: now,
        qosClass: pod.status?.qosClass,
        containerStatuses: (pod.spec?.containers ?? []).map((c, i) => ({
          name: c.name,
          image: c.image ?? '',
          imageID: `${c.image ?? 'none'}@sha256:${'0'.repeat(64)}`,
          containerID: `containerd://${uid.replace(/-/g, '')}${i}`,
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: now } },
        })),
      },
    }
    try {
      const { name, namespace } = pod.metadata as { name: string; namespace: string }
      await this.core.patchNamespacedPodStatus({ name, namespace, body }, mergePatch)
    } catch (err) {
      // 409: the pod changed under us, and its newer version comes as its own event.
      if (codeOf(err) !== 404 && codeOf(err) !== 409) this.fail(`starting pod ${pod.metadata!.namespace}/${pod.metadata!.name}`)(err)
    } finally {
      this.starting.delete(uid)
    }
  }

  // Like a kubelet since Kubernetes 1.17: the heartbeat is the node's Lease in kube-node-lease;
  // node status is written only when it changes, so heartbeats cause no Node watch events.
  private async heartbeat(): Promise<void> {
    const renewTime = new V1MicroTime()
    for (const node of this.nodes.list()) {
      const name = node.metadata?.name
      if (!name || this.silent.has(name)) continue
      await this.renewLease(name, node.metadata!.uid!, renewTime).catch(this.fail(`renewing the Lease of node ${name}`))
    }
  }

  // renewTime is a MicroTime: the API server refuses a plain Date's milliseconds-only form.
  private async renewLease(node: string, uid: string, renewTime: V1MicroTime): Promise<void> {
    const namespace = 'kube-node-lease'
    try {
      await this.coordination.patchNamespacedLease({ name: node, namespace, body: { spec: { renewTime: renewTime.toISOString() } } }, mergePatch)
    } catch (err) {
      if (codeOf(err) !== 404) throw err
      await this.coordination.createNamespacedLease({
        namespace,
        body: {
          metadata: { name: node, namespace, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node, uid }] },
          spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime },
        },
      }).catch((e) => { if (codeOf(e) !== 409) throw e })
    }
  }
}
