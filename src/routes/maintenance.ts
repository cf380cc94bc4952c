// Maintenance plans: POST/GET P/maintenance, GET/DELETE P/maintenance/:id, GET .../events (SSE),
// POST .../complete. Thin: the plan lives in src/maintenance (through app.maintenance).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { MaintenanceEvent } from '../maintenance/types.js'
import { ErrorResponse, commonErrors } from '../schemas/common.js'
import { Maintenance, MaintenanceParams, MaintenanceRequest } from '../schemas/maintenance.js'

const HEARTBEAT_MS = 15_000
/** Off the leader, the stream re-reads the stored plan on every change to the store, and this often as a safety net. */
const REMOTE_RESYNC_MS = 30_000
/** ... or this often when the store tells of no changes. */
const REMOTE_POLL_MS = 2_000
const errors = { ...commonErrors, 404: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse }
const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'completed'])

const maintenanceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const common = { tags: ['maintenance'] }
  const who = (request: { user?: { username?: unknown } }) => String(request.user?.username ?? 'unknown')

  app.post('/maintenance', {
    schema: {
      ...common,
      summary: 'Plan maintenance of nodes: cordon, wait for sessions (or hibernate them), drain, one node after another',
      description: 'Checked before anything starts (4xx naming the problem): unknown node (404), a selector matching nothing (422), session_deadline before start_at, max_unavailable < 1, a node in another active plan (409), and whether the pods that would move fit on the nodes that stay schedulable (422 naming them and whose sessions, unless force). The plan is kept in a ConfigMap and run by the leader.',
      body: MaintenanceRequest,
      response: { 201: Maintenance, ...errors },
    },
  }, async (request, reply) => {
    const plan = await app.maintenance.create(request.body, who(request))
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
    const id = request.params.id
    const plan = await app.maintenance.get(id)
    const afterId = Number(request.headers['last-event-id']) || 0
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write(`event: status\ndata: ${JSON.stringify(plan)}\n\n`)
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS)
    let unsubscribe = () => {}
    let unwatch = () => {}
    const timers: { poll?: NodeJS.Timeout } = {}
    const end = () => {
      clearInterval(heartbeat)
      if (timers.poll) clearInterval(timers.poll)
      unsubscribe()
      unwatch()
      if (!res.writableEnded) res.end()
    }
    res.on('close', end)
    if (FINAL.has(plan.state)) return end()
    const send = (e: MaintenanceEvent) => {
      res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)
      if (e.type === 'finished') queueMicrotask(end)
    }
    if (app.maintenance.runsHere(id) || app.maintenance.isLeading) {
      unsubscribe = app.maintenance.subscribe(id, afterId, send)
      return
    }
    // The plan runs on the leader, another replica: follow the stored plan, re-read one at a time.
    let last = JSON.stringify(plan)
    let seq = 0
    let reading: Promise<void> = Promise.resolve()
    const refresh = () => {
      reading = reading.then(() => app.maintenance.get(id)).then((p) => {
        if (res.writableEnded) return
        const json = JSON.stringify(p)
        if (json === last) return
        last = json
        res.write(`id: ${++seq}\nevent: status\ndata: ${json}\n\n`)
        if (FINAL.has(p.state)) end()
      }, () => {})
    }
    unwatch = app.maintenance.onStoredChange(refresh)
    timers.poll = setInterval(refresh, app.maintenance.storeNotifies ? REMOTE_RESYNC_MS : REMOTE_POLL_MS)
  })
}

export default maintenanceRoutes
