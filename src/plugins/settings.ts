// The configuration, for routes and domain wiring (`app.settings`). `app.settings.options` are the
// live seed options (file and environment, then what PUT P/config persisted: plugins/runtime-config.ts);
// read them at the time of use, or subscribe with `app.liveOptions.onChange`.
import fp from 'fastify-plugin'
import { LiveOptions, type Config } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    settings: Config
    liveOptions: LiveOptions
  }
}

export default fp<{ config: Config }>(async (app, opts) => {
  const live = new LiveOptions(opts.config.options)
  const settings: Config = {
    service: opts.config.service,
    get options() { return live.current },
  }
  app.decorate('settings', settings)
  app.decorate('liveOptions', live)
}, { name: 'settings' })
