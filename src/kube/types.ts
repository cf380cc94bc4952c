// The slices of Kubernetes objects this service reads. Raw API JSON (from lists and watches)
// and client-node model objects (from reads and patches) both fit: timestamps may be either.

export interface Taint { key: string; value?: string; effect: string; timeAdded?: string | Date }
export interface Toleration { key?: string; operator?: string; value?: string; effect?: string; tolerationSeconds?: number }

export interface NodeObject {
  metadata?: {
    name?: string
    uid?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
    creationTimestamp?: string | Date
    resourceVersion?: string
  }
  spec?: { unschedulable?: boolean; taints?: Taint[]; podCIDR?: string; providerID?: string }
  status?: {
    capacity?: Record<string, string>
    allocatable?: Record<string, string>
    conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string | Date; lastHeartbeatTime?: string | Date }[]
    addresses?: { type: string; address: string }[]
    nodeInfo?: Record<string, string>
  }
}

/**
 * What the pod index keeps of each pod: small, so 150,000 pods stay cheap (no uid: nothing reads
 * it from the cache; the drain reads pods from the API). Its strings, labels, tolerations and
 * nodeSelector may be shared with other pods (src/kube/slim.ts): read only.
 */
export interface SlimPod {
  namespace: string
  name: string
  node: string
  phase: string
  terminating: boolean
  /** Matches SESSION_LABEL_SELECTOR. */
  session: boolean
  /** Kept for session pods only (session, user, template): the rest is not needed and costs memory at 150,000 pods. */
  labels?: Record<string, string>
  ownerKind?: string
  ownerName?: string
  /**
   * The pod's requests as kube-scheduler's NodeResourcesFit counts them (init containers, sidecars,
   * overhead: podRequests in src/kube/slim.ts), whole millicores and bytes rounded up.
   */
  cpuRequestMilli: number
  memoryRequestBytes: number
  tolerations?: Toleration[]
  /** spec.nodeSelector, when it has one (the fit check needs it). */
  nodeSelector?: Record<string, string>
}
