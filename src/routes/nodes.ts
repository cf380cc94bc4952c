// Node reads, all from the node read model (src/nodes/read-model.ts) over the watch caches. The full list goes out as bytes prepared once per cache
// change, with their ETag (304 on If-None-Match); the schema still documents it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { HttpError, badRequest } from '../errors.js'
import { parseSelector, SelectorError } from '../kube/selector.js'
import { commonErrors, ErrorResponse } from '../schemas/common.js'
import { ClusterStats, MetricsQuery, NodeDetail, NodeListQuery, NodeMetricsHistory, NodeParams, NodeView } from '../schemas/node.js'

/** "1h30m" -> ms */
export function parseWindow(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text)
  if (!m || text === '') throw badRequest(`querystring.window "${text}" must be a duration like 90s, 30m, 1h or 1h30m`)
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000
}

const nodes: FastifyPluginAsyncTypebox = async (app) => {
  const cluster = app.nodes

  /** Reads need a synced cache; while the API is unreachable they serve the last state, marked stale. */
  function checkCache(reply: FastifyReply): void {
    if (cluster.readable().stale) {
      reply.header('x-cache-stale', 'true')
      reply.header('warning', '110 streamspace-node-manager "Response is stale: Kubernetes API unreachable"')
    }
  }

  function notFound(name: string): HttpError {
    return new HttpError(404, `Node "${name}" not found`)
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
      const list = cluster.preparedList()
      body = list.body
      etag = list.etag
    } else {
      let selector
      try {
        selector = parseSelector(labelSelector)
      } catch (err) {
        if (err instanceof SelectorError) throw badRequest(`querystring.labelSelector: ${err.message}`)
        throw err
      }
      body = JSON.stringify(cluster.views({ selector, ready }))
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
    return cluster.stats()
  })

  app.get('/nodes/:name', {
    schema: { tags: ['nodes'], summary: 'One node in detail', params: NodeParams, response: { 200: NodeDetail, 404: ErrorResponse, ...commonErrors } },
  }, async (request, reply) => {
    checkCache(reply)
    const detail = cluster.detail(request.params.name)
    if (!detail) throw notFound(request.params.name)
    return detail
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
    if (!cluster.has(name)) throw notFound(name)
    const window = request.query.window ?? '1h'
    const windowMs = parseWindow(window)
    if (windowMs <= 0) throw badRequest('querystring.window must be longer than 0s')
    const history = cluster.usageHistory(name, app.clock.now() - windowMs)
    if (!history) throw notFound(name)
    return { node: name, window, interval_seconds: app.settings.service.metricsPollSeconds, ...history }
  })
}
export default nodes
