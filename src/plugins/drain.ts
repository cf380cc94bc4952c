// Drains (`app.drains`): NodeDrain objects read through one informer on every replica (started
// when the app is ready, stopped when it closes), run by the leader of the one election
// (app.health.onLeadership); with their metrics. Routes in src/routes/drain.ts call it; the drain
// itself lives in src/drain.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram } from 'prom-client'
import { DrainController, FINAL_DRAIN_PHASES } from '../drain/controller.js'
import { nodeDrains } from '../kube/drain-objects.js'
import type { DrainStatus } from '../drain/types.js'
import { recordNodeEvent } from '../kube/events.js'

export interface DrainPluginOptions {
  sessionSelector?: string
  maxConcurrentDrains?: number
  /** Namespace of the Kubernetes Events recorded on the node (default "default"). */
  eventNamespace?: string
  /** Finished NodeDrains are deleted this long after they end (default 7 days). */
  ttlSecondsAfterFinished?: number
}

declare module 'fastify' {
  interface FastifyInstance {
    drains: DrainController
  }
}

const PREFIX = 'streamspace_node_manager_'

/** Drain metrics on the app's registry. */
function drainMetrics(app: FastifyInstance, manager: DrainController): (st: DrainStatus) => void {
  const registers = [app.metrics.registry]
  const drains = new Counter({ name: `${PREFIX}drains_total`, help: 'Node drains by outcome (succeeded, refused, timed_out, failed, interrupted)', labelNames: ['outcome'] as const, registers })
  // Every outcome at 0 from the start: increase() counts an event only from a sample taken before it.
  for (const outcome of FINAL_DRAIN_PHASES) drains.inc({ outcome }, 0)
  const evicted = new Counter({ name: `${PREFIX}drain_pods_evicted_total`, help: 'Pods evicted (or deleted) by drains', registers })
  const sessions = new Counter({ name: `${PREFIX}drain_sessions_disrupted_total`, help: 'StreamSpace sessions disrupted by drains', registers })
  const duration = new Histogram({ name: `${PREFIX}drain_duration_seconds`, help: 'Duration of node drains', labelNames: ['outcome'] as const, buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800], registers })
  new Gauge({ name: `${PREFIX}drains_running`, help: 'Node drains running now (on this replica: the leader runs them)', registers, collect() { this.set(manager.runningCount) } })
  return (st) => {
    drains.inc({ outcome: st.phase })
    evicted.inc(st.evicted.length)
    sessions.inc(st.sessions_disrupted)
    if (st.duration_seconds !== null) duration.observe({ outcome: st.phase }, st.duration_seconds)
  }
}

export default fp<DrainPluginOptions>(async (app, opts) => {
  const log = app.log.child({ component: 'drain' })
  const objects = nodeDrains(app.kube, log, app.clock)
  const manager = new DrainController({
    objects,
    clients: app.kube,
    clock: app.clock,
    sessionSelector: opts.sessionSelector,
    maxConcurrent: opts.maxConcurrentDrains,
    log,
    eventNamespace: opts.eventNamespace,
    ttlSecondsAfterFinished: opts.ttlSecondsAfterFinished,
    whenCachesSynced: () => app.cluster.whenSynced(),
    nodeKnown: (node) => app.cluster.getNode(node) !== undefined,
    stillLeading: () => !app.hasDecorator('health') || app.health.stillLeading(),
    // countFinished is set just below, before any drain can finish.
    onFinished: (st) => countFinished(st),
    recordEvent: (node, event) => recordNodeEvent(app.kube, node, event, { namespace: opts.eventNamespace }),
  })
  const countFinished = drainMetrics(app, manager)
  app.decorate('drains', manager)
  app.cluster.onNodeDeleted((node) => manager.forgetNode(node))
  app.addHook('onReady', async () => {
    objects.start()
    // The election is registered after this plugin: by onReady it is there (and not started yet).
    if (app.hasDecorator('health')) {
      app.health.onLeadership(() => manager.startLeading(), () => manager.stopLeading())
    }
  })
  // preClose, not onClose: a waiting POST or an open event stream would otherwise hold close().
  // The runs here stop without writing (before the Lease is released): the next leader continues them.
  app.addHook('preClose', async () => manager.close())
  app.addHook('onClose', async () => objects.stop())
}, { name: 'drain', dependencies: ['kube', 'metrics', 'nodes'] })
