// StreamSpace's own admin Nodes page, served again: /api/v1/admin/nodes and its siblings, as that
// page calls them (StreamSpace core answers them with 410 since node management moved here).
// Thin adapters over the same domain as the P routes, answering in StreamSpace's shapes
// (src/nodes/streamspace-shape.ts); errors are StreamSpace's `{message}` with the same status codes
// (a 401 stays 401: the page signs the user out on it). Registered under /api/v1 with requireAdmin.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import * as changes from '../nodes/changes.js'
import type { Actor, NodeChangeDeps } from '../nodes/changes.js'
import { DrainResult } from '../schemas/drain.js'
import { answer } from '../schemas/common.js'
import { compatNodeInfoExample as nodeExample, compatStatsExample, drainResultExample } from '../schemas/examples.js'
import {
  CompatClusterStats, CompatDrainBody, CompatKeyParams, CompatLabelBody, CompatNodeInfo, CompatNodeParams, CompatTaintBody, compatErrorAnswers,
} from '../schemas/streamspace-compat.js'
import { sendPreparedList } from './encoding.js'
import { auditToLog } from './node-changes.js'

export const COMPAT_TAG = 'streamspace-compat'

// Every error status answers {message} only: the response schema drops statusCode, error, details.
const errors = compatErrorAnswers([[404, 'No node of that name']])
const changes404 = compatErrorAnswers([[404, 'No node of that name (on DELETE: or no such label or taint)'], [409, 'The node kept changing under this write']])
const node = (description: string) => answer(CompatNodeInfo, description, nodeExample)

/**
 * CORS for StreamSpace's web app when it calls this service on another origin (VITE_API_URL):
 * its axios client sends credentials, so the Origin is reflected with Allow-Credentials. Safe: this
 * service never authenticates by cookie, only by the bearer token the page itself attaches.
 */
function corsHeaders(request: FastifyRequest, reply: FastifyReply): void {
  const origin = request.headers.origin
  if (!origin) return
  reply.header('access-control-allow-origin', origin)
  reply.header('access-control-allow-credentials', 'true')
  reply.header('vary', 'Origin')
}

/** Preflights (no token: browsers send none on OPTIONS), registered outside the auth scope. */
export const compatPreflight: FastifyPluginAsyncTypebox = async (app) => {
  const preflight = async (request: FastifyRequest, reply: FastifyReply) => {
    corsHeaders(request, reply)
    reply.header('access-control-allow-methods', 'GET, PUT, POST, DELETE')
    reply.header('access-control-allow-headers', 'Authorization, Content-Type, X-CSRF-Token')
    reply.header('access-control-max-age', '600')
    return reply.code(204).send()
  }
  app.options('/admin/nodes', { schema: { hide: true } }, preflight)
  app.options('/admin/nodes/*', { schema: { hide: true } }, preflight)
}

const compat: FastifyPluginAsyncTypebox = async (app) => {
  const nodes = app.streamspaceNodes
  const tags = [COMPAT_TAG]
  app.addHook('onSend', async (request, reply) => corsHeaders(request, reply))

  function checkCache(reply: FastifyReply): void {
    if (nodes.readable().stale) reply.header('x-cache-stale', 'true')
  }

  app.get('/admin/nodes', {
    schema: {
      tags, summary: 'All nodes as StreamSpace NodeInfo (a bare JSON array)',
      description: 'What StreamSpace\'s admin Nodes page lists, from the watch cache: prepared bytes with an ETag (304 on If-None-Match), gzip- or brotli-compressed when Accept-Encoding allows.',
      response: { 200: answer(Type.Array(CompatNodeInfo), 'Every node, by name', [nodeExample]), 304: Type.Null({ description: 'Not modified: If-None-Match named the current ETag' }), ...compatErrorAnswers() },
    },
  }, async (request, reply) => {
    checkCache(reply)
    // As P/nodes: the page fetches the list again after every action, mostly to find it unchanged.
    return sendPreparedList(request, reply, nodes)
  })

  app.get('/admin/nodes/stats', {
    schema: {
      tags, summary: 'Cluster statistics as StreamSpace ClusterStats', description: 'The totals at the top of StreamSpace\'s admin Nodes page (totalUsage absent without metrics).',
      response: { 200: answer(CompatClusterStats, 'The cluster\'s totals', compatStatsExample), ...compatErrorAnswers() },
    },
  }, async (_request, reply) => {
    checkCache(reply)
    return nodes.stats()
  })

  app.get('/admin/nodes/:name', {
    schema: { tags, summary: 'One node as StreamSpace NodeInfo', description: 'The node StreamSpace\'s page opens in its details dialog.', params: CompatNodeParams, response: { 200: node('The node'), ...errors } },
  }, async (request, reply) => {
    checkCache(reply)
    return nodes.info(request.params.name)
  })

  const deps = (request: FastifyRequest): NodeChangeDeps => app.nodeChangeDeps(auditToLog(request.log, app.httpStatusOf), request.log)
  const actor = (request: FastifyRequest): Actor => ({ username: String(request.user.username), user_id: String(request.user.user_id) })
  // Each answers the node after the change as NodeInfo.
  const nodeChanges = changes.renderedChanges((node) => nodes.infoOfChanged(node))

  app.put('/admin/nodes/:name/labels', {
    schema: { tags, summary: 'Set a label (kubectl label --overwrite)', description: 'As PUT P/nodes/{name}/labels without force: keys under kubernetes.io/ and k8s.io/ are refused (400).', params: CompatNodeParams, body: CompatLabelBody, response: { 200: node('The node after the change'), ...changes404 } },
  }, async (request) => {
    const r = await nodeChanges.setLabel(deps(request), actor(request), request.params.name, request.body.key, request.body.value)
    return r.view
  })

  app.delete('/admin/nodes/:name/labels/*', {
    schema: {
      tags, summary: 'Remove a label; the key may contain "/" as it is or percent-encoded',
      description: 'As DELETE P/nodes/{name}/labels/{key}: 404 when the node has no such label.',
      params: CompatKeyParams, response: { 200: node('The node after the change'), ...changes404 },
    },
  }, async (request) => {
    const r = await nodeChanges.removeLabel(deps(request), actor(request), request.params.name, request.params['*'])
    return r.view
  })

  app.post('/admin/nodes/:name/taints', {
    schema: { tags, summary: 'Add or replace a taint, upsert by (key, effect)', description: 'As POST P/nodes/{name}/taints without force; an empty value means none.', params: CompatNodeParams, body: CompatTaintBody, response: { 200: node('The node after the change'), ...changes404 } },
  }, async (request) => {
    const { key, value, effect } = request.body
    const r = await nodeChanges.setTaint(deps(request), actor(request), request.params.name, { key, value: value === '' ? undefined : value, effect })
    return r.view
  })

  app.delete('/admin/nodes/:name/taints/*', {
    schema: { tags, summary: 'Remove every taint with this key', description: 'As kubectl taint KEY- (every effect): 404 when the node has no taint with this key.', params: CompatKeyParams, response: { 200: node('The node after the change'), ...changes404 } },
  }, async (request) => {
    const r = await nodeChanges.removeTaint(deps(request), actor(request), request.params.name, request.params['*'], undefined)
    return r.view
  })

  for (const [path, fn, summary, description] of [
    ['cordon', nodeChanges.cordon, 'Cordon a node (kubectl cordon)', 'Marks the node unschedulable, recording who (the JWT username) and when, as POST P/nodes/{name}/cordon does without a reason. Idempotent.'],
    ['uncordon', nodeChanges.uncordon, 'Uncordon a node (kubectl uncordon)', 'Marks the node schedulable and clears the cordon annotations. Idempotent.'],
  ] as const) {
    app.post(`/admin/nodes/:name/${path}`, {
      schema: { tags, summary, description, params: CompatNodeParams, response: { 200: node('The node after the change'), ...changes404 } },
    }, async (request) => {
      const r = await fn(deps(request), actor(request), request.params.name)
      return r.view
    })
  }

  app.post('/admin/nodes/:name/drain', {
    schema: {
      tags, summary: 'Drain a node as StreamSpace did: every pod but DaemonSet and mirror pods (kubectl drain --force --delete-emptydir-data, PDBs respected); waits for the outcome',
      description: 'As POST P/nodes/{name}/drain with force and delete_emptydir_data (StreamSpace\'s own drain deleted those pods too), waiting for the outcome (up to 300 s).',
      params: CompatNodeParams, body: CompatDrainBody,
      response: {
        200: answer(DrainResult, 'Drained', drainResultExample),
        ...compatErrorAnswers([
          [404, 'No node of that name'], [409, 'Another drain of this node is running'],
          [422, 'Pods block the drain (DaemonSet pods cannot be left with ignore_daemonsets false)'], [504, 'The drain timed out: pods held by a PodDisruptionBudget are still there'],
        ]),
      },
    },
    config: { optionalBody: true },
    // StreamSpace sends {grace_period_seconds: undefined}, i.e. {}; a missing body means defaults too.
    preValidation: async (request) => {
      if (request.body === undefined) request.body = {}
    },
  }, async (request) => {
    // StreamSpace's own drain (api/internal/k8s/client.go) deleted every pod but DaemonSet and mirror
    // pods, unmanaged and emptyDir ones included, and its page expects that. Here the same pods go,
    // but through evictions that respect PodDisruptionBudgets (kubectl drain --force --delete-emptydir-data).
    const options = { grace_period_seconds: request.body.grace_period_seconds, force: true, delete_emptydir_data: true }
    const started = await app.drains.start(request.params.name, options, request.user?.username)
    return started.result
  })
}

export default compat
