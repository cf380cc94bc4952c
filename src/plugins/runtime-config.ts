// Runtime configuration (`app.runtimeConfig`): the seed options persisted by PUT P/config in a
// ConfigMap in the service's namespace, watched by every replica; each change goes into
// `app.settings.options` (app.liveOptions), which health, selection and autoscaling read live.
import fp from 'fastify-plugin'
import { RuntimeConfig } from '../kube/runtime-config.js'

declare module 'fastify' {
  interface FastifyInstance {
    runtimeConfig: RuntimeConfig
  }
}

export interface RuntimeConfigPluginOptions {
  /** The service's namespace (POD_NAMESPACE, else the kubeconfig context's, else streamspace). */
  namespace: string
  /** false: no watch (OpenAPI generation). */
  start: boolean
  /** How long start-up waits for the first read of the ConfigMap before serving with file/env options. Default 5 s. */
  firstSyncTimeoutMs?: number
}

export default fp<RuntimeConfigPluginOptions>(async (app, opts) => {
  const store = new RuntimeConfig({
    kc: app.kube.kc,
    clients: app.kube,
    namespace: opts.namespace,
    base: app.settings.options,
    live: app.liveOptions,
    log: app.log.child({ component: 'runtime-config' }),
    clock: app.clock,
  })
  app.decorate('runtimeConfig', store)
  if (opts.start) {
    // Before the other onReady hooks (caches, leader election) start, so they begin with the persisted options.
    app.addHook('onReady', async () => {
      store.start()
      await store.firstSync(opts.firstSyncTimeoutMs ?? 5000)
      if (!store.synced) app.log.warn({ err: store.lastError }, 'runtime configuration not read yet: serving with the file/environment options until it is')
    })
  }
  app.addHook('onClose', async () => store.stop())
}, { name: 'runtime-config', dependencies: ['kube', 'settings'] })
