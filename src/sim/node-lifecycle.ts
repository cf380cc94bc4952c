// A node's Ready condition and what follows from it, as the kubelet reports it (True, False) and
// kube-controller-manager's node lifecycle controller concludes it (Unknown for a silent kubelet),
// with the controller marking the node's pods not ready and keeping the node's taints in step
// (pkg/controller/nodelifecycle in Kubernetes 1.33):
// - NoSchedule, at once on every node change: node.kubernetes.io/unschedulable while spec.unschedulable;
//   not-ready (Ready False), unreachable (Ready Unknown), memory-pressure, disk-pressure, pid-pressure,
//   network-unavailable while their condition says so;
// - NoExecute: not-ready or unreachable (one at a time) while Ready is False or Unknown, unless every
//   node is not Ready (the controller's "master disruption mode", which removes them all);
// - every taint it adds carries timeAdded (SwapNodeControllerTaint sets it), and it is removed when
//   its reason goes. Taints of other keys are left alone; new ones go at the end of the list;
// - the beta OS and arch labels (beta.kubernetes.io/os, beta.kubernetes.io/arch) follow the stable
//   ones (kubernetes.io/os, kubernetes.io/arch), added when missing (reconcileNodeLabels);
// - when Ready goes from True to Unknown (the controller's own verdict on a silent kubelet) it marks
//   the node's pods not ready (a Warning NodeNotReady Event on each) and records a NodeNotReady Event
//   on the node; a kubelet reporting Ready False leaves its pods as they are (the controller marks
//   pods only on that transition, or pods already Ready when bound, which no kubelet reports);
//   Events RegisteredNode and RemovingNode about each node created or deleted through the API,
//   all from "node-controller".
// Not modelled: zone states short of every node down (partial disruption, rate limits), and the
// taint-eviction controller (NoExecute taints evict nothing here, as in the test harness).
import { isoSeconds, nodeIsReady, withPodReady } from './objects.js'
import { notFound } from './status.js'
import { Store, type Obj, type StoreEvent } from './store.js'

export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable'
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready'
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable'

/** nodeConditionToTaintKeyStatusMap: condition type -> status -> NoSchedule taint key. */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: 'node.kubernetes.io/memory-pressure' },
  DiskPressure: { True: 'node.kubernetes.io/disk-pressure' },
  NetworkUnavailable: { True: 'node.kubernetes.io/network-unavailable' },
  PIDPressure: { True: 'node.kubernetes.io/pid-pressure' },
}
const NO_SCHEDULE_KEYS = new Set([TAINT_UNSCHEDULABLE, ...Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m))])

/** The controller's NoSchedule taint keys for the node, in the order it adds them. */
function wantedNoSchedule(node: Obj): string[] {
  const keys: string[] = []
  for (const c of node.status?.conditions ?? []) {
    const key = CONDITION_TAINTS[c.type]?.[c.status]
    if (key) keys.push(key)
  }
  if (node.spec?.unschedulable) keys.push(TAINT_UNSCHEDULABLE)
  return keys
}

function readyStatus(node: Obj): string | undefined {
  return (node.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready')?.status
}

/** The node's taints after the controller's passes; undefined when nothing changes. */
export function controllerTaints(node: Obj, masterDisruption: boolean, now: string): Obj[] | undefined {
  const before: Obj[] = node.spec?.taints ?? []
  let taints = before
  const has = (key: string, effect: string) => taints.some((t) => t.key === key && t.effect === effect)
  const wanted = wantedNoSchedule(node)
  const stale = taints.filter((t) => t.effect === 'NoSchedule' && NO_SCHEDULE_KEYS.has(t.key) && !wanted.includes(t.key))
  if (stale.length) taints = taints.filter((t) => !stale.includes(t))
  for (const key of wanted) if (!has(key, 'NoSchedule')) taints = [...taints, { key, effect: 'NoSchedule', timeAdded: now }]
  const ready = readyStatus(node)
  const noExecute = masterDisruption ? undefined : ready === 'False' ? TAINT_NOT_READY : ready === 'Unknown' ? TAINT_UNREACHABLE : undefined
  for (const key of [TAINT_NOT_READY, TAINT_UNREACHABLE]) {
    if (key !== noExecute && has(key, 'NoExecute')) taints = taints.filter((t) => !(t.key === key && t.effect === 'NoExecute'))
  }
  if (noExecute && !has(noExecute, 'NoExecute')) taints = [...taints, { key: noExecute, effect: 'NoExecute', timeAdded: now }]
  return taints === before ? undefined : taints
}

/** labelReconcileInfo: the stable label is the truth; the beta one is made to match (and added). */
const LABEL_RECONCILE: [stable: string, beta: string][] = [['kubernetes.io/os', 'beta.kubernetes.io/os'], ['kubernetes.io/arch', 'beta.kubernetes.io/arch']]

/** The node's labels after reconcileNodeLabels; undefined when nothing changes. */
export function reconciledLabels(node: Obj): Record<string, string> | undefined {
  const labels: Record<string, string> | undefined = node.metadata?.labels
  if (!labels) return undefined
  let next: Record<string, string> | undefined
  for (const [stable, beta] of LABEL_RECONCILE) {
    if (!(stable in labels) || labels[beta] === labels[stable]) continue
    next = { ...(next ?? labels), [beta]: labels[stable] }
  }
  return next
}

const KUBELET_REASONS: Record<string, string> = {
  MemoryPressure: 'KubeletHasSufficientMemory', DiskPressure: 'KubeletHasNoDiskPressure', PIDPressure: 'KubeletHasSufficientPID',
}

export class NodeLifecycle {
  /** Nodes whose taints are due for a pass (the controller's work queue). */
  private readonly queue = new Set<string>()
  /** Nodes seen going from Ready to Unknown, and from not Ready to Ready. */
  private readonly wentUnknown = new Set<string>()
  private readonly wentReady = new Set<string>()
  private readonly nodeEvents: { node: Obj; reason: string; message: string }[] = []
  private scheduled = false
  private masterDisruption = false
  private eventSeq = 0

  constructor(private readonly store: Store) {}

  /** Store listener. The controller reacts soon after a change (never inside the write), as one watching the API would. */
  onEvent(ev: StoreEvent): void {
    if (ev.resource === 'nodes') {
      const node = ev.obj
      const name = node.metadata.name
      if (ev.type === 'DELETED') {
        this.queue.delete(name)
        this.nodeEvents.push({ node, reason: 'RemovingNode', message: `Node ${name} event: Removing Node ${name} from Controller` })
      } else {
        this.queue.add(name)
        if (ev.type === 'ADDED') this.nodeEvents.push({ node, reason: 'RegisteredNode', message: `Node ${name} event: Registered Node ${name} in Controller` })
      }
      const readyChanged = ev.type === 'MODIFIED' && nodeIsReady(ev.prev!) !== nodeIsReady(node)
      if (readyChanged && nodeIsReady(node)) this.wentReady.add(name)
      else if (readyChanged && readyStatus(node) === 'Unknown') this.wentUnknown.add(name)
      if (ev.type !== 'MODIFIED' || readyChanged) this.checkDisruption()
    } else {
      return
    }
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.flush())
  }

  /** Taint pass over every node now (after seeding, which records no events). */
  reconcileAll(): void {
    this.masterDisruption = this.computeDisruption()
    for (const key of this.store.collection('nodes').keys) this.queue.add(key)
    this.flush()
  }

  flush(): void {
    this.scheduled = false
    const at = new Date()
    const now = isoSeconds(at)
    for (const { node, reason, message } of this.nodeEvents.splice(0)) this.recordEvent(node, 'Normal', reason, message, now)
    for (const name of [...this.queue]) {
      this.queue.delete(name)
      const node = this.store.get('nodes', undefined, name)
      if (!node) continue
      const taints = controllerTaints(node, this.masterDisruption, now)
      const labels = reconciledLabels(node)
      if (!taints && !labels) continue
      let next = node
      if (taints) {
        const { taints: _old, ...spec } = node.spec ?? {}
        next = { ...next, spec: taints.length ? { ...spec, taints } : spec }
      }
      if (labels) next = { ...next, metadata: { ...next.metadata, labels } }
      this.store.put('nodes', next)
    }
    for (const name of [...this.wentUnknown]) {
      this.wentUnknown.delete(name)
      const node = this.store.get('nodes', undefined, name)
      if (!node || readyStatus(node) !== 'Unknown') continue
      this.recordEvent(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`, now)
      this.setPodsReady(name, false, at)
    }
    // The node's kubelet, posting Ready again, reports its pods ready again.
    for (const name of [...this.wentReady]) {
      this.wentReady.delete(name)
      const node = this.store.get('nodes', undefined, name)
      if (node && nodeIsReady(node)) this.setPodsReady(name, true, at)
    }
  }

  private setPodsReady(node: string, ready: boolean, at: Date): void {
    const pods = this.store.collection('pods').objects
    for (const key of [...(this.store.podsByNode.get(node) ?? [])]) {
      const pod = pods.get(key)
      if (pod?.status?.phase === 'Running') this.setPodReady(pod, ready, at)
    }
  }

  /** MarkPodsNotReady (with its Warning Event on the pod), or the kubelet's report of a ready pod. */
  private setPodReady(pod: Obj, ready: boolean, at: Date): void {
    const next = withPodReady(pod, ready, at)
    if (next === pod) return
    this.store.put('pods', next)
    if (!ready) this.recordEvent(pod, 'Warning', 'NodeNotReady', 'Node is not ready', isoSeconds(at))
  }

  /** A core/v1 Event from "node-controller", as kube-controller-manager's recorder writes it (Node events in "default"). */
  private recordEvent(about: Obj, type: string, reason: string, message: string, now: string): void {
    const kind = about.metadata.namespace ? 'Pod' : 'Node'
    const namespace = about.metadata.namespace ?? 'default'
    if (!this.store.get('namespaces', undefined, namespace)) return
    const name = about.metadata.name
    const nanos = BigInt(Date.now()) * 1_000_000n + BigInt(this.eventSeq++ % 1_000_000)
    this.store.put('events', Store.initMetadata({
      metadata: { name: `${name}.${nanos.toString(16)}`, namespace },
      involvedObject: { kind, name, uid: about.metadata.uid, apiVersion: 'v1', ...(kind === 'Pod' ? { namespace, resourceVersion: about.metadata.resourceVersion } : {}) },
      reason,
      message,
      source: { component: 'node-controller' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: '',
      reportingInstance: '',
    }, false))
  }

  /** Every node not Ready: the real controller stops NoExecute tainting and removes those taints. */
  private computeDisruption(): boolean {
    const nodes = this.store.collection('nodes')
    if (nodes.objects.size === 0) return false
    for (const node of nodes.objects.values()) if (nodeIsReady(node)) return false
    return true
  }

  private checkDisruption(): void {
    const now = this.computeDisruption()
    if (now === this.masterDisruption) return
    this.masterDisruption = now
    for (const key of this.store.collection('nodes').keys) this.queue.add(key)
  }

  setNodeReady(name: string, ready: boolean | 'Unknown'): void {
    const node = this.store.get('nodes', undefined, name)
    if (!node) throw notFound('nodes', name)
    const status = ready === 'Unknown' ? 'Unknown' : ready ? 'True' : 'False'
    const now = isoSeconds(new Date())
    const current: Obj[] = node.status?.conditions ?? []
    const old = current.find((c: Obj) => c.type === 'Ready')
    if (old?.status === status) return
    const conditions: Obj[] = current.filter((c: Obj) => c.type !== 'Ready').map((c: Obj): Obj => {
      // A silent kubelet: the node lifecycle controller turns every condition Unknown; a kubelet back reports them again.
      if (status === 'Unknown') return { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: now }
      if (c.status === 'Unknown') return { ...c, status: 'False', reason: KUBELET_REASONS[c.type] ?? 'KubeletReady', message: '', lastHeartbeatTime: now, lastTransitionTime: now }
      return { ...c, lastHeartbeatTime: now }
    })
    conditions.push({
      type: 'Ready',
      status,
      // The controller keeps the kubelet's last heartbeat; a posting kubelet renews it.
      lastHeartbeatTime: status === 'Unknown' ? (old?.lastHeartbeatTime ?? now) : now,
      lastTransitionTime: now,
      reason: status === 'True' ? 'KubeletReady' : status === 'False' ? 'KubeletNotReady' : 'NodeStatusUnknown',
      message: status === 'True' ? 'kubelet is posting ready status' : status === 'False' ? 'container runtime is down' : 'Kubelet stopped posting node status.',
    })
    this.store.put('nodes', { ...node, status: { ...node.status, conditions } })
    // The node lifecycle controller marks the pods of a node it finds silent not ready; a kubelet
    // back makes them ready again (both also follow from the node's change, a moment later).
    if (status !== 'False') this.setPodsReady(name, status === 'True', new Date())
  }
}
