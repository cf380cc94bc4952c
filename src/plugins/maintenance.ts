// Maintenance plans (`app.maintenance`): the engine in src/maintenance, its plans NodeMaintenance
// objects read through one informer on every replica, reconciled by the leader of the one election
// (app.health.onLeadership). Metrics: plans by state, sessions hibernated, sessions waited for,
// time spent waiting.
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram } from 'prom-client'
import { MaintenanceEngine } from '../maintenance/engine.js'
import { hibernateSession, legacyPlanConfigMap, nodeMaintenances } from '../kube/maintenance-store.js'
import type { PlanSpec, PlanStatus } from '../maintenance/objects.js'
import { recordNodeEvent } from '../kube/events.js'
import * as changes from '../nodes/changes.js'
import { auditToLog } from '../routes/node-changes.js'
import { planFit } from '../maintenance/fit.js'

export interface MaintenancePluginOptions {
  namespace: string
  /** How often the leader looks at every plan again beside the informer's changes. Default 60 s. */
  syncIntervalMs?: number
  /** false: no informer (OpenAPI generation). */
  start?: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    maintenance: MaintenanceEngine
  }
}

const PREFIX = 'streamspace_node_manager_'

export default fp<MaintenancePluginOptions>(async (app, opts) => {
  const log = app.log.child({ component: 'maintenance' })
  const registers = [app.metrics.registry]
  const hibernated = new Counter({ name: `${PREFIX}maintenance_sessions_hibernated_total`, help: 'Sessions hibernated by maintenance plans at their deadline', registers })
  const waited = new Counter({ name: `${PREFIX}maintenance_sessions_waited_total`, help: 'Sessions that maintenance plans waited for and that ended by themselves', registers })
  const waiting = new Histogram({ name: `${PREFIX}maintenance_session_wait_seconds`, help: 'Time a node in maintenance waited for its sessions', buckets: [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400], registers })
  const changeDeps = (): changes.NodeChangeDeps => ({ ...app.nodeChangeDeps(auditToLog(log, app.httpStatusOf), log), now: () => new Date(app.clock.now()) })
  const actor = (username: string): changes.Actor => ({ username, user_id: 'maintenance' })
  const objects = nodeMaintenances<PlanSpec, PlanStatus>(app.kube, log, app.clock)
  const engine = new MaintenanceEngine({
    objects,
    clock: app.clock,
    source: {
      getNode: (name) => app.cluster.getNode(name),
      nodes: () => app.cluster.nodes.values(),
      podsOnNode: (name) => app.cluster.podsOnNode(name),
      onChange: (listener) => app.cluster.onChange(listener),
      whenSynced: () => app.cluster.whenSynced(),
    },
    legacy: legacyPlanConfigMap(app.kube, opts.namespace),
    confirmLeading: () => app.health.confirmLeading(),
    cordon: async (node, by, reason) => { await changes.cordon(changeDeps(), actor(by), node, { reason }) },
    uncordon: async (node, by) => { await changes.uncordon(changeDeps(), actor(by), node) },
    // adopt: a plan resumed by a new leader takes up the NodeDrain it asked for before.
    drain: async (node, options, who, signal) => (await app.drains.start(node, options, who, signal, true)).result,
    hibernate: (namespace, session) => hibernateSession(app.kube, namespace, session),
    recordEvent: (node, event) => recordNodeEvent(app.kube, node, event, { now: new Date(app.clock.now()) }),
    fit: (nodes) => planFit(app.nodeFacts.all(), (n) => app.cluster.podsOnNode(n), nodes),
    log,
    isStopping: () => app.drains.stopping,
    resyncMs: opts.syncIntervalMs,
    metrics: {
      sessionsHibernated: (n) => hibernated.inc(n),
      sessionsWaited: (n) => waited.inc(n),
      waitedSeconds: (s) => waiting.observe(s),
    },
  })
  new Gauge({
    name: `${PREFIX}maintenance_plans`, help: 'Maintenance plans by state (scheduled, running, succeeded, failed, cancelled, completed), as this replica last saw them',
    labelNames: ['state'] as const, registers,
    collect() {
      this.reset()
      const counts = engine.countsByState()
      for (const s of ['scheduled', 'running', 'succeeded', 'failed', 'cancelled', 'completed']) this.set({ state: s }, counts.get(s) ?? 0)
    },
  })
  app.decorate('maintenance', engine)
  app.health.onLeadership(() => engine.startLeading(), () => engine.stopLeading())
  if (opts.start !== false) app.addHook('onReady', async () => objects.start())
  app.addHook('onClose', async () => objects.stop())
}, { name: 'maintenance', dependencies: ['kube', 'nodes', 'metrics', 'drain', 'health', 'errors', 'selection'] })
