// The Kubernetes layer, as the app sees it: typed clients (`app.kube`) and the watch caches
// (`app.cluster`) that the node read model (plugins/nodes.ts) renders from. Caches start on ready
// and stop on close.
import fp from 'fastify-plugin'
import type { KubeClients } from '../kube/client.js'
import { ClusterCache } from '../kube/cluster-cache.js'
import type { Clock } from '../clock.js'

declare module 'fastify' {
  interface FastifyInstance {
    kube: KubeClients
    cluster: ClusterCache
    clock: Clock
  }
}

export interface KubePluginOptions {
  clients: KubeClients
  sessionSelector: string
  metricsEnabled: boolean
  metricsPollSeconds: number
  metricsHistorySamples: number
  clock: Clock
  startCaches: boolean
}

export default fp<KubePluginOptions>(async (app, opts) => {
  const cluster = new ClusterCache({
    kc: opts.clients.kc,
    log: app.log.child({ component: 'cluster-cache' }),
    sessionSelector: opts.sessionSelector,
    metricsEnabled: opts.metricsEnabled,
    metricsPollMs: opts.metricsPollSeconds * 1000,
    metricsHistorySamples: opts.metricsHistorySamples,
    clock: opts.clock,
  })
  app.decorate('kube', opts.clients)
  app.decorate('cluster', cluster)
  app.decorate('clock', opts.clock)
  if (opts.startCaches) app.addHook('onReady', async () => cluster.start())
  // metricsEnabled is live (PUT P/config): the NodeMetrics poller starts or stops with it.
  app.liveOptions.onChange((next, changes) => {
    if (changes.some((c) => c.option === 'metricsEnabled')) void cluster.setMetricsEnabled(next.metricsEnabled)
  })
  app.addHook('onClose', async () => cluster.stop())
}, { name: 'kube', dependencies: ['settings'] })
