// The kubelet's part, for every node at once: a pod bound to a node runs as soon as it is created;
// a deleted pod goes after its grace period; node heartbeats (status times and kube-node-lease
// Leases) are renewed at a steady rate.
import { isoSeconds, nodeInternalIP, nodeIsReady, runningStatus } from './objects.js'
import { objectKey, type Obj, type Store } from './store.js'

export class Kubelet {
  /** Overrides every pod's grace period (--pod-terminate-seconds). */
  podTerminateSeconds?: number
  private terminationTimers = new Map<string, NodeJS.Timeout>()
  private heartbeatTimer?: NodeJS.Timeout

  constructor(private readonly store: Store) {}

  /** The status of a pod as it is created: Running and Ready at once when bound (the sim has no scheduler: unbound pods stay Pending). */
  admit(pod: Obj): Obj {
    if (!pod.spec?.nodeName) return pod
    return { ...pod, status: runningStatus(pod, nodeInternalIP(this.store.get('nodes', undefined, pod.spec.nodeName)), new Date()) }
  }

  /** Graceful deletion: deletionTimestamp now, gone after the grace period. */
  deletePod(pod: Obj, requestedGrace?: number): Obj {
    const key = objectKey(pod.metadata.namespace, pod.metadata.name)
    let grace = requestedGrace ?? pod.spec?.terminationGracePeriodSeconds ?? 30
    // Unbound and finished pods have no kubelet to wait for: the server deletes them at once.
    if (!pod.spec?.nodeName || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') grace = 0
    if (grace <= 0) {
      this.clearTimer(key)
      return this.store.remove('pods', pod.metadata.namespace, pod.metadata.name)!
    }
    if (pod.metadata.deletionTimestamp) {
      // Already terminating: a shorter grace period may bring the end closer, a longer one is ignored.
      if (grace >= (pod.metadata.deletionGracePeriodSeconds ?? Infinity)) return pod
    }
    const now = Date.now()
    const terminating = this.store.put('pods', {
      ...pod,
      metadata: {
        ...pod.metadata,
        ...(pod.metadata.generation !== undefined ? { generation: pod.metadata.generation + 1 } : {}),
        deletionTimestamp: isoSeconds(new Date(now + grace * 1000)),
        deletionGracePeriodSeconds: grace,
      },
    })
    const delaySeconds = this.podTerminateSeconds ?? grace
    this.clearTimer(key)
    const uid = pod.metadata.uid
    const timer = setTimeout(() => {
      this.terminationTimers.delete(key)
      const current = this.store.get('pods', pod.metadata.namespace, pod.metadata.name)
      if (current && current.metadata.uid === uid) this.store.remove('pods', pod.metadata.namespace, pod.metadata.name)
    }, delaySeconds * 1000)
    timer.unref()
    this.terminationTimers.set(key, timer)
    return terminating
  }

  private clearTimer(key: string): void {
    const t = this.terminationTimers.get(key)
    if (t) clearTimeout(t)
    this.terminationTimers.delete(key)
  }

  /** Node status reports: every Ready node's heartbeat times (and its kube-node-lease Lease) are renewed once per period,
   *  spread evenly over it, which is the steady node MODIFIED churn of a real cluster. */
  startHeartbeats(periodSeconds: number): void {
    const nodes = this.store.collection('nodes')
    const tickMs = 100
    let cursor = 0
    let carry = 0
    let last = Date.now()
    clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = setInterval(() => {
      // By elapsed time, not ticks, so a busy event loop does not slow the rate down.
      const nowMs = Date.now()
      carry = Math.min(carry + (nodes.keys.length * (nowMs - last)) / (periodSeconds * 1000), nodes.keys.length)
      last = nowMs
      const now = isoSeconds(new Date())
      for (; carry >= 1; carry--) {
        if (nodes.keys.length === 0) break
        cursor = cursor % nodes.keys.length
        const node = nodes.objects.get(nodes.keys[cursor++])
        if (!node || !nodeIsReady(node)) continue
        const conditions = (node.status?.conditions ?? []).map((c: Obj) => ({ ...c, lastHeartbeatTime: now }))
        this.store.put('nodes', { ...node, status: { ...node.status, conditions } })
        const lease = this.store.get('leases.coordination.k8s.io', 'kube-node-lease', node.metadata.name)
        if (lease) this.store.put('leases.coordination.k8s.io', { ...lease, spec: { ...lease.spec, renewTime: new Date().toISOString().replace('Z', '000Z') } })
      }
    }, tickMs)
    this.heartbeatTimer.unref()
  }

  /** Stops pending deletions and heartbeats (on close). */
  stop(): void {
    for (const t of this.terminationTimers.values()) clearTimeout(t)
    this.terminationTimers.clear()
    clearInterval(this.heartbeatTimer)
  }
}
