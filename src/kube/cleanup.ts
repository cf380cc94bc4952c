// The Kubernetes calls of the cleanup command (src/cleanup.ts, src/autoscaling/cleanup.ts) beside
// those it shares with the service: every node's annotations, our own records (NodeMaintenance,
// NodeDrain, NodeIncident) listed and deleted, and the leader Lease taken over so no replica
// writes again while the cleanup runs and the release is being deleted.
import type { KubeConfig } from '@kubernetes/client-node'
import type { KubeClients } from './client.js'
import { requestJson } from './raw.js'
import { isConflict, isNotFound, toKubeError } from './errors.js'
import { NODES_GROUP, NODES_VERSION } from './custom-objects.js'
import { apiLeaseClient, microTime } from './leader-election.js'
import { LEADER_LEASE_NAME } from './permissions.js'

export interface NodeAnnotations { name: string; unschedulable: boolean; annotations: Record<string, string> }

/** Every node, with its annotations and whether it is cordoned. */
export async function listNodeAnnotations(clients: KubeClients): Promise<NodeAnnotations[]> {
  try {
    const list = await clients.core.listNode()
    return list.items.map((n) => ({ name: n.metadata?.name ?? '', unschedulable: n.spec?.unschedulable === true, annotations: n.metadata?.annotations ?? {} }))
  } catch (err) {
    throw toKubeError(err, 'list nodes')
  }
}

/** The names of our records of one kind (plural of nodes.stream.space), or undefined when the kind is not served (no CRD). */
export async function listRecordNames(kc: KubeConfig, plural: string): Promise<string[] | undefined> {
  try {
    const list = await requestJson<{ items?: { metadata?: { name?: string } }[] }>(kc, 'GET', `/apis/${NODES_GROUP}/${NODES_VERSION}/${plural}`)
    return (list.items ?? []).map((o) => o.metadata?.name ?? '').filter(Boolean)
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw toKubeError(err, `list ${plural}.${NODES_GROUP}`)
  }
}

/** Deletes one record; false when it was already gone. */
export async function deleteRecord(kc: KubeConfig, plural: string, name: string): Promise<boolean> {
  try {
    await requestJson(kc, 'DELETE', `/apis/${NODES_GROUP}/${NODES_VERSION}/${plural}/${encodeURIComponent(name)}`)
    return true
  } catch (err) {
    if (isNotFound(err)) return false
    throw toKubeError(err, `delete ${plural}.${NODES_GROUP}/${name}`)
  }
}

/**
 * Makes `identity` the holder of the leader Lease for `durationSeconds`, whoever holds it (a
 * conditional update: a 409 is retried on a fresh read). Returns the previous holder ('' when
 * nobody held it or there was no Lease). Replicas see another holder at their next renewal and
 * step down within their renew deadline.
 */
export async function takeOverLease(kc: KubeConfig, namespace: string, identity: string, durationSeconds: number, now: number): Promise<string> {
  const client = apiLeaseClient(kc, namespace)
  const spec = { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now) }
  for (let attempt = 0; ; attempt++) {
    const current = await client.get()
    try {
      if (!current) {
        await client.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEADER_LEASE_NAME }, spec: { ...spec, leaseTransitions: 0 } })
        return ''
      }
      await client.update({ ...current, spec: { ...current.spec, ...spec, leaseTransitions: (current.spec?.leaseTransitions ?? 0) + 1 } })
      return current.spec?.holderIdentity ?? ''
    } catch (err) {
      if (attempt < 5 && isConflict(err)) continue
      throw err
    }
  }
}
