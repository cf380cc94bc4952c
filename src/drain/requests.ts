// What the drain routes ask of the drains, each in one call: a drain as asked over HTTP (waited
// for or not; a dry run with whether the pods would fit elsewhere), the latest status, and the
// steps as a stream. No HTTP here: the routes turn these into answers.
import type { EventStream } from '../shared/event-stream.js'
import type { DrainController } from './controller.js'
import type { Static } from 'typebox'
import type { FitReport } from './shapes.js'
import type { DrainEvent, DrainOptions, DrainResult, DrainStatus } from './types.js'

/** started: running on (wait false), follow its status; else the drain's result. */
export type DrainOutcome = { started: true } | { started: false; result: DrainResult }

/** Whether the pods of these nodes would fit on the other schedulable nodes (null without a fit check). */
export type FitCheck = (nodes: string[]) => Static<typeof FitReport> | null

export async function requestDrain(drains: DrainController, fit: FitCheck, node: string, options: DrainOptions, actor?: string): Promise<DrainOutcome> {
  const started = await drains.start(node, options, actor)
  if (started.options.dry_run) {
    const result = await started.result
    const report = fit([node])
    return { started: false, result: report ? { ...result, fit: report } : result }
  }
  if (options.wait === false) {
    started.result.catch(() => {}) // the outcome is in the status
    return { started: true }
  }
  return { started: false, result: await started.result }
}

/** The node's latest drain (phase none when it was never drained); an unknown node is not_found. */
export async function latestDrain(drains: DrainController, node: string): Promise<DrainStatus> {
  if (!drains.known(node)) await drains.checkRequest(node, {})
  return drains.statusWithHistory(node)
}

/** The latest status, then each step of the node's drain after `afterId`. */
export async function drainEvents(drains: DrainController, node: string, afterId: number): Promise<EventStream<DrainEvent>> {
  const first = await latestDrain(drains, node)
  return { first, follow: (onStep, onEnd) => drains.subscribe(node, afterId, onStep, onEnd) }
}
