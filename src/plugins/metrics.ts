// Prometheus metrics at /metrics: process defaults, HTTP request durations, and the cluster as the
// cache sees it. Each app has its own registry so tests can build many apps in one process.
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { KubeError } from '../kube/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: { registry: Registry }
  }
}

const PREFIX = 'streamspace_node_manager_'

export default fp(async (app) => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: PREFIX })
  const httpDuration = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'HTTP request duration by route and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  })
  const kubeRequestErrors = new Counter({
    name: `${PREFIX}kube_request_errors_total`,
    help: 'Requests that failed because the Kubernetes API did (unreachable, forbidden, 5xx), by route',
    labelNames: ['route'] as const,
    registers: [registry],
  })
  new Gauge({
    name: `${PREFIX}nodes`,
    help: 'Nodes by Ready condition (Ready, NotReady, Unknown)',
    labelNames: ['phase'] as const,
    registers: [registry],
    collect() {
      const counts: Record<string, number> = { Ready: 0, NotReady: 0, Unknown: 0 }
      for (const v of app.cluster.views()) counts[v.status.phase]++
      for (const [phase, n] of Object.entries(counts)) this.set({ phase }, n)
    },
  })
  new Gauge({
    name: `${PREFIX}sessions`, help: 'Running StreamSpace session pods', registers: [registry],
    collect() { this.set(app.cluster.views().reduce((s, v) => s + v.sessions, 0)) },
  })
  new Gauge({
    name: `${PREFIX}cache_synced`, help: '1 once the node and pod watch caches have synced', registers: [registry],
    collect() { this.set(app.cluster.synced ? 1 : 0) },
  })
  new Gauge({
    name: `${PREFIX}cache_stale`, help: '1 while the Kubernetes API is unreachable and reads serve the last known state', registers: [registry],
    collect() { this.set(app.cluster.stale ? 1 : 0) },
  })
  new Gauge({
    name: `${PREFIX}metrics_api_available`, help: '1 when metrics.k8s.io answers (metrics-server present)', registers: [registry],
    collect() { this.set(app.cluster.metrics?.available ? 1 : 0) },
  })
  app.decorate('metrics', { registry })
  app.addHook('onError', async (request, _reply, err) => {
    if (err instanceof KubeError && err.statusCode >= 500) kubeRequestErrors.inc({ route: request.routeOptions.url ?? 'unmatched' })
  })
  app.addHook('onResponse', async (request, reply) => {
    httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    )
  })
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', registry.contentType)
    return registry.metrics()
  })
}, { name: 'metrics', dependencies: ['kube'] })
