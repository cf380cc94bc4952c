// Liveness and readiness, no auth: ready once the watch caches have synced.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { answer } from '../schemas/common.js'

const Probe = Type.Object({ status: Type.String(), stale: Type.Optional(Type.Boolean({ description: 'true while the Kubernetes API is unreachable and reads answer the last known state' })) })

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', {
    schema: {
      tags: ['probes'], summary: 'Liveness (no token)', description: 'Answers while the process serves requests: the Deployment\'s livenessProbe.',
      response: { 200: answer(Probe, 'Alive', { status: 'ok' }) },
    },
  }, async () => ({ status: 'ok' }))
  app.get('/readyz', {
    schema: {
      tags: ['probes'], summary: 'Readiness (no token)', description: 'Ready once the node and pod watch caches have synced: the Deployment\'s readinessProbe. Stays ready (stale: true) while the API server is unreachable after that, so reads keep answering the last known state.',
      response: {
        200: answer(Probe, 'Ready', { status: 'ready', stale: false }),
        503: answer(Probe, 'Not ready yet: the caches have not synced', { status: 'waiting for the node and pod caches to sync' }),
      },
    },
  }, async (_request, reply) => {
    if (!app.nodes.synced) return reply.code(503).send({ status: 'waiting for the node and pod caches to sync' })
    return { status: 'ready', stale: app.nodes.stale }
  })
}
export default health
