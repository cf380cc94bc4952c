// Node reads, all from the node read model (src/nodes/read-model.ts) over the watch caches. The
// full list goes out as bytes prepared once per cache change, with their ETag (304 on
// If-None-Match); the schema still documents it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { commonErrors, ErrorResponse } from '../schemas/common.js'
import { ClusterStats, MetricsQuery, NodeDetail, NodeListQuery, NodeMetricsHistory, NodeParams, NodeView } from '../schemas/node.js'

const nodes: FastifyPluginAsyncTypebox = async (app) => {
  const reads = app.nodes

  /** Reads need a synced cache; while the API is unreachable they serve the last state, marked stale. */
  function checkCache(reply: FastifyReply): void {
    if (reads.readable().stale) {
      reply.header('x-cache-stale', 'true')
      reply.header('warning', '110 streamspace-node-manager "Response is stale: Kubernetes API unreachable"')
    }
  }

  app.get('/nodes', {
    schema: {
      tags: ['nodes'], summary: 'List nodes with health and live usage',
      querystring: NodeListQuery,
      response: { 200: Type.Array(NodeView), 304: Type.Null({ description: 'Not modified (If-None-Match)' }), ...commonErrors },
    },
  }, async (request, reply) => {
    checkCache(reply)
    const { labelSelector, ready } = request.query
    let body: Buffer | string
    let etag: string | undefined
    if (labelSelector === undefined && ready === undefined) {
      const list = reads.preparedList()
      body = list.body
      etag = list.etag
    } else {
      body = JSON.stringify(reads.filteredViews({ labelSelector, ready }))
    }
    if (etag) {
      reply.header('etag', etag)
      const inm = request.headers['if-none-match']
      // No payload at all: a 304 has no body, so nothing must be serialized (not even "null").
      if (inm && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) return reply.code(304).send(undefined as unknown as null)
    }
    // Prepared JSON: Fastify sends a Buffer or a JSON-typed string as it is, without re-serializing.
    return reply.type('application/json; charset=utf-8').send(body as unknown as NodeView[])
  })

  app.get('/nodes/stats', {
    schema: { tags: ['nodes'], summary: 'Cluster statistics', response: { 200: ClusterStats, ...commonErrors } },
  }, async (_request, reply) => {
    checkCache(reply)
    return reads.stats()
  })

  app.get('/nodes/:name', {
    schema: { tags: ['nodes'], summary: 'One node in detail', params: NodeParams, response: { 200: NodeDetail, 404: ErrorResponse, ...commonErrors } },
  }, async (request, reply) => {
    checkCache(reply)
    return reads.detail(request.params.name)
  })

  app.get('/nodes/:name/metrics', {
    schema: {
      tags: ['nodes'], summary: 'Usage history of one node (from metrics.k8s.io, sampled in memory)',
      params: NodeParams, querystring: MetricsQuery,
      response: { 200: NodeMetricsHistory, 404: ErrorResponse, ...commonErrors },
    },
  }, async (request, reply) => {
    checkCache(reply)
    const { name } = request.params
    const window = request.query.window ?? '1h'
    const history = reads.usageHistory(name, window)
    return { node: name, window, interval_seconds: app.settings.service.metricsPollSeconds, ...history }
  })
}
export default nodes
