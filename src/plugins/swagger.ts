// OpenAPI from the route schemas (@fastify/swagger); Swagger UI at /docs. The generated spec is
// checked in at openapi/openapi.json (npm run openapi) and a test fails when it is stale.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { ErrorResponse } from '../schemas/common.js'

const OPTIONAL_BODY = 'x-optional-body'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes a missing body as {}: documented as an optional requestBody. */
    optionalBody?: boolean
  }
}

export const API_PREFIX = '/api/plugins/streamspace-node-manager'

export default fp(async (app) => {
  app.addSchema(ErrorResponse)
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'StreamSpace Node Manager',
        version: '0.1.0',
        description: 'Kubernetes node management for StreamSpace admins: nodes, usage, labels, taints, cordon, drain.',
      },
      tags: [
        { name: 'streamspace-compat', description: "StreamSpace's own admin Nodes page (/api/v1/admin/nodes...): its NodeInfo and ClusterStats shapes, errors as {message}" },
      ],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    // A route with config.optionalBody takes a missing body as {} (the seed's clients POST without
    // one): its requestBody is documented as not required.
    transform: ({ schema, url, route }) => ({ schema: route.config?.optionalBody ? { ...schema, [OPTIONAL_BODY]: true } as typeof schema : schema, url }),
    transformObject: (documentObject) => {
      const doc = (documentObject as { openapiObject: unknown }).openapiObject as { paths?: Record<string, Record<string, { requestBody?: { required?: boolean }, [OPTIONAL_BODY]?: boolean }>> }
      for (const operations of Object.values(doc.paths ?? {})) {
        for (const op of Object.values(operations)) {
          if (!op || typeof op !== 'object' || !op[OPTIONAL_BODY]) continue
          delete op[OPTIONAL_BODY]
          if (op.requestBody) op.requestBody.required = false
        }
      }
      return doc
    },
    // Schemas with $id are referenced, not repeated inline.
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
}, { name: 'swagger' })
