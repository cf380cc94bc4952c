// Health monitoring and alerts, and leader election (`app.health`). Every replica campaigns for the
// Lease; the one holding it runs the monitor (src/health), which writes each incident as a
// NodeIncident object, then pages through Alertmanager, the webhook, a Kubernetes Event and a log
// line. Every replica watches the NodeIncident objects (GET P/cluster/health lists them).
// Metrics: ..._leader and ..._alerts_sent_total.
// The leader's duties (the monitor and every onLeadership start) begin only once the caches have
// synced (client-go's WaitForCacheSync), and all have stopped before the elector campaigns again or
// releases the Lease.
import fp from 'fastify-plugin'
import { hostname } from 'node:os'
import { Counter, Gauge } from 'prom-client'
import { AlertmanagerOutbox, WebhookQueue, type Receiver, type SendResult } from '../health/alerts.js'
import { HealthMonitor, type HealthSettings } from '../health/monitor.js'
import { recordNodeEvent } from '../kube/events.js'
import { nodeIncidents } from '../kube/incident-objects.js'
import { apiLeaseClient, leaderIdentity, LeaderElector } from '../kube/leader-election.js'
import { API_PREFIX } from './swagger.js'

export interface HealthPluginOptions {
  /** Where the Lease lives (POD_NAMESPACE, else the kubeconfig context's, else streamspace). */
  namespace: string
  /** false: neither campaign nor monitor (OpenAPI generation). */
  start: boolean
}

export interface HealthService {
  elector: LeaderElector
  monitor: HealthMonitor
  isLeader(): boolean
  /**
   * Fencing: call before each step that changes the cluster (cordon, evict, hibernate, uncordon,
   * scale). True only while this replica leads and renewed the Lease within the renew deadline
   * (monotonic clock); false as soon as leadership is lost, while the stops still run.
   */
  stillLeading(): boolean
  /** stillLeading(), waiting for the next renewal when only that is overdue (see LeaderElector.confirmLeading). */
  confirmLeading(): Promise<boolean>
  settings(): HealthSettings
  /** Alerts sent, by receiver and result (also ..._alerts_sent_total). */
  alertsSent: Map<string, number>
  /**
   * Runs `start` when this replica becomes leader and its caches have synced (at once if its duties
   * already run) and `stop` when it stops leading or the service closes: the one election for
   * everything that must run once (maintenance plans too). Every stop (awaited) ends before the
   * replica campaigns again or releases the Lease.
   */
  onLeadership(start: () => void, stop: () => Promise<void> | void): void
}

declare module 'fastify' {
  interface FastifyInstance {
    health: HealthService
  }
}

const PREFIX = 'streamspace_node_manager_'

export default fp<HealthPluginOptions>(async (app, opts) => {
  const service = app.settings.service
  const log = app.log.child({ component: 'health' })
  const alertsSent = new Map<string, number>()
  const sentCounter = new Counter({
    name: `${PREFIX}alerts_sent_total`, help: 'Alert notifications by receiver (alertmanager, webhook) and result (success, failure, dropped)',
    labelNames: ['receiver', 'result'] as const, registers: [app.metrics.registry],
  })
  const count = (receiver: Receiver, result: SendResult, n: number) => {
    sentCounter.inc({ receiver, result }, n)
    const k = `${receiver}/${result}`
    alertsSent.set(k, (alertsSent.get(k) ?? 0) + n)
  }
  const publicUrl = (service.publicUrl ?? `http://${hostname()}:${service.port}`).replace(/\/+$/, '')
  const alertmanagers = (service.alertmanagerUrl ?? '').split(',').map((u) => u.trim()).filter(Boolean)
    .map((u) => new AlertmanagerOutbox(u, { clock: app.clock, log, count }))
  const webhook = service.alertWebhookUrl
    ? new WebhookQueue({ url: service.alertWebhookUrl, secret: service.alertWebhookSecret, clock: app.clock, log, count })
    : undefined
  // Each configured receiver's results at 0 from the start: increase() counts a notification only from a sample taken before it.
  const receivers: Receiver[] = [...(alertmanagers.length ? ['alertmanager' as const] : []), ...(webhook ? ['webhook' as const] : [])]
  for (const receiver of receivers) for (const result of ['success', 'failure', 'dropped'] as const) sentCounter.inc({ receiver, result }, 0)
  const settings = (): HealthSettings => ({
    intervalMs: service.healthCheckIntervalMs ?? app.settings.options.healthCheckInterval * 1000,
    graceMs: service.healthGraceSeconds * 1000,
    cordonedMs: service.cordonedAlertMinutes * 60_000,
    alertsEnabled: app.settings.options.alertOnNodeFailure,
  })
  const incidents = nodeIncidents(app.kube, log, app.clock)
  const monitor = new HealthMonitor({
    incidents,
    // Fencing, late-bound: the elector is made below with the monitor's stop among its duties.
    stillLeading: () => app.health.stillLeading(),
    source: {
      nodes: () => app.cluster.nodes.values(),
      getNode: (name) => app.cluster.getNode(name),
      onChange: (listener) => app.cluster.onNodeChange(listener),
      synced: () => app.cluster.nodeReflector.synced,
    },
    clock: app.clock,
    settings,
    alertmanagers,
    webhook,
    recordEvent: (node, event) => recordNodeEvent(app.kube, node, event, { now: new Date(app.clock.now()) }),
    nodeUrl: (node) => `${publicUrl}${API_PREFIX}/admin/nodes/${encodeURIComponent(node)}`,
    externalUrl: publicUrl,
    log,
  })
  const leadership: { start: () => void; stop: () => Promise<void> | void }[] = []
  // Whether the duties run, and the current leading session's wait for the caches.
  let dutiesRunning = false
  let starting: Promise<void> = Promise.resolve()
  const startDuties = async (lost: AbortSignal) => {
    // Until the first LISTs end the caches look empty (no pods on any node): wait, unless leadership ends first.
    await Promise.race([app.cluster.whenSynced(), new Promise((resolve) => lost.addEventListener('abort', resolve, { once: true }))])
    if (lost.aborted) return
    dutiesRunning = true
    monitor.start()
    for (const l of leadership) l.start()
  }
  const stopDuties = async () => {
    await starting
    if (!dutiesRunning) return
    dutiesRunning = false
    const results = await Promise.allSettled([monitor.stop(), ...leadership.map(async (l) => l.stop())])
    for (const r of results) if (r.status === 'rejected') log.error({ err: String(r.reason) }, 'leader election: a leadership stop failed')
  }
  const elector = new LeaderElector({
    client: apiLeaseClient(app.kube.kc, opts.namespace),
    identity: leaderIdentity(service.podName),
    clock: app.clock,
    log,
    onStartedLeading: (lost) => {
      starting = startDuties(lost).catch((err: unknown) => { log.error({ err: String(err) }, 'leader election: a leadership start failed') })
    },
    onStoppedLeading: stopDuties,
  })
  new Gauge({
    name: `${PREFIX}leader`, help: '1 while this replica holds the leader-election Lease (runs health checks and alerts)',
    registers: [app.metrics.registry], collect() { this.set(elector.isLeader ? 1 : 0) },
  })
  // healthCheckInterval and alertOnNodeFailure are read live; a change through PUT P/config checks at once.
  const unsubscribe = app.liveOptions.onChange((_next, changes) => {
    if (changes.some((c) => c.option === 'healthCheckInterval' || c.option === 'alertOnNodeFailure')) monitor.settingsChanged()
  })
  const onLeadership = (start: () => void, stop: () => Promise<void> | void) => {
    leadership.push({ start, stop })
    if (dutiesRunning) start()
  }
  app.decorate('health', {
    elector, monitor, isLeader: () => elector.isLeader, stillLeading: () => elector.stillLeading(), confirmLeading: () => elector.confirmLeading(), settings, alertsSent, onLeadership,
  } satisfies HealthService)
  if (opts.start) app.addHook('onReady', async () => { elector.start() })
  // preClose: release the Lease before the caches stop, so another replica takes over at once
  // (elector.stop awaits the duties' stops first). The stops are called once more, as on any
  // close: each is idempotent.
  app.addHook('preClose', async () => {
    unsubscribe()
    await elector.stop()
    await monitor.stop()
    await Promise.all(leadership.map(async (l) => { await l.stop() }))
    await Promise.all([...alertmanagers.map((a) => a.close()), webhook?.close()])
  })
  // Every replica lists the incidents (GET P/cluster/health); the leader's monitor waits for this informer's first list.
  if (opts.start) app.addHook('onReady', async () => { incidents.start() })
  app.addHook('onClose', async () => { await incidents.stop() })
}, { name: 'health', dependencies: ['kube', 'metrics', 'settings'] })
