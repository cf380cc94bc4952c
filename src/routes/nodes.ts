// Node reads, all from the node read model (src/nodes/read-model.ts) over the watch caches. The
// full list goes out as bytes prepared once per cache change, with their ETag (304 on
// If-None-Match), gzip- or brotli-compressed when the client accepts it (Vary: Accept-Encoding);
// the schema still documents it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { answer, errorAnswers } from '../schemas/common.js'
import { clusterStatsExample, metricsHistoryExample, nodeDetailExample, nodeListExample } from '../schemas/examples.js'
import { ClusterStats, MetricsQuery, NodeDetail, NodeListQuery, NodeMetricsHistory, NodeParams, NodeView } from '../schemas/node.js'
import { sendPreparedList } from './encoding.js'

/** This request's path and query with `continue` set: the next page's URL (relative, so it holds behind the gateway). */
function withContinue(requestUrl: string, token: string): string {
  const url = new URL(requestUrl, 'http://localhost')
  url.searchParams.set('continue', token)
  return url.pathname + url.search
}

const nodes: FastifyPluginAsyncTypebox = async (app) => {
  const reads = app.nodes

  // Every read here needs a synced cache (503 before); while the API is unreachable they serve the
  // last state, marked stale.
  app.addHook('preHandler', async (_request, reply) => {
    if (reads.readable().stale) {
      reply.header('x-cache-stale', 'true')
      reply.header('warning', '110 streamspace-node-manager "Response is stale: Kubernetes API unreachable"')
    }
  })

  app.get('/nodes', {
    schema: {
      tags: ['nodes'], summary: 'List nodes with health and live usage',
      description: 'Every node as a NodeView, from the watch cache (no call to the API server). The whole list carries an ETag (304 on If-None-Match) and is gzip- or brotli-compressed when Accept-Encoding allows; with labelSelector, ready or fieldSelector (spec.unschedulable) it is filtered for this request (no ETag). With limit (and continue) it answers one page of a kept snapshot, the URL of the next page in a Link rel="next" header; a continue token whose snapshot is gone is 410. While the Kubernetes API is unreachable the last known list is answered with X-Cache-Stale: true and a Warning header.',
      querystring: NodeListQuery,
      response: {
        200: answer(Type.Array(NodeView), 'The nodes, by name', nodeListExample),
        304: Type.Null({ description: 'Not modified: If-None-Match named the current ETag' }),
        ...errorAnswers([[400, 'labelSelector, fieldSelector or limit is not valid (the message says which and where)'], [410, 'the continue token\'s snapshot is gone: start again without continue']]),
      },
    },
  }, async (request, reply) => {
    const query = request.query
    if (query.limit !== undefined || query.continue !== undefined) {
      // A page, from one snapshot; the next one's URL in the Link header while more remain.
      const page = reads.page(query)
      if (page.continue) reply.header('link', `<${withContinue(request.url, page.continue)}>; rel="next"`)
      return reply.type('application/json; charset=utf-8').send(page.body as unknown as NodeView[])
    }
    if (query.labelSelector !== undefined || query.ready !== undefined || query.fieldSelector !== undefined) {
      // Filtered: rendered for this request from the cached views (no ETag, not compressed).
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(reads.filteredViews(query)) as unknown as NodeView[])
    }
    return sendPreparedList(request, reply, reads)
  })

  app.get('/nodes/stats', {
    schema: {
      tags: ['nodes'], summary: 'Cluster statistics',
      description: 'Node counts, total capacity and allocatable (exact quantity sums), pods and sessions, and usage weighted by allocatable (null without metrics), from the watch cache.',
      response: { 200: answer(ClusterStats, 'The cluster\'s totals', clusterStatsExample), ...errorAnswers() },
    },
  }, async () => reads.stats())

  app.get('/nodes/:name', {
    schema: {
      tags: ['nodes'], summary: 'One node in detail',
      description: 'The NodeView plus annotations, conditions, addresses, node info, the resources its pods request (as kubectl describe shows them) and its pods.',
      params: NodeParams,
      response: { 200: answer(NodeDetail, 'The node', nodeDetailExample), ...errorAnswers([[404, 'No node of that name']]) },
    },
  }, async (request) => reads.detail(request.params.name))

  app.get('/nodes/:name/metrics', {
    schema: {
      tags: ['nodes'], summary: 'Usage history of one node (from metrics.k8s.io, sampled in memory)',
      description: 'The samples this replica took of the node\'s metrics.k8s.io usage over the window (default 1h), oldest first; available is false when metrics-server does not answer.',
      params: NodeParams, querystring: MetricsQuery,
      response: {
        200: answer(NodeMetricsHistory, 'The node\'s usage samples', metricsHistoryExample),
        ...errorAnswers([[400, 'window is not a duration such as 90s, 30m, 1h30m'], [404, 'No node of that name']]),
      },
    },
  }, async (request) => {
    const { name } = request.params
    const window = request.query.window ?? '1h'
    const history = reads.usageHistory(name, window)
    return { node: name, window, interval_seconds: app.settings.service.metricsPollSeconds, ...history }
  })
}
export default nodes
