// A plan's progress as a stream of steps, read from the plan's object as every replica's informer
// sees it: each change of the plan's state or of a node's state is one event, so the stream is
// the same whichever replica serves it, and nothing is kept per plan in memory.
import type { ClusterObjects } from '../kube/custom-objects.js'
import { FINAL_PLAN_STATES, planOf, type PlanSpec, type PlanStatus } from './objects.js'
import type { Maintenance, MaintenanceEvent } from './types.js'

/** The steps from `before` to `after`: node changes first, then the plan's own (last: finished). */
export function stepsBetween(before: Maintenance, after: Maintenance): Array<Omit<MaintenanceEvent, 'id'>> {
  const out: Array<Omit<MaintenanceEvent, 'id'>> = []
  const at = after.updated_at
  for (const n of after.nodes) {
    const was = before.nodes.find((b) => b.name === n.name)
    if (!was || was.state !== n.state || was.message !== n.message) out.push({ type: 'node', at, node: n.name, state: n.state, message: n.message })
  }
  if (before.state !== after.state) {
    out.push({ type: FINAL_PLAN_STATES.includes(after.state) ? 'finished' : 'state', at, state: after.state, message: after.message })
  }
  return out
}

/**
 * Calls `onStep` for every step of the plan after `from` (ids count on from `afterId`), and
 * `onEnd` once it has finished or is deleted. Returns unsubscribe.
 */
export function followPlan(objects: ClusterObjects<PlanSpec, PlanStatus>, from: Maintenance, afterId: number, onStep: (e: MaintenanceEvent) => void, onEnd: () => void): () => void {
  let last = from
  let id = afterId
  let ended = false
  const end = () => {
    if (ended) return
    ended = true
    unsubscribe()
    onEnd()
  }
  const unsubscribe = objects.onChange((o, deleted) => {
    if (o.metadata.name !== from.id || ended) return
    if (deleted) return end()
    const next = planOf(o)
    for (const step of stepsBetween(last, next)) onStep({ id: ++id, ...step })
    last = next
    if (FINAL_PLAN_STATES.includes(next.state)) end()
  })
  if (FINAL_PLAN_STATES.includes(from.state)) queueMicrotask(end)
  return unsubscribe
}
