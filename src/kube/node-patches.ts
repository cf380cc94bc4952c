// The node writes behind labels, taints and cordon, sent as kubectl sends them:
// - labels: JSON merge patch of metadata.labels (kubectl label), a key set to null removes it;
// - taints: strategic merge patch of spec.taints (kubectl taint). The list is atomic, so the whole
//   list is sent, with metadata.resourceVersion as a precondition: the API server answers 409 if
//   the node changed since we read it, and the caller re-reads and retries;
// - unschedulable: strategic merge patch of spec.unschedulable (kubectl cordon / uncordon), null
//   when uncordoning, as kubectl's two-way merge patch of an omitempty bool gives.
// Every failure comes out as a KubeError naming the operation (see errors.ts).
import { PatchStrategy, setHeaderOptions, type V1Node, type V1Taint } from '@kubernetes/client-node'
import type { KubeClients } from './client.js'
import { toKubeError } from './errors.js'

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
const strategicMergePatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)

/** metav1.Time's wire form: RFC 3339 in whole seconds, UTC. */
export function rfc3339(t: Date | string): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** A taint as it goes on the wire (timeAdded as metav1.Time, value omitted when absent). */
export interface WireTaint { key: string; value?: string; effect: string; timeAdded?: string }

export function toWireTaint(t: V1Taint | WireTaint): WireTaint {
  const out: WireTaint = { key: t.key, effect: t.effect }
  if (t.value !== undefined && t.value !== null) out.value = t.value
  if (t.timeAdded !== undefined && t.timeAdded !== null) out.timeAdded = rfc3339(t.timeAdded)
  return out
}

export async function readNode(clients: KubeClients, name: string): Promise<V1Node> {
  try {
    return await clients.core.readNode({ name })
  } catch (err) {
    throw toKubeError(err, `read nodes/${name}`)
  }
}

/** Sets (string) or removes (null) labels with a merge patch, as `kubectl label` does. */
export async function patchNodeLabels(clients: KubeClients, name: string, labels: Record<string, string | null>): Promise<V1Node> {
  try {
    return await clients.core.patchNode({ name, body: { metadata: { labels } } }, mergePatch)
  } catch (err) {
    throw toKubeError(err, `patch nodes/${name}`)
  }
}

/**
 * Sets (string) or removes (null) annotations with a merge patch, as `kubectl annotate` does; with
 * `resourceVersion`, only if the node is still at it (else 409: the caller re-reads).
 */
export async function patchNodeAnnotations(clients: KubeClients, name: string, annotations: Record<string, string | null>, resourceVersion?: string): Promise<V1Node> {
  try {
    return await clients.core.patchNode({ name, body: { metadata: { annotations, ...(resourceVersion ? { resourceVersion } : {}) } } }, mergePatch)
  } catch (err) {
    throw toKubeError(err, `patch nodes/${name}`)
  }
}

/**
 * Replaces spec.taints with a strategic merge patch, as `kubectl taint` does, on condition that
 * the node is still at `resourceVersion`. An empty list removes the field (taints: null).
 */
export async function patchNodeTaints(clients: KubeClients, name: string, taints: WireTaint[], resourceVersion: string): Promise<V1Node> {
  const body = {
    metadata: { resourceVersion },
    spec: { taints: taints.length ? taints : null },
  }
  try {
    return await clients.core.patchNode({ name, body }, strategicMergePatch)
  } catch (err) {
    throw toKubeError(err, `patch nodes/${name}`)
  }
}

/** Who cordoned a node, why and when: annotations kubectl shows too (design: Maintenance). */
export const CORDONED_BY = 'streamspace.io/cordoned-by'
export const CORDON_REASON = 'streamspace.io/cordon-reason'
export const CORDONED_AT = 'streamspace.io/cordoned-at'

/** What a cordon records on the node; null removes the annotation. */
export interface CordonRecord { by: string | null; reason: string | null; at: string | null }

/**
 * Cordons (true) or uncordons (false) with a strategic merge patch, as `kubectl cordon` does. With
 * `record`, the cordon annotations are set (strings) or removed (null) in the same patch, so the
 * node is never cordoned without its reason, nor uncordoned with a stale one.
 */
export async function patchNodeUnschedulable(clients: KubeClients, name: string, unschedulable: boolean, record?: CordonRecord): Promise<V1Node> {
  const body: { spec: { unschedulable: true | null }; metadata?: { annotations: Record<string, string | null> } } = { spec: { unschedulable: unschedulable ? true : null } }
  if (record) body.metadata = { annotations: { [CORDONED_BY]: record.by, [CORDON_REASON]: record.reason, [CORDONED_AT]: record.at } }
  try {
    return await clients.core.patchNode({ name, body }, strategicMergePatch)
  } catch (err) {
    throw toKubeError(err, `patch nodes/${name}`)
  }
}
