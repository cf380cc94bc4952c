// OpenAPI from the route schemas (@fastify/swagger); Swagger UI at /docs. The generated spec is
// checked in at openapi/openapi.json (npm run openapi) and a test fails when it is stale.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifySchema } from 'fastify'
import { ErrorResponse, errorAnswer } from '../schemas/common.js'
import { CompatError, WILDCARD_DOC_NAME } from '../schemas/streamspace-compat.js'

const OPTIONAL_BODY = 'x-optional-body'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes a missing body as {}: documented as an optional requestBody. */
    optionalBody?: boolean
  }
}

export const API_PREFIX = '/api/plugins/streamspace-node-manager'

/**
 * The route's schema as the document shows it: errors another plugin added inline (the rate
 * limit's 429) referenced like every other, and a wildcard path parameter named for what it holds.
 */
export function documentedRoute(schema: FastifySchema, url: string): { schema: FastifySchema; url: string } {
  if (!schema) return { schema, url } // a route without a schema
  const response = schema.response as Record<string, unknown> | undefined
  let out = schema
  if (response && Object.values(response).includes(ErrorResponse)) {
    const refs = Object.entries(response).map(([status, s]) => [status, s === ErrorResponse ? errorAnswer(Number(status)) : s])
    out = { ...out, response: Object.fromEntries(refs) }
  }
  const params = schema.params as { properties?: Record<string, unknown>, required?: string[] } | undefined
  if (url.endsWith('/*') && params?.properties?.['*']) {
    const { '*': wildcard, ...named } = params.properties
    out = { ...out, params: { ...params, properties: { ...named, [WILDCARD_DOC_NAME]: wildcard }, required: (params.required ?? []).map((r) => (r === '*' ? WILDCARD_DOC_NAME : r)) } }
    url = `${url.slice(0, -1)}:${WILDCARD_DOC_NAME}`
  }
  return { schema: out, url }
}

export default fp(async (app) => {
  app.addSchema(ErrorResponse)
  app.addSchema(CompatError)
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'StreamSpace Node Manager',
        version: '0.1.0',
        description: 'Kubernetes node management for StreamSpace admins: nodes, usage, labels, taints, cordon, drain, node selection, cluster health, autoscaling recommendations, session-aware maintenance plans, and runtime options. Every path under /api/plugins/streamspace-node-manager and /api/v1/admin/nodes needs a StreamSpace JWT with role admin (Authorization: Bearer). Errors are ErrorResponse ({statusCode, error, message, details?}); on StreamSpace\'s own paths, StreamSpaceError ({message}).',
      },
      tags: [
        { name: 'nodes', description: 'Node reads (from the watch caches) and changes: labels, taints, cordon, node selection' },
        { name: 'drain', description: 'Draining a node as kubectl drain does, run by the leader' },
        { name: 'health', description: 'Nodes with problems, alerts, the leader' },
        { name: 'autoscaling', description: 'Utilization and the scaling recommendation' },
        { name: 'config', description: 'The seed options, changed at run time' },
        { name: 'maintenance', description: 'Session-aware maintenance plans over several nodes' },
        { name: 'streamspace-compat', description: "StreamSpace's own admin Nodes page (/api/v1/admin/nodes...): its NodeInfo and ClusterStats shapes, errors as {message}" },
        { name: 'probes', description: 'Liveness and readiness, without a token' },
      ],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    // A route with config.optionalBody takes a missing body as {} (the seed's clients POST without
    // one): its requestBody is documented as not required.
    transform: ({ schema, url, route }) => {
      const documented = documentedRoute(schema, url)
      return { schema: route.config?.optionalBody ? { ...documented.schema, [OPTIONAL_BODY]: true } as typeof schema : documented.schema, url: documented.url }
    },
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
