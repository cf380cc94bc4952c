// buildApp: the whole service as a Fastify instance, given its configuration and a Kubernetes
// connection. server.ts runs it; tests build it in-process against a simulated or real cluster.
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import pino from 'pino'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import type { KubeClients } from './kube/client.js'
import { systemClock, type Clock } from './clock.js'
import errors, { BODY_LIMIT_BYTES, frameworkErrors } from './plugins/errors.js'
import { buildValidator } from './plugins/validation.js'
import securityHeaders from './plugins/security-headers.js'
import { OneLinePerRequest } from './plugins/request-log.js'
import settings from './plugins/settings.js'
import auth from './plugins/auth.js'
import sessionStore from './plugins/session-store.js'
import kube from './plugins/kube.js'
import nodeReads from './plugins/nodes.js'
import metrics from './plugins/metrics.js'
import swagger, { API_PREFIX } from './plugins/swagger.js'
import health from './routes/health.js'
import nodes from './routes/nodes.js'
import drainRoutes from './routes/drain.js'
import drains from './plugins/drain.js'
import changeRateLimit from './plugins/rate-limit.js'
import nodeChanges from './routes/node-changes.js'
import healthMonitor from './plugins/health.js'
import clusterHealth from './routes/cluster-health.js'
import selection from './plugins/selection.js'
import runtimeConfig from './plugins/runtime-config.js'
import configRoutes from './routes/config.js'
import selectionRoutes from './routes/selection.js'
import streamspaceCompat, { compatPreflight } from './routes/streamspace-compat.js'
import streamspaceNodes from './plugins/streamspace-compat.js'
import ui from './plugins/ui.js'
import maintenance from './plugins/maintenance.js'
import maintenanceRoutes from './routes/maintenance.js'
import autoscaling from './plugins/autoscaling.js'
import autoscalingRoutes from './routes/autoscaling.js'

export { API_PREFIX }

/** Log lines reach stdout in writes of 4 KiB, at most 100 ms late: a write per line was a system call per request. */
const LOG_BATCH_BYTES = 4096
const LOG_FLUSH_MS = 100

export interface AppOptions {
  config: Config
  kube: KubeClients
  /** HS256 secret for StreamSpace JWTs at start (server.ts decides where it comes from; with JWT_SECRET_FILE the file's content, followed from then on). */
  jwtSecret: string
  clock?: Clock
  /** Where log lines go (default stdout); tests capture them. Tokens and cookies are always redacted. */
  logStream?: { write(line: string): void }
  /** false: do not start the watch caches (OpenAPI generation needs no cluster). */
  startCaches?: boolean
  /** Where our Lease lives (connectKube resolves it); default POD_NAMESPACE, else streamspace. */
  namespace?: string
  /** Uniform in [0, 1) for the random node selection strategy (tests pass a seeded one). */
  random?: () => number
  /** Where the built admin UI is (default dist/ui). */
  uiDir?: string
  /** How often the leader looks at every maintenance plan again beside watching them (default 60 s). */
  maintenanceSyncMs?: number
}

export async function buildApp(opts: AppOptions) {
  const app = Fastify({
    logger: {
      level: opts.config.service.logLevel,
      redact: ['req.headers.authorization', 'req.headers.cookie'],
      stream: opts.logStream ?? pino.destination({ sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS }),
    },
    // Batched writes (pino's asynchronous destination: a write per 4 KiB of lines or per 100 ms,
    // flushed on exit) and one line per request.
    logController: new OneLinePerRequest(),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Bodies validated as sent, query and params coerced; rules the domain words better left to it.
    schemaController: { compilersFactory: { buildValidator } },
    forceCloseConnections: true,
    bodyLimit: BODY_LIMIT_BYTES,
    // A StreamSpace token carries its user's groups and can outgrow Node's 16 KiB header limit; such a
    // token must get a 401 or a 200 from us, not Node's bare 431. Beyond 128 KiB, 431 it is.
    http: { maxHeaderSize: 128 * 1024 },
    // Every valid name must be addressable: node names up to 253 characters, label and taint keys
    // up to 317 (a 253-character DNS prefix, "/", a 63-character name), percent-encoded ("/" is
    // %2F). Fastify's default of 100 would answer 414 for valid nodes.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors,
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })

  await app.register(errors)
  await app.register(securityHeaders)
  await app.register(settings, { config: opts.config })
  await app.register(auth, {
    secret: opts.jwtSecret,
    issuer: opts.config.service.jwtIssuer,
    secretFile: opts.config.service.jwtSecretFile,
    graceMs: opts.config.service.jwtSecretGraceSeconds * 1000,
    clock: opts.clock,
  })
  await app.register(kube, {
    clients: opts.kube,
    clock: opts.clock ?? systemClock,
    sessionSelector: opts.config.service.sessionLabelSelector,
    metricsEnabled: opts.config.options.metricsEnabled,
    metricsPollSeconds: opts.config.service.metricsPollSeconds,
    metricsHistorySamples: opts.config.service.metricsHistorySamples,
    startCaches: opts.startCaches ?? true,
  })
  await app.register(nodeReads)
  await app.register(runtimeConfig, { namespace: opts.namespace ?? opts.config.service.podNamespace ?? 'streamspace', start: opts.startCaches ?? true })
  await app.register(streamspaceNodes)
  await app.register(changeRateLimit, { max: opts.config.service.changeRateLimitMax, timeWindowMs: opts.config.service.changeRateLimitWindowSeconds * 1000 })
  await app.register(metrics)
  await app.register(sessionStore, {
    url: opts.config.service.sessionStoreUrl,
    cacheMs: opts.config.service.sessionStoreCacheSeconds * 1000,
    timeoutMs: opts.config.service.sessionStoreTimeoutMs,
    clock: opts.clock,
  })
  await app.register(drains, { sessionSelector: opts.config.service.sessionLabelSelector })
  await app.register(healthMonitor, { namespace: opts.namespace ?? opts.config.service.podNamespace ?? 'streamspace', start: opts.startCaches ?? true })
  await app.register(selection, { random: opts.random, namespace: opts.namespace ?? opts.config.service.podNamespace ?? 'streamspace' })
  await app.register(maintenance, { namespace: opts.namespace ?? opts.config.service.podNamespace ?? 'streamspace', syncIntervalMs: opts.maintenanceSyncMs, start: opts.startCaches ?? true })
  await app.register(autoscaling, { namespace: opts.namespace ?? opts.config.service.podNamespace ?? 'streamspace', start: opts.startCaches ?? true })
  await app.register(swagger)
  await app.register(health)
  await app.register(ui, { dir: opts.uiDir })

  // Everything under the StreamSpace plugin prefix needs an admin JWT.
  await app.register(async (api) => {
    api.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, security: [{ bearerAuth: [] }] }
      api.limitWrites(route)
    })
    api.addHook('onRequest', api.requireAdmin)
    await api.register(nodes)
    await api.register(drainRoutes)
    await api.register(nodeChanges)
    await api.register(clusterHealth)
    await api.register(selectionRoutes)
    await api.register(configRoutes)
    await api.register(maintenanceRoutes)
    await api.register(autoscalingRoutes)
  }, { prefix: API_PREFIX })

  // StreamSpace's own admin Nodes page calls /api/v1/admin/nodes...: same admin JWT.
  await app.register(async (compat) => {
    compat.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, security: [{ bearerAuth: [] }] }
      compat.limitWrites(route)
    })
    compat.addHook('onRequest', compat.requireAdmin)
    await compat.register(streamspaceCompat)
  }, { prefix: '/api/v1' })
  await app.register(compatPreflight, { prefix: '/api/v1' })

  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
