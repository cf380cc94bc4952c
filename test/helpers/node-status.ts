// Shared by the health tests.
import type { V1Node } from '@kubernetes/client-node'
import type { KubeClients } from '../../src/kube/client.js'

/** Writes the node's Ready condition through nodes/status, as a node controller (or kubelet) does. */
export async function setReadyThroughStatus(clients: KubeClients, name: string, status: 'True' | 'False' | 'Unknown'): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const node: V1Node = await clients.core.readNodeStatus({ name })
    const now = new Date()
    node.status!.conditions = (node.status?.conditions ?? []).map((c) => c.type !== 'Ready' ? c : {
      ...c, status, lastHeartbeatTime: now, lastTransitionTime: c.status === status ? c.lastTransitionTime : now,
      reason: status === 'True' ? 'KubeletReady' : status === 'False' ? 'KubeletNotReady' : 'NodeStatusUnknown',
      message: status === 'True' ? 'kubelet is posting ready status' : status === 'False' ? 'container runtime network not ready' : 'Kubelet stopped posting node status.',
    })
    try {
      await clients.core.replaceNodeStatus({ name, body: node })
      return
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || attempt > 5) throw err
    }
  }
}
