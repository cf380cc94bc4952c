// kubectl drain's pod filters (k8s.io/kubectl/pkg/drain/filters.go), in kubectl's order:
// DaemonSet, mirror, local storage (emptyDir), unreplicated. Each pod runs through them until
// one says "don't delete"; that filter's verdict stands. Verdicts:
//   okay     -> evict
//   warning  -> evict (delete=true) or skip (delete=false), with a message
//   skip     -> leave alone silently (mirror pods)
//   error    -> the drain is refused before anything is evicted
// (kubectl's skipDeletedFilter only acts with --skip-wait-for-delete-timeout, which we don't offer.)
import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node'
import type { ResolvedDrainOptions } from './types.js'

export interface Verdict {
  delete: boolean
  kind: 'okay' | 'skip' | 'warning' | 'error'
  message?: string
}

/** What a filter may ask of the cluster. */
export interface FilterContext {
  options: ResolvedDrainOptions
  /**
   * 'found' or 'not_found'. Any other failure (our RBAC, an unreachable API) throws: kubectl
   * would refuse the pod with the error text; we fail the whole drain with that error (502/503),
   * before anything is evicted, since no drain option could help.
   */
  daemonSetExists(namespace: string, name: string): Promise<'found' | 'not_found'>
}

export type PodFilter = (pod: V1Pod, ctx: FilterContext) => Verdict | Promise<Verdict>

export const MESSAGES = {
  daemonSetFatal: 'DaemonSet-managed Pods (use ignore_daemonsets to ignore)',
  daemonSetWarning: 'ignoring DaemonSet-managed Pods',
  mirror: 'mirror Pods (static Pods of the kubelet) cannot be deleted through the API',
  localStorageFatal: 'Pods with local storage (use delete_emptydir_data to override)',
  localStorageWarning: 'deleting Pods with local storage',
  unmanagedFatal: 'cannot delete Pods that declare no controller (use force to override)',
  unmanagedWarning: 'deleting Pods that declare no controller',
} as const

const okay: Verdict = { delete: true, kind: 'okay' }
const warn = (del: boolean, message: string): Verdict => ({ delete: del, kind: 'warning', message })
const error = (message: string): Verdict => ({ delete: false, kind: 'error', message })

export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror'

export const controllerOf = (pod: V1Pod): V1OwnerReference | undefined =>
  pod.metadata?.ownerReferences?.find((r) => r.controller === true)

export const isFinished = (pod: V1Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed'

export const hasLocalStorage = (pod: V1Pod) => (pod.spec?.volumes ?? []).some((v) => v.emptyDir != null)

export const daemonSetFilter: PodFilter = async (pod, ctx) => {
  const ref = controllerOf(pod)
  if (!ref || ref.kind !== 'DaemonSet') return okay
  if (isFinished(pod)) return okay
  if ((await ctx.daemonSetExists(pod.metadata?.namespace ?? '', ref.name)) === 'not_found') {
    // An orphan of a deleted DaemonSet goes with force, with a warning (kubectl's words).
    const msg = `daemonsets.apps "${ref.name}" not found`
    return ctx.options.force ? warn(true, msg) : error(msg)
  }
  if (!ctx.options.ignore_daemonsets) return error(MESSAGES.daemonSetFatal)
  return warn(false, MESSAGES.daemonSetWarning)
}

export const mirrorPodFilter: PodFilter = (pod) =>
  pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined ? { delete: false, kind: 'skip', message: MESSAGES.mirror } : okay

export const localStorageFilter: PodFilter = (pod, ctx) => {
  if (!hasLocalStorage(pod)) return okay
  if (isFinished(pod)) return okay
  if (!ctx.options.delete_emptydir_data) return error(MESSAGES.localStorageFatal)
  return warn(true, MESSAGES.localStorageWarning)
}

export const unreplicatedFilter: PodFilter = (pod, ctx) => {
  if (isFinished(pod)) return okay
  if (controllerOf(pod)) return okay
  if (ctx.options.force) return warn(true, MESSAGES.unmanagedWarning)
  return error(MESSAGES.unmanagedFatal)
}

export const FILTERS: PodFilter[] = [daemonSetFilter, mirrorPodFilter, localStorageFilter, unreplicatedFilter]

export interface Judgement extends Verdict {
  /** Warnings of every filter that let the pod go (kubectl keeps only the last; we keep all). */
  warnings: string[]
}

/** Runs the filters in order, stopping at the first that says "don't delete" (as kubectl does). */
export async function judgePod(pod: V1Pod, ctx: FilterContext, filters = FILTERS): Promise<Judgement> {
  let verdict = okay
  const warnings: string[] = []
  for (const f of filters) {
    verdict = await f(pod, ctx)
    if (!verdict.delete) break
    if (verdict.kind === 'warning' && verdict.message) warnings.push(verdict.message)
  }
  return { ...verdict, warnings: verdict.delete ? warnings : [] }
}

/** kubectl's error text for a refusal: its messages start with "cannot delete" or get it prefixed. */
export const refusalText = (message: string | undefined) => {
  const m = message || 'unexpected error'
  return m.toLowerCase().startsWith('cannot delete') ? m : `cannot delete ${m}`
}
