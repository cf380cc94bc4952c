// Maintenance plans: POST/GET P/maintenance, GET/DELETE P/maintenance/:id, GET .../events (SSE),
// POST .../complete. Thin: the plan lives in src/maintenance (through app.maintenance).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { MaintenanceEvent } from '../maintenance/types.js'
import { ErrorResponse, commonErrors } from '../schemas/common.js'
import { Maintenance, MaintenanceCheck, MaintenanceParams, MaintenanceRequest } from '../schemas/maintenance.js'

const HEARTBEAT_MS = 15_000
const errors = { ...commonErrors, 404: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse }

const maintenanceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const common = { tags: ['maintenance'] }
  const who = (request: { user?: { username?: unknown } }) => String(request.user?.username ?? 'unknown')

  app.post('/maintenance', {
    schema: {
      ...common,
      summary: 'Plan maintenance of nodes: cordon, wait for sessions (or hibernate them), drain, one node after another',
      description: 'Checked before anything starts (4xx naming the problem): unknown node (404), a selector matching nothing (422), session_deadline before start_at, max_unavailable < 1, a node in another active plan (409), and whether the pods that would move fit on the nodes that stay schedulable (422 naming them and whose sessions, unless force). The plan is a NodeMaintenance object (nodes.stream.space/v1alpha1), run by the leader.',
      body: MaintenanceRequest,
      response: { 200: MaintenanceCheck, 201: Maintenance, ...errors },
    },
  }, async (request, reply) => {
    const { dry_run: dryRun, ...req } = request.body
    // The same checks, the fit reported instead of refused (for a form that shows it live).
    if (dryRun) {
      const { names, fit } = app.maintenance.check({ ...req, force: true })
      return reply.code(200).send({ dry_run: true as const, nodes: names, fit })
    }
    const plan = await app.maintenance.create(req, who(request))
    return reply.code(201).header('location', `${request.url.split('?')[0]}/${plan.id}`).send(plan)
  })

  app.get('/maintenance', {
    schema: { ...common, summary: 'Every maintenance plan, oldest first', response: { 200: Type.Array(Maintenance), ...errors } },
  }, async () => app.maintenance.list())

  app.get('/maintenance/:id', {
    schema: { ...common, summary: 'One maintenance plan: its state and each node\'s, with the sessions still waited for', params: MaintenanceParams, response: { 200: Maintenance, ...errors } },
  }, async (request) => app.maintenance.get(request.params.id))

  app.delete('/maintenance/:id', {
    schema: {
      ...common,
      summary: 'Cancel a maintenance plan: nothing more is done; each node\'s state says where it was left (cordoned nodes stay cordoned)',
      params: MaintenanceParams,
      response: { 200: Maintenance, ...errors },
    },
  }, async (request) => app.maintenance.cancel(request.params.id, who(request)))

  app.post('/maintenance/:id/complete', {
    schema: {
      ...common,
      summary: 'After the work: uncordon the nodes the plan cordoned and clear their cordon reason',
      description: '409 while the plan runs (cancel it first).',
      params: MaintenanceParams,
      response: { 200: Maintenance, ...errors },
    },
  }, async (request) => app.maintenance.complete(request.params.id, who(request)))

  app.get('/maintenance/:id/events', {
    schema: {
      ...common,
      summary: 'Server-Sent Events: the plan ("status"), then each step ("state", "node", "finished"); ends after "finished"',
      params: MaintenanceParams,
      headers: Type.Object({ 'last-event-id': Type.Optional(Type.String()) }),
      response: { 200: Type.String({ description: 'text/event-stream' }), ...errors },
    },
  }, async (request, reply) => {
    const plan = app.maintenance.get(request.params.id)
    const afterId = Number(request.headers['last-event-id']) || 0
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write(`event: status\ndata: ${JSON.stringify(plan)}\n\n`)
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS)
    const send = (e: MaintenanceEvent) => res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)
    const end = () => {
      clearInterval(heartbeat)
      unsubscribe()
      if (!res.writableEnded) res.end()
    }
    const unsubscribe = app.maintenance.follow(plan, afterId, send, end)
    res.on('close', end)
  })
}

export default maintenanceRoutes
