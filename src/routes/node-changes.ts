// Labels, taints and cordon: thin routes over src/nodes/changes.ts. Each answers with the node as
// it is after the change. Every mutating route is rate-limited per user (plugins/rate-limit.ts)
// and audited: the domain reports each attempt, logged here with the request.
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { answer, errorAnswers, withExample } from '../schemas/common.js'
import { cordonedNodeExample, nodeViewExample, taintChangeExample } from '../schemas/examples.js'
import { NodeParams, NodeView } from '../schemas/node.js'
import {
  CordonBody, DeleteLabelQuery, DeleteTaintQuery, LabelKeyParams, SetLabelBody, SetTaintBody, TaintChangeResult, TaintKeyParams,
} from '../schemas/node-changes.js'
import type { FailureKind } from '../errors.js'
import * as changes from '../nodes/changes.js'
import type { Actor, AuditEntry, NodeChangeDeps, RenderedChange } from '../nodes/changes.js'

const errors = errorAnswers([
  [400, 'Bad input: the message names the field and the Kubernetes rule it breaks (or a system-managed key without force)'],
  [404, 'No node of that name (or, on DELETE, no such label or taint)'],
  [409, 'The node kept changing under this write (resourceVersion conflicts on every retry)'],
  429,
])
/** The node as it is after the change. */
const changed = (example: NodeView, what: string) => answer(NodeView, `The node after ${what}`, example)

/**
 * The audit trail goes to the log: one line per change attempt, with who, what, node, outcome and
 * the status code answered.
 */
export function auditToLog(log: FastifyBaseLogger, statusOf: (kind: FailureKind | undefined) => number) {
  return (entry: AuditEntry) => {
    const line = `audit: ${entry.actor.username} ${entry.action} on node ${entry.node}: ${entry.outcome}`
    const status_code = entry.outcome === 'changed' || entry.outcome === 'unchanged' ? 200 : statusOf(entry.failure)
    if (entry.outcome === 'failed') log.warn({ audit: { ...entry, status_code } }, line)
    else log.info({ audit: { ...entry, status_code } }, line)
  }
}

const routes: FastifyPluginAsyncTypebox = async (fastify) => {
  const deps = (request: FastifyRequest): NodeChangeDeps => fastify.nodeChangeDeps(auditToLog(request.log, fastify.httpStatusOf), request.log)
  const actor = (request: FastifyRequest): Actor => ({ username: String(request.user.username), user_id: String(request.user.user_id) })
  // Each answers the node as the write returned it (client-node model: same fields, Dates for times) as a NodeView.
  const nodeChanges = changes.renderedChanges(fastify.nodes.viewOf.bind(fastify.nodes))
  const common = { tags: ['nodes'], security: [{ bearerAuth: [] }] }
  /** RFC 9111 Warning headers for what went wrong around a change that was made. */
  const warn = (reply: FastifyReply, r: RenderedChange<NodeView>) => {
    for (const w of r.warnings) reply.header('warning', `299 streamspace-node-manager "${w.replaceAll('"', "'")}"`)
  }

  fastify.put('/nodes/:name/labels', {
    schema: {
      ...common,
      summary: 'Set a label on a node',
      description: 'Sets key=value (kubectl label --overwrite), as a merge patch of metadata.labels. Idempotent. Records an Event on the node.',
      params: NodeParams,
      body: withExample(SetLabelBody, { key: 'example.com/pool', value: 'gpu' }),
      response: { 200: changed({ ...nodeViewExample, labels: { ...nodeViewExample.labels, 'example.com/pool': 'gpu' } }, 'the label is set'), ...errors },
    },
  }, async (request, reply) => {
    const { key, value, force } = request.body
    const r = await nodeChanges.setLabel(deps(request), actor(request), request.params.name, key, value, { force })
    warn(reply, r)
    return r.view
  })

  fastify.delete('/nodes/:name/labels/:key', {
    schema: {
      ...common,
      summary: 'Remove a label from a node',
      description: 'Removes the label (kubectl label KEY-). 404 when the node has no such label. Keys with "/" are percent-encoded in the path.',
      params: LabelKeyParams,
      querystring: DeleteLabelQuery,
      response: { 200: changed(nodeViewExample, 'the label is removed'), ...errors },
    },
  }, async (request, reply) => {
    const r = await nodeChanges.removeLabel(deps(request), actor(request), request.params.name, request.params.key, { force: request.query.force })
    warn(reply, r)
    return r.view
  })

  fastify.post('/nodes/:name/taints', {
    schema: {
      ...common,
      summary: 'Add or replace a taint on a node',
      description: 'Upsert by (key, effect), as kubectl taint --overwrite: the taint goes first, the others keep their order. For NoExecute the answer counts the pods it evicts (affected_pods).',
      params: NodeParams,
      body: withExample(SetTaintBody, { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }),
      response: { 200: answer(TaintChangeResult, 'The node after the change; for NoExecute, with the pods it evicts', taintChangeExample), ...errors },
    },
  }, async (request, reply) => {
    const { key, value, effect, force } = request.body
    const r = await nodeChanges.setTaint(deps(request), actor(request), request.params.name, { key, value, effect }, { force })
    warn(reply, r)
    return r.affectedPods === undefined ? r.view : { ...r.view, affected_pods: r.affectedPods }
  })

  fastify.delete('/nodes/:name/taints/:key', {
    schema: {
      ...common,
      summary: 'Remove a taint from a node',
      description: 'Removes the taint with this key and ?effect= (kubectl taint KEY:EFFECT-), or every taint with the key without it (kubectl taint KEY-). 404 when none matches.',
      params: TaintKeyParams,
      querystring: DeleteTaintQuery,
      response: { 200: changed(nodeViewExample, 'the taint is removed'), ...errors },
    },
  }, async (request, reply) => {
    const r = await nodeChanges.removeTaint(deps(request), actor(request), request.params.name, request.params.key, request.query.effect, { force: request.query.force })
    warn(reply, r)
    return r.view
  })

  fastify.post('/nodes/:name/cordon', {
    schema: {
      ...common,
      summary: 'Cordon a node, saying why',
      description: 'Marks the node unschedulable (kubectl cordon). Who (the JWT username), why (reason) and when are kept as annotations streamspace.io/cordoned-by, streamspace.io/cordon-reason, streamspace.io/cordoned-at, written in the same patch (kubectl get node -o yaml shows them); NodeView.cordon shows them. Idempotent: on a cordoned node only a different reason is written.',
      params: NodeParams,
      body: withExample(CordonBody, { reason: 'kernel upgrade, ticket OPS-1234' }),
      response: { 200: changed(cordonedNodeExample, 'the cordon, with who, why and when'), ...errors },
    },
    config: { optionalBody: true },
    // The seed's clients POST without a body.
    preValidation: async (request) => { if (request.body === undefined) request.body = {} },
  }, async (request, reply) => {
    const r = await nodeChanges.cordon(deps(request), actor(request), request.params.name, { reason: request.body?.reason })
    warn(reply, r)
    return r.view
  })

  fastify.post('/nodes/:name/uncordon', {
    schema: {
      ...common,
      summary: 'Uncordon a node',
      description: 'Marks the node schedulable again (kubectl uncordon) and removes the cordon annotations in the same patch. Idempotent.',
      params: NodeParams,
      response: { 200: changed(nodeViewExample, 'uncordon'), ...errors },
    },
  }, async (request, reply) => {
    const r = await nodeChanges.uncordon(deps(request), actor(request), request.params.name)
    warn(reply, r)
    return r.view
  })
}

export default routes
