// Prometheus metrics at /metrics: process defaults, HTTP request durations, and the cluster as the
// cache sees it. Each app has its own registry so tests can build many apps in one process.
// The cluster's series (per node and totals, thousands at scale) are not prom-client gauges set on
// every change: they are rendered at scrape time from the watch cache (src/nodes/node-series.ts),
// appended by the registry to what prom-client renders, so registry.metrics() has everything.
import { Readable } from 'node:stream'
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { isClusterFailure } from '../kube/errors.js'
import type { Reflector } from '../kube/reflector.js'
import { METRIC_PREFIX as PREFIX, NodeSeries, PER_NODE_AUTO_LIMIT, escapeLabel, perNodeSeriesOn } from '../nodes/node-series.js'

/** A prom-client registry that also renders text producers (custom collectors) after its own metrics. */
export class ScrapeRegistry extends Registry {
  private readonly producers: (() => string | readonly Buffer[])[] = []

  /**
   * `produce` returns whole metric families (# HELP, # TYPE, samples), each line ending in a newline:
   * as a string, or as byte chunks to be sent one after another.
   */
  addProducer(produce: () => string | readonly Buffer[]): void {
    this.producers.push(produce)
  }

  override async metrics(): Promise<string> {
    return Buffer.concat(await this.metricsChunks()).toString()
  }

  /** The whole exposition as byte chunks, in order (what /metrics streams: large producers' bytes are neither re-encoded nor copied). */
  async metricsChunks(): Promise<Buffer[]> {
    const chunks: Buffer[] = [Buffer.from(await super.metrics())]
    for (const produce of this.producers) {
      const out = produce()
      if (typeof out === 'string') chunks.push(Buffer.from(out))
      else chunks.push(...out)
    }
    return chunks
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: { registry: ScrapeRegistry }
  }
}

/** Watch restarts of the cache's reflectors (src/kube/reflector.ts counts them), by resource, as a counter family. */
function watchRestarts(reflectors: Record<string, Pick<Reflector<unknown>, 'restarts'>>): string {
  const name = `${PREFIX}watch_restarts_total`
  let out = `# HELP ${name} Watches of the cache that had to be restarted (failed, ERROR event, 410 Gone, or ended at once with nothing), by resource\n# TYPE ${name} counter\n`
  for (const [resource, r] of Object.entries(reflectors)) out += `${name}{resource="${escapeLabel(resource)}"} ${r.restarts}\n`
  return out
}

export default fp(async (app) => {
  const registry = new ScrapeRegistry()
  collectDefaultMetrics({ register: registry, prefix: PREFIX })
  // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool flags
  // them); the same figures remain by type in nodejs_active_handles, _requests and _resources.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(PREFIX + name)
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
  const cluster = app.cluster
  // METRICS_PER_NODE: decided at each scrape from the node count; each change of the decision is logged.
  const mode = app.settings.service.metricsPerNode
  let perNode: boolean | undefined
  const perNodeFor = (nodes: number): boolean => {
    const on = perNodeSeriesOn(mode, nodes)
    if (on !== perNode) {
      perNode = on
      const fields: Record<string, unknown> = { metricsPerNode: mode, nodes }
      if (on) app.log.info(fields, String(`per-node series on /metrics: on (METRICS_PER_NODE=${mode}, ${nodes} nodes)`))
      else if (mode === 'off') app.log.info(fields, 'per-node series on /metrics: off (METRICS_PER_NODE=off); cluster totals only')
      else app.log.warn(fields, `per-node series on /metrics: off, ${nodes} nodes is above ${PER_NODE_AUTO_LIMIT} (METRICS_PER_NODE=auto); cluster totals only. METRICS_PER_NODE=on exports them anyway`)
    }
    return on
  }
  new Gauge({
    name: `${PREFIX}metrics_per_node`,
    help: `1 when /metrics has the per-node series (labelled node); 0 when METRICS_PER_NODE turned them off (off, or auto above ${PER_NODE_AUTO_LIMIT} nodes)`,
    registers: [registry],
    collect() { this.set(perNodeFor(cluster.nodes.size) ? 1 : 0) },
  })
  // Said in the log once the caches have synced (the node count is known), not only at the first scrape.
  void cluster.whenSynced().then(() => perNodeFor(cluster.nodes.size), () => undefined)
  const series = new NodeSeries({
    nodes: () => cluster.nodes.values(),
    podsOnNode: (name) => cluster.podsOn(name),
    podsVersionOf: (name) => cluster.podsVersionOf(name),
    usage: (name) => cluster.usage(name),
  }, perNodeFor)
  registry.addProducer(() => series.renderChunks())
  registry.addProducer(() => watchRestarts({ nodes: cluster.nodeReflector, pods: cluster.podReflector }))
  app.decorate('metrics', { registry })
  app.addHook('onError', async (request, _reply, err) => {
    if (isClusterFailure(err)) kubeRequestErrors.inc({ route: request.routeOptions.url ?? 'unmatched' })
  })
  app.addHook('onResponse', (request, reply, done) => {
    httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    )
    done()
  })
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', registry.contentType)
    // Streamed chunk by chunk (chunked transfer encoding): the kept blocks are written as they are.
    return Readable.from(await registry.metricsChunks(), { objectMode: false })
  })
}, { name: 'metrics', dependencies: ['settings', 'kube'] })
