// Removing what the service wrote to the cluster, before `helm uninstall` deletes it (the chart's
// pre-delete hook runs `node dist/cleanup.js`; `npm run cleanup` by hand). Most of it is
// autoscaling's, hence this room; the cordon annotations and the records are the other rooms'.
// - First the leader Lease is taken over (held HOLD_SECONDS): the replicas still run while the hook
//   does, and a leader would otherwise put the session protection back within a second. A replica
//   that led stops writing within its renew deadline, so the cleanup waits that long.
// - Our records (NodeMaintenance, NodeDrain, NodeIncident objects) are deleted: a reinstall must
//   not resume an old plan or drain. Nodes stay as they are (a cordoned node stays cordoned).
// - MachineDeployments get back the annotations they had before ours (src/autoscaling/cluster-api.ts).
// - The overprovisioning Deployment and PriorityClass are deleted (only if they carry our label).
// - Nodes lose the scale-down protection we added; the cordon annotations (who, why, when) go from
//   nodes that are no longer cordoned and stay on cordoned ones, which they still explain.
// Idempotent. What RBAC forbids or the cluster does not serve is said and left; any other error
// is a failure (the command exits non-zero).
import type { Clock } from '../clock.js'
import type { Log } from '../shared/log.js'
import type { KubeClients } from '../kube/client.js'
import { deleteRecord, listNodeAnnotations, listRecordNames, takeOverLease } from '../kube/cleanup.js'
import { deleteOverprovisioning, deletePriorityClass, listMachineDeployments, patchMachineDeploymentAnnotations } from '../kube/cluster-api.js'
import { CORDON_REASON, CORDONED_AT, CORDONED_BY, patchNodeAnnotations } from '../kube/node-patches.js'
import { isConflict, kubeStatusOf } from '../kube/errors.js'
import { OVERPROVISIONING_NAME } from '../kube/permissions.js'
import { releasePatch, WRITTEN } from './cluster-api.js'
import { protectionPatch } from './protection.js'

export const CLEANUP_IDENTITY = 'streamspace-node-manager-cleanup'
/** How long the Lease stays ours: enough for helm to delete the Deployment and its pods to stop. */
export const HOLD_SECONDS = 60
/** A replica that led steps down after its renew deadline (10 s) plus one retry period (2 s). */
export const STEP_DOWN_MS = 12_000
export const RECORD_KINDS = ['nodemaintenances', 'nodedrains', 'nodeincidents'] as const
const CORDON_ANNOTATIONS = [CORDONED_BY, CORDON_REASON, CORDONED_AT]

export interface CleanupDeps {
  clients: KubeClients
  /** The service's namespace (POD_NAMESPACE): its Lease and overprovisioning Deployment. */
  namespace: string
  clock: Clock
  log: Log
}

export interface CleanupReport {
  /** What was removed, one line each. */
  removed: string[]
  /** What was left, and why (forbidden to us, or kept on purpose). */
  left: string[]
  /** What could not be done for another reason (the command exits non-zero). */
  failed: string[]
}

export async function cleanup(deps: CleanupDeps): Promise<CleanupReport> {
  const { clients, namespace, clock, log } = deps
  const report: CleanupReport = { removed: [], left: [], failed: [] }
  /** Runs one step; RBAC's refusal leaves that part, anything else fails it. */
  const step = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn()
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      if (kubeStatusOf(err) === 403) report.left.push(`${what}: forbidden to this service account (${message})`)
      else report.failed.push(`${what}: ${message}`)
    }
  }
  const removed = (line: string) => { report.removed.push(line); log.info({}, `removed ${line}`) }

  await step('leader Lease', async () => {
    const holder = await takeOverLease(clients.kc, namespace, CLEANUP_IDENTITY, HOLD_SECONDS, clock.now())
    if (holder && holder !== CLEANUP_IDENTITY) {
      log.info({ previousLeader: holder }, `took the leader Lease over for ${HOLD_SECONDS} s; waiting ${STEP_DOWN_MS / 1000} s for the leader to step down`)
      await clock.sleep(STEP_DOWN_MS)
    }
  })

  for (const plural of RECORD_KINDS) {
    await step(`${plural}.nodes.stream.space`, async () => {
      const names = await listRecordNames(clients.kc, plural)
      for (const name of names ?? []) if (await deleteRecord(clients.kc, plural, name)) removed(`${plural}/${name}`)
    })
  }

  await step('machinedeployments.cluster.x-k8s.io annotations', async () => {
    // A conflict means a group changed since it was listed: list again (a few times).
    for (let attempt = 0; ; attempt++) {
      let conflicted = false
      for (const md of await listMachineDeployments(clients)) {
        const patch = releasePatch(md.annotations) ?? (md.annotations[WRITTEN] !== undefined ? { [WRITTEN]: null } : undefined)
        if (!patch) continue
        try {
          await patchMachineDeploymentAnnotations(clients, md, patch)
          removed(`machinedeployments/${md.name} in ${md.namespace}: our annotations (previous values put back)`)
        } catch (err) {
          if (!isConflict(err) || attempt >= 3) throw err
          conflicted = true
        }
      }
      if (!conflicted) return
    }
  })

  await step(`deployments/${OVERPROVISIONING_NAME} in ${namespace}`, async () => {
    if (await deleteOverprovisioning(clients, namespace, OVERPROVISIONING_NAME)) removed(`deployments/${OVERPROVISIONING_NAME} in ${namespace}`)
  })
  await step(`priorityclasses/${OVERPROVISIONING_NAME}`, async () => {
    if (await deletePriorityClass(clients, OVERPROVISIONING_NAME)) removed(`priorityclasses/${OVERPROVISIONING_NAME}`)
  })

  await step('node annotations', async () => {
    for (const node of await listNodeAnnotations(clients)) {
      const patch: Record<string, string | null> = { ...protectionPatch(node.annotations, false) }
      const cordon = CORDON_ANNOTATIONS.filter((k) => node.annotations[k] !== undefined)
      if (cordon.length && node.unschedulable) report.left.push(`node ${node.name}: still cordoned, its annotations ${cordon.join(', ')} kept (they say who cordoned it and why)`)
      else for (const k of cordon) patch[k] = null
      if (!Object.keys(patch).length) continue
      await step(`node ${node.name}`, async () => {
        await patchNodeAnnotations(clients, node.name, patch)
        removed(`node ${node.name}: annotations ${Object.keys(patch).sort().join(', ')}`)
      })
    }
  })
  return report
}
