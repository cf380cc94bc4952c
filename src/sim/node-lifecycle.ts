// A node's Ready condition and what follows from it, as the kubelet reports it (True, False) and
// kube-controller-manager's node lifecycle controller concludes it (Unknown for a silent kubelet),
// with the controller marking the node's pods not ready.
import { isoSeconds, withPodReady } from './objects.js'
import { notFound } from './status.js'
import type { Obj, Store } from './store.js'

const KUBELET_REASONS: Record<string, string> = {
  MemoryPressure: 'KubeletHasSufficientMemory', DiskPressure: 'KubeletHasNoDiskPressure', PIDPressure: 'KubeletHasSufficientPID',
}

export class NodeLifecycle {
  constructor(private readonly store: Store) {}

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
    // The node lifecycle controller marks the node's pods not ready; a kubelet back makes them ready again.
    const at = new Date()
    const pods = this.store.collection('pods').objects
    for (const key of [...(this.store.podsByNode.get(name) ?? [])]) {
      const pod = pods.get(key)
      if (!pod || pod.status?.phase !== 'Running') continue
      const next = withPodReady(pod, status === 'True', at)
      if (next !== pod) this.store.put('pods', next)
    }
  }
}
