// Liveness and readiness, no auth: ready once the watch caches have synced.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const Probe = Type.Object({ status: Type.String(), stale: Type.Optional(Type.Boolean()) })

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', { schema: { tags: ['probes'], response: { 200: Probe } } }, async () => ({ status: 'ok' }))
  app.get('/readyz', { schema: { tags: ['probes'], response: { 200: Probe, 503: Probe } } }, async (_request, reply) => {
    if (!app.nodes.synced) return reply.code(503).send({ status: 'waiting for the node and pod caches to sync' })
    return { status: 'ready', stale: app.nodes.stale }
  })
}
export default health
