// Maintenance plans: POST/GET P/maintenance, GET/DELETE P/maintenance/:id, GET .../events (SSE),
// POST .../complete. Thin: one call each into src/maintenance (through app.maintenance); the
// stream is written by ./sse.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { answer, errorAnswers, withExample } from '../schemas/common.js'
import { fitExample, maintenanceEventsExample, maintenanceExample } from '../schemas/examples.js'
import { Maintenance, MaintenanceCheck, MaintenanceParams, MaintenanceRequest } from '../schemas/maintenance.js'
import { lastEventId, sendEventStream } from './sse.js'

const NO_PLAN: [number, string] = [404, 'No maintenance plan with this id']
const errors = errorAnswers([NO_PLAN])
const planAnswer = (description: string) => answer(Maintenance, description, maintenanceExample)

const maintenanceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const common = { tags: ['maintenance'] }
  const who = (request: { user?: { username?: unknown } }) => String(request.user?.username ?? 'unknown')

  app.post('/maintenance', {
    schema: {
      ...common,
      summary: 'Plan maintenance of nodes: cordon, wait for sessions (or hibernate them), drain, one node after another',
      description: 'Checked before anything starts (4xx naming the problem): unknown node (404), a selector matching nothing (422), session_deadline before start_at, max_unavailable < 1, a node in another active plan (409), and whether the pods that would move fit on the nodes that stay schedulable (422 naming them and whose sessions, unless force). The plan is a NodeMaintenance object (nodes.stream.space/v1alpha1), run by the leader.',
      body: withExample(MaintenanceRequest, {
        nodes: ['worker-2'], reason: 'kernel upgrade OPS-1234', session_policy: 'hibernate',
        session_deadline: '2026-12-05T18:00:00Z', max_unavailable: 1, drain: { timeout_seconds: 600 },
      }),
      response: {
        200: answer(MaintenanceCheck, 'dry_run: true: the same checks, the fit reported instead of refused; nothing is made', { dry_run: true, nodes: ['worker-2'], fit: fitExample }),
        201: planAnswer('The plan as stored (Location: its URL); it runs from start_at'),
        ...errorAnswers([
          [400, 'Bad input: both or neither of nodes and node_selector, session_deadline missing (hibernate, evict) or before start_at, a time not RFC 3339'],
          [404, 'A node named in nodes does not exist'],
          [409, 'A node is already in another active plan'],
          [422, 'node_selector matches no node, or the pods that would move do not fit on the nodes that stay schedulable (details names them and whose sessions; force starts anyway)'],
          429,
        ]),
      },
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
    schema: {
      ...common, summary: 'Every maintenance plan, oldest first',
      description: 'Read from the NodeMaintenance objects, the same on every replica; finished plans are kept for a while (the newest 100).',
      response: { 200: answer(Type.Array(Maintenance), 'The plans, oldest first', [maintenanceExample]), ...errorAnswers([[503, 'The plans have not been read from the cluster yet']]) },
    },
  }, async () => app.maintenance.list())

  app.get('/maintenance/:id', {
    schema: {
      ...common, summary: 'One maintenance plan: its state and each node\'s, with the sessions still waited for',
      description: 'The plan\'s state (scheduled, running, succeeded, failed, cancelled, completed) and each node\'s (pending, cordoned, waiting_for_sessions with each remaining session\'s user, draining, drained, failed or cancelled with why).',
      params: MaintenanceParams,
      response: { 200: planAnswer('The plan'), ...errors },
    },
  }, async (request) => app.maintenance.get(request.params.id))

  app.delete('/maintenance/:id', {
    schema: {
      ...common,
      summary: 'Cancel a maintenance plan: nothing more is done; each node\'s state says where it was left (cordoned nodes stay cordoned)',
      description: 'Sets the plan\'s cancel flag; the leader stops it (a drain in progress is stopped) and each node that had not finished says cancelled and where it was left. POST .../complete afterwards uncordons. 503 when the leader has not acted on the cancel within 30 s.',
      params: MaintenanceParams,
      response: { 200: planAnswer('The plan, cancelled'), ...errorAnswers([NO_PLAN, [409, 'The plan has already finished: nothing to cancel'], 429]) },
    },
  }, async (request) => app.maintenance.cancel(request.params.id, who(request)))

  app.post('/maintenance/:id/complete', {
    schema: {
      ...common,
      summary: 'After the work: uncordon the nodes the plan cordoned and clear their cordon reason',
      description: 'For a plan that has finished (succeeded, failed or cancelled): uncordons each node the plan cordoned and clears its cordon annotations; the plan becomes completed. 409 while the plan runs (cancel it first).',
      params: MaintenanceParams,
      response: { 200: planAnswer('The plan, completed'), ...errorAnswers([NO_PLAN, [409, 'The plan is still scheduled or running: cancel it first'], 429]) },
    },
  }, async (request) => app.maintenance.complete(request.params.id, who(request)))

  app.get('/maintenance/:id/events', {
    schema: {
      ...common,
      summary: 'Server-Sent Events: the plan ("status"), then each step ("state", "node", "finished"); ends after "finished"',
      description: 'Every replica streams the same steps, read from the plan\'s object: "status" (the plan) first, then "state" (the plan\'s state changed), "node" (a node\'s state changed) and "finished". A reconnecting client sends Last-Event-ID and gets only the steps after it. A comment line every 15 s keeps proxies from closing the stream.',
      params: MaintenanceParams,
      headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ description: 'The id of the last event received: the stream resumes after it' })) }),
      response: {
        200: {
          description: 'The event stream: "status" first, then the plan\'s steps; "finished" ends it',
          content: {
            'text/event-stream': {
              // One Server-Sent Event, as a client's EventSource parses it: data is the JSON of a MaintenanceEvent.
              schema: Type.Object({
                event: Type.Optional(Type.String()), data: Type.Optional(Type.String()), id: Type.Optional(Type.String()), retry: Type.Optional(Type.Integer()),
              }),
              example: maintenanceEventsExample,
            },
          },
        },
        ...errors,
      },
    },
  }, async (request, reply) => {
    sendEventStream(reply, app.maintenance.events(request.params.id, lastEventId(request.headers['last-event-id'])))
  })
}

export default maintenanceRoutes
