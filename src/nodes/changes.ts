// Node changes admins make: labels, taints, cordon. kubectl's semantics and validation, one atomic
// write per change (nothing half-written), retried on 409 so concurrent admins never lose each
// other's changes, and an audit trail: every attempt goes to the audit sink with who, what, which
// node and the outcome; every change also becomes a Kubernetes Event on the Node.
//
// No Fastify in here: the caller passes the Kubernetes clients, the pods on a node (from the watch cache), the audit sink and a logger.
import type { V1Node, V1Taint, V1Toleration } from '@kubernetes/client-node'
import type { KubeClients } from '../kube/client.js'
import { isConflict, isNotFound, KubeError, kubeStatusOf } from '../kube/errors.js'
import { recordNodeEvent, type NodeEventSpec } from '../kube/events.js'
import {
  CORDON_REASON, CORDONED_AT, CORDONED_BY, patchNodeLabels, patchNodeTaints, patchNodeUnschedulable, readNode, rfc3339, toWireTaint, type WireTaint,
} from '../kube/node-patches.js'
import { Failure, invalid, nodeNotFound, type FailureKind } from '../errors.js'
import { checkEffect, checkKey, checkNotSystemManaged, checkValue } from './validation.js'
import type { Log } from '../shared/log.js'

/** Who asks: the StreamSpace JWT's username and user_id. */
export interface Actor { username: string; user_id: string }

export type ChangeAction = 'label.set' | 'label.remove' | 'taint.set' | 'taint.remove' | 'cordon' | 'uncordon'

export interface AuditEntry {
  action: ChangeAction
  node: string
  actor: Actor
  /** What was asked: key, value, effect, force. */
  request: Record<string, unknown>
  /** changed: written; unchanged: already so, nothing written; refused: the request was wrong or
   * clashed (invalid, not found, conflict...); failed: the cluster or the service failed. */
  outcome: 'changed' | 'unchanged' | 'refused' | 'failed'
  /** Why it was refused or failed. */
  failure?: FailureKind
  message?: string
  /** Write attempts (more than 1 after conflicts). */
  attempts: number
  /** What was there before, for changes. */
  previous?: unknown
  affected_pods?: number
}

export type AuditSink = (entry: AuditEntry) => void

/** What a NoExecute count needs of a pod: the watch cache's slim pods fit. */
export interface PodOnNode { phase: string; terminating: boolean; tolerations?: V1Toleration[] }

export interface NodeChangeDeps {
  clients: KubeClients
  /** The pods on a node, from the watch cache (no LIST per request). */
  podsOnNode: (node: string) => Iterable<PodOnNode>
  audit: AuditSink
  log?: Pick<Log, 'warn'>
  /** Attempts before giving up on a node that keeps conflicting. Default 32. */
  maxAttempts?: number
  /** Retries of a passing API failure (503, 504, unreachable) before answering it. Default 3. */
  transientRetries?: number
  now?: () => Date
}

export interface ChangeResult {
  node: V1Node
  changed: boolean
  /** For NoExecute taints: pods on the node it evicts, now or after their tolerationSeconds. */
  affectedPods?: number
  /** What went wrong around a change that was made (e.g. its audit Event could not be written). */
  warnings: string[]
}

export interface TaintInput { key: string; value?: string; effect: string }

const DEFAULT_MAX_ATTEMPTS = 32
const DEFAULT_TRANSIENT_RETRIES = 3
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * A passing failure of the API server, worth another try: 503 (unavailable, overloaded), 504
 * (timeout), or no answer at all. Every step of a change is safe to repeat: the read, the label
 * merge patch (the same labels again), the taint patch (guarded by resourceVersion: if the lost
 * answer's write did land, the retry gets 409, re-reads and finds the change made).
 */
function isTransient(err: unknown): boolean {
  const code = kubeStatusOf(err)
  if (code === 503 || code === 504) return true
  return code === undefined && err instanceof KubeError && err.kind === 'unavailable'
}

interface Step {
  node: V1Node
  changed: boolean
  previous?: unknown
  event?: NodeEventSpec
}

/** One change: validation, read-decide-write retried on 409, audit, event. */
async function change(
  deps: NodeChangeDeps,
  action: ChangeAction,
  actor: Actor,
  name: string,
  request: Record<string, unknown>,
  validate: () => void,
  step: (node: V1Node) => Promise<Step>,
  extra?: () => Promise<number>,
): Promise<ChangeResult> {
  const maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
  const transientRetries = deps.transientRetries ?? DEFAULT_TRANSIENT_RETRIES
  let attempts = 0
  let transient = 0
  const audit = (outcome: AuditEntry['outcome'], more: Partial<AuditEntry> = {}) => {
    deps.audit({ action, node: name, actor, request, outcome, attempts, ...more })
  }
  try {
    validate()
    const affectedPods = extra ? await extra() : undefined
    for (;;) {
      attempts++
      try {
        const current = await readNode(deps.clients, name)
        const result = await step(current)
        audit(result.changed ? 'changed' : 'unchanged', { previous: result.previous, affected_pods: affectedPods })
        const warning = result.changed && result.event ? await event(deps, result.node, result.event) : undefined
        return { node: result.node, changed: result.changed, warnings: warning ? [warning] : [], ...(affectedPods === undefined ? {} : { affectedPods }) }
      } catch (err) {
        if (isTransient(err) && transient < transientRetries) {
          // Backoff 200 ms doubling, jittered: the API server gets a moment, the caller little delay.
          await sleep(200 * 2 ** transient++ * (0.5 + Math.random() * 0.5))
          continue
        }
        if (!isConflict(err)) throw err
        if (attempts >= maxAttempts) {
          throw new Failure('conflict', `nodes/${name} kept changing under us: gave up after ${attempts} conflicting attempts; try again`)
        }
        await sleep(Math.random() * Math.min(100, 5 * attempts))
      }
    }
  } catch (err) {
    // A 404 from the API server here is about the node itself (labels and taints are checked on it).
    const e = isNotFound(err) ? nodeNotFound(name) : err
    const kind: FailureKind | undefined = e instanceof Failure ? e.kind : undefined
    const failed = kind === undefined || kind === 'unavailable' || kind === 'cluster_failed' || kind === 'timed_out'
    audit(failed ? 'failed' : 'refused', { failure: kind, message: (e as Error).message })
    throw e
  }
}

/** Records the change's Event; returns a warning when it could not (the change stands). */
async function event(deps: NodeChangeDeps, node: V1Node, spec: NodeEventSpec): Promise<string | undefined> {
  try {
    await recordNodeEvent(deps.clients, node, spec, { now: deps.now?.() })
    return undefined
  } catch (err) {
    // The change is made; a lost Event must not turn it into an error. The audit log has it,
    // and the answer carries a Warning header saying why the Event is missing.
    deps.log?.warn({ err, node: node.metadata?.name, reason: spec.reason }, 'could not record the Kubernetes Event for a node change')
    return `change made, but its audit Event was not recorded: ${(err as Error).message}`
  }
}

const by = (a: Actor) => `by ${a.username} (user_id ${a.user_id}) via StreamSpace Node Manager`
const taintText = (t: { key: string; value?: string; effect?: string }) => `${t.key}${t.value ? '=' + t.value : ''}${t.effect ? ':' + t.effect : ''}`

export function setLabel(deps: NodeChangeDeps, actor: Actor, name: string, key: string, value: string, opts: { force?: boolean } = {}): Promise<ChangeResult> {
  return change(deps, 'label.set', actor, name, { key, value, force: opts.force ?? false },
    () => { checkKey(key); checkValue(value); checkNotSystemManaged(key, opts.force, 'label') },
    async (node) => {
      const labels = node.metadata?.labels ?? {}
      const previous = labels[key]
      if (previous === value) return { node, changed: false }
      const patched = await patchNodeLabels(deps.clients, name, { [key]: value })
      const was = previous === undefined ? '' : ` (was ${JSON.stringify(previous)})`
      return { node: patched, changed: true, previous: previous ?? null, event: { reason: 'NodeLabeled', message: `Label ${key}=${value} set${was} ${by(actor)}` } }
    })
}

export function removeLabel(deps: NodeChangeDeps, actor: Actor, name: string, key: string, opts: { force?: boolean } = {}): Promise<ChangeResult> {
  return change(deps, 'label.remove', actor, name, { key, force: opts.force ?? false },
    () => { checkKey(key); checkNotSystemManaged(key, opts.force, 'label') },
    async (node) => {
      const labels = node.metadata?.labels ?? {}
      if (!(key in labels)) throw new Failure('not_found', `Label ${key} not found on node ${name}`)
      const patched = await patchNodeLabels(deps.clients, name, { [key]: null })
      return { node: patched, changed: true, previous: labels[key], event: { reason: 'NodeUnlabeled', message: `Label ${key} removed (was ${JSON.stringify(labels[key])}) ${by(actor)}` } }
    })
}

/**
 * Adds a taint, or replaces the one with the same key and effect (kubectl taint --overwrite).
 * As kubectl does, the new taint goes first and the others keep their order, and timeAdded is not
 * set (kubectl sends none; Kubernetes issue 98482), while other taints keep theirs. The answer
 * counts the pods a NoExecute taint evicts.
 */
export function setTaint(deps: NodeChangeDeps, actor: Actor, name: string, input: TaintInput, opts: { force?: boolean } = {}): Promise<ChangeResult> {
  const value = input.value === undefined || input.value === '' ? undefined : input.value
  const { key, effect } = input
  return change(deps, 'taint.set', actor, name, { key, value: value ?? '', effect, force: opts.force ?? false },
    () => { checkKey(key); if (value !== undefined) checkValue(value); checkEffect(effect); checkNotSystemManaged(key, opts.force, 'taint') },
    async (node) => {
      const taints = node.spec?.taints ?? []
      const existing = taints.find((t) => t.key === key && t.effect === effect)
      if (existing && (existing.value || undefined) === value) return { node, changed: false }
      const added: WireTaint = { key, effect, ...(value === undefined ? {} : { value }) }
      const next = [added, ...taints.filter((t) => !(t.key === key && t.effect === effect)).map(toWireTaint)]
      const patched = await patchNodeTaints(deps.clients, name, next, node.metadata?.resourceVersion ?? '')
      const was = existing ? ` (was ${taintText(existing)})` : ''
      return {
        node: patched,
        changed: true,
        previous: existing ? toWireTaint(existing) : null,
        event: { reason: 'NodeTainted', type: effect === 'NoExecute' ? 'Warning' : 'Normal', message: `Taint ${taintText(added)} ${existing ? 'updated' : 'added'}${was} ${by(actor)}` },
      }
    },
    effect === 'NoExecute' ? async () => countEvictedPods(deps.podsOnNode(name), { key, value, effect }) : undefined)
}

/** Removes the taint with this key and effect, or every taint with this key when no effect is given. */
export function removeTaint(deps: NodeChangeDeps, actor: Actor, name: string, key: string, effect: string | undefined, opts: { force?: boolean } = {}): Promise<ChangeResult> {
  return change(deps, 'taint.remove', actor, name, { key, effect: effect ?? null, force: opts.force ?? false },
    () => { checkKey(key); if (effect !== undefined) checkEffect(effect); checkNotSystemManaged(key, opts.force, 'taint') },
    async (node) => {
      const taints = node.spec?.taints ?? []
      const matches = (t: V1Taint) => t.key === key && (effect === undefined || t.effect === effect)
      const removed = taints.filter(matches)
      if (removed.length === 0) throw new Failure('not_found', `Taint ${taintText({ key, effect })} not found on node ${name}`)
      const next = taints.filter((t) => !matches(t)).map(toWireTaint)
      const patched = await patchNodeTaints(deps.clients, name, next, node.metadata?.resourceVersion ?? '')
      return {
        node: patched,
        changed: true,
        previous: removed.map(toWireTaint),
        event: { reason: 'NodeUntainted', message: `Taint${removed.length > 1 ? 's' : ''} ${removed.map(taintText).join(', ')} removed ${by(actor)}` },
      }
    })
}

export interface CordonOptions {
  /** Why: kept in streamspace.io/cordon-reason. */
  reason?: string
  /** Who, when not the actor's username (e.g. a maintenance plan acting for its author). */
  by?: string
}

/** Most a cordon reason may be (annotations have room; a page of text is not a reason). */
export const MAX_CORDON_REASON = 1024

/**
 * Cordon, with who, why and when as annotations written in the same patch as spec.unschedulable.
 * On a node already cordoned: nothing is written unless a reason is given that differs from the
 * one recorded (then by, reason and at are replaced: the latest reason wins). A node cordoned by
 * someone else (kubectl) and cordoned again here without a reason keeps no record of ours.
 */
export function cordon(deps: NodeChangeDeps, actor: Actor, name: string, opts: CordonOptions = {}): Promise<ChangeResult> {
  const reason = opts.reason?.trim() || undefined
  return change(deps, 'cordon', actor, name, reason === undefined ? {} : { reason },
    () => { if (reason !== undefined && reason.length > MAX_CORDON_REASON) throw invalid(`reason: at most ${MAX_CORDON_REASON} characters (got ${reason.length})`) },
    async (node) => {
      const cordoned = node.spec?.unschedulable === true
      const annotations = node.metadata?.annotations ?? {}
      if (cordoned && (reason === undefined || annotations[CORDON_REASON] === reason)) return { node, changed: false }
      const record = { by: opts.by ?? actor.username, reason: reason ?? null, at: rfc3339(deps.now?.() ?? new Date()) }
      const patched = await patchNodeUnschedulable(deps.clients, name, true, record)
      const why = reason === undefined ? '' : `: ${reason}`
      return {
        node: patched,
        changed: true,
        previous: cordoned ? { by: annotations[CORDONED_BY] ?? null, reason: annotations[CORDON_REASON] ?? null, at: annotations[CORDONED_AT] ?? null } : false,
        event: cordoned
          ? { reason: 'NodeCordoned', message: `Cordon reason set${why} ${by(actor)}` }
          : { reason: 'NodeCordoned', message: `Node cordoned (marked unschedulable)${why} ${by(actor)}` },
      }
    })
}

/** Uncordon; clears the cordon annotations in the same patch. */
export function uncordon(deps: NodeChangeDeps, actor: Actor, name: string): Promise<ChangeResult> {
  return change(deps, 'uncordon', actor, name, {}, () => {},
    async (node) => {
      const annotations = node.metadata?.annotations ?? {}
      const recorded = CORDONED_BY in annotations || CORDON_REASON in annotations || CORDONED_AT in annotations
      if (node.spec?.unschedulable !== true && !recorded) return { node, changed: false }
      const patched = await patchNodeUnschedulable(deps.clients, name, false, { by: null, reason: null, at: null })
      return {
        node: patched,
        changed: true,
        previous: true,
        event: { reason: 'NodeUncordoned', message: `Node uncordoned (marked schedulable) ${by(actor)}` },
      }
    })
}

/** A change's answer with the node as it is after the change, in the caller's shape. */
export interface RenderedChange<V> extends Omit<ChangeResult, 'node'> { view: V }

/**
 * The changes above, each answering with the node rendered by `render` (NodeView for P/nodes,
 * StreamSpace's NodeInfo for its admin page), so a route makes one call per request.
 */
export function renderedChanges<V>(render: (node: V1Node) => V) {
  const rendered = <A extends unknown[]>(fn: (...args: A) => Promise<ChangeResult>) =>
    async (...args: A): Promise<RenderedChange<V>> => {
      const { node, ...rest } = await fn(...args)
      return { ...rest, view: render(node) }
    }
  return {
    setLabel: rendered(setLabel), removeLabel: rendered(removeLabel), setTaint: rendered(setTaint),
    removeTaint: rendered(removeTaint), cordon: rendered(cordon), uncordon: rendered(uncordon),
  }
}

/** Toleration.ToleratesTaint from k8s.io/api/core/v1. */
export function toleratesTaint(tol: V1Toleration, taint: { key: string; value?: string; effect: string }): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false
  if (tol.key && tol.key !== taint.key) return false
  switch (tol.operator ?? '') {
    case '':
    case 'Equal':
      return (tol.value ?? '') === (taint.value ?? '')
    case 'Exists':
      return true
    default:
      return false
  }
}

/**
 * Whether the taint manager evicts this pod for a NoExecute taint: at once when no toleration
 * matches, after tolerationSeconds when every matching toleration is limited in time.
 */
export function evictedByNoExecute(tolerations: V1Toleration[] | undefined, taint: { key: string; value?: string; effect: string }): boolean {
  const matching = (tolerations ?? []).filter((t) => toleratesTaint(t, taint))
  return matching.length === 0 || matching.every((t) => t.tolerationSeconds !== undefined && t.tolerationSeconds !== null)
}

/** Pods that a NoExecute taint would evict: not finished, not already terminating, not tolerating it for good. */
export function countEvictedPods(pods: Iterable<PodOnNode>, taint: { key: string; value?: string; effect: string }): number {
  let n = 0
  for (const p of pods) {
    const active = p.phase !== 'Succeeded' && p.phase !== 'Failed' && !p.terminating
    if (active && evictedByNoExecute(p.tolerations, taint)) n++
  }
  return n
}
