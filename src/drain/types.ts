// The drain's types: Static<> of its TypeBox shapes (src/drain/shapes.ts), so each shape is
// written once. Also how options get their defaults.
import type { DrainOptions, ResolvedDrainOptions } from './shapes.js'

export type {
  DrainEvent, DrainOptions, DrainPhase, DrainResult, DrainStatus, PendingPod, PodError, PodReason, ResolvedDrainOptions,
} from './shapes.js'

export function resolveOptions(o: DrainOptions): ResolvedDrainOptions {
  return {
    grace_period_seconds: o.grace_period_seconds,
    timeout_seconds: o.timeout_seconds ?? 300,
    force: o.force ?? false,
    ignore_daemonsets: o.ignore_daemonsets ?? true,
    delete_emptydir_data: o.delete_emptydir_data ?? false,
    disable_eviction: o.disable_eviction ?? false,
    pod_selector: o.pod_selector || undefined,
    dry_run: o.dry_run ?? false,
  }
}

export type { Clock } from '../clock.js'
