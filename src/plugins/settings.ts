// The loaded configuration, for routes and domain wiring (`app.settings`).
import fp from 'fastify-plugin'
import type { Config } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    settings: Config
  }
}

export default fp<{ config: Config }>(async (app, opts) => {
  app.decorate('settings', opts.config)
}, { name: 'settings' })
