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
import {
  CompatClusterStats, CompatDrainBody, CompatError, CompatKeyParams, CompatLabelBody, CompatNodeInfo, CompatNodeParams, CompatTaintBody,
} from '../schemas/streamspace-compat.js'
import { encodedEtag, negotiateEncoding, noneMatch } from './encoding.js'
import { auditToLog } from './node-changes.js'

export const COMPAT_TAG = 'streamspace-compat'

// Every error status answers {message} only: the response schema drops statusCode, error, details.
const errors = { '4xx': CompatError, '5xx': CompatError }

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
      tags, summary: 'All nodes as StreamSpace NodeInfo (a bare JSON array); ETag, 304 on If-None-Match, gzip or br when accepted',
      response: { 200: Type.Array(CompatNodeInfo), 304: Type.Null({ description: 'Not modified (If-None-Match)' }), ...errors },
    },
  }, async (request, reply) => {
    checkCache(reply)
    // As P/nodes: prepared bytes and their compressed forms, made once per change; the page
    // fetches the list again after every action, mostly to find it unchanged.
    const list = nodes.preparedList()
    reply.header('vary', 'Accept-Encoding')
    const encoding = negotiateEncoding(request.headers['accept-encoding'])
    const encodedTag = encodedEtag(list.etag, encoding)
    if (noneMatch(request.headers['if-none-match'], encodedTag)) {
      reply.header('etag', encodedTag)
      return reply.code(304).send(undefined as unknown as null)
    }
    let body = list.body
    let etag = list.etag
    if (encoding) {
      const compressed = await nodes.encodedList(list, encoding).catch((err: unknown) => {
        request.log.warn({ err, encoding }, 'compressing the StreamSpace node list failed: answering uncompressed')
        return undefined
      })
      if (compressed) {
        body = compressed
        etag = encodedTag
        reply.header('content-encoding', encoding)
      }
    }
    reply.header('etag', etag)
    // Prepared JSON: sent as it is, without re-serializing 5,000 items.
    return reply.type('application/json; charset=utf-8').send(body as unknown as CompatNodeInfo[])
  })

  app.get('/admin/nodes/stats', {
    schema: { tags, summary: 'Cluster statistics as StreamSpace ClusterStats', response: { 200: CompatClusterStats, ...errors } },
  }, async (_request, reply) => {
    checkCache(reply)
    return nodes.stats()
  })

  app.get('/admin/nodes/:name', {
    schema: { tags, summary: 'One node as StreamSpace NodeInfo', params: CompatNodeParams, response: { 200: CompatNodeInfo, ...errors } },
  }, async (request, reply) => {
    checkCache(reply)
    return nodes.info(request.params.name)
  })

  const deps = (request: FastifyRequest): NodeChangeDeps => app.nodeChangeDeps(auditToLog(request.log, app.httpStatusOf), request.log)
  const actor = (request: FastifyRequest): Actor => ({ username: String(request.user.username), user_id: String(request.user.user_id) })
  const changed = (node: Parameters<typeof nodes.infoOfChanged>[0]) => nodes.infoOfChanged(node)

  app.put('/admin/nodes/:name/labels', {
    schema: { tags, summary: 'Set a label (kubectl label --overwrite)', params: CompatNodeParams, body: CompatLabelBody, response: { 200: CompatNodeInfo, ...errors } },
  }, async (request) => {
    const r = await changes.setLabel(deps(request), actor(request), request.params.name, request.body.key, request.body.value)
    return changed(r.node)
  })

  app.delete('/admin/nodes/:name/labels/*', {
    schema: {
      tags, summary: 'Remove a label; the key may contain "/" as it is or percent-encoded',
      params: CompatKeyParams, response: { 200: CompatNodeInfo, ...errors },
    },
  }, async (request) => {
    const r = await changes.removeLabel(deps(request), actor(request), request.params.name, request.params['*'])
    return changed(r.node)
  })

  app.post('/admin/nodes/:name/taints', {
    schema: { tags, summary: 'Add or replace a taint, upsert by (key, effect)', params: CompatNodeParams, body: CompatTaintBody, response: { 200: CompatNodeInfo, ...errors } },
  }, async (request) => {
    const { key, value, effect } = request.body
    const r = await changes.setTaint(deps(request), actor(request), request.params.name, { key, value: value === '' ? undefined : value, effect })
    return changed(r.node)
  })

  app.delete('/admin/nodes/:name/taints/*', {
    schema: { tags, summary: 'Remove every taint with this key', params: CompatKeyParams, response: { 200: CompatNodeInfo, ...errors } },
  }, async (request) => {
    const r = await changes.removeTaint(deps(request), actor(request), request.params.name, request.params['*'], undefined)
    return changed(r.node)
  })

  for (const [path, fn, summary] of [
    ['cordon', changes.cordon, 'Cordon a node (kubectl cordon)'],
    ['uncordon', changes.uncordon, 'Uncordon a node (kubectl uncordon)'],
  ] as const) {
    app.post(`/admin/nodes/:name/${path}`, {
      schema: { tags, summary, params: CompatNodeParams, response: { 200: CompatNodeInfo, ...errors } },
    }, async (request) => {
      const r = await fn(deps(request), actor(request), request.params.name)
      return changed(r.node)
    })
  }

  app.post('/admin/nodes/:name/drain', {
    schema: {
      tags, summary: 'Drain a node as StreamSpace did: every pod but DaemonSet and mirror pods (kubectl drain --force --delete-emptydir-data, PDBs respected); waits for the outcome',
      params: CompatNodeParams, body: CompatDrainBody, response: { 200: DrainResult, ...errors },
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
