// POST P/nodes/:name/drain, GET P/nodes/:name/drain (latest status), GET .../drain/events (SSE).
// Thin: validation and shapes here, one call into src/drain (requests.ts, over app.drains) each:
// every replica answers from the NodeDrain objects' informer, so GET and the stream are the same on
// each. The stream is written by ./sse.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { drainEvents, latestDrain, requestDrain } from '../drain/requests.js'
import { answer, errorAnswers, withExample } from '../schemas/common.js'
import { drainAcceptedExample, drainEventsExample, drainResultExample, drainStatusExample } from '../schemas/examples.js'
import { DrainAccepted, DrainOptions, DrainParams, DrainResult, DrainStatus } from '../schemas/drain.js'
import { lastEventId, sendEventStream } from './sse.js'

const drainRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/nodes/:name/drain', {
    schema: {
      tags: ['drain'],
      summary: 'Drain a node as kubectl drain does: cordon, then evict its pods respecting PodDisruptionBudgets',
      description: 'Cordons the node, then evicts its pods (DaemonSet and mirror pods stay), retrying evictions a PodDisruptionBudget refuses (429) until timeout_seconds. The drain is a NodeDrain object run by the leader, so it survives a restart. The body is optional (all defaults). With wait:false the answer is 202 at once, with where to follow it; with dry_run:true nothing changes and the answer says what would happen, with whether the pods would fit elsewhere.',
      params: DrainParams,
      body: withExample(DrainOptions, { timeout_seconds: 600, delete_emptydir_data: true, wait: true }),
      response: {
        200: answer(DrainResult, 'Drained (or, with dry_run, what a drain would do)', drainResultExample),
        202: answer(DrainAccepted, 'Started (wait:false): follow status_url or events_url', drainAcceptedExample),
        ...errorAnswers([
          [404, 'No node of that name'],
          [409, 'Another drain of this node is running'],
          [422, 'Pods block the drain (unmanaged without force, emptyDir without delete_emptydir_data, DaemonSet pods with ignore_daemonsets false): details lists them'],
          [429, 'Too many: this user\'s change rate limit, or as many drains as may run at once are running (the message says which)'],
          [504, 'timeout_seconds passed: details lists the pods still there and the PodDisruptionBudget holding each'],
        ]),
      },
    },
    config: { optionalBody: true },
    // The seed's clients POST without a body: that means all defaults.
    preValidation: async (request) => {
      if (request.body === undefined) request.body = {}
    },
  }, async (request, reply) => {
    const name = request.params.name
    const outcome = await requestDrain(app.drains, (nodes) => app.maintenance.fit(nodes), name, request.body, request.user?.username)
    if (!outcome.started) return outcome.result
    const base = request.url.split('?')[0]
    return reply.code(202).send({ message: `Drain of node ${name} started`, node: name, status_url: base, events_url: `${base}/events` })
  })

  app.get('/nodes/:name/drain', {
    schema: {
      tags: ['drain'],
      summary: 'The latest drain of a node: phase, evicted, pending pods with what holds each, errors',
      description: 'Read from the node\'s NodeDrain object, the same on every replica; phase none when the node was never drained (older drains are found in the node\'s Events).',
      params: DrainParams,
      response: { 200: answer(DrainStatus, 'The latest drain\'s status', drainStatusExample), ...errorAnswers([[404, 'No node of that name']]) },
    },
  }, async (request) => latestDrain(app.drains, request.params.name))

  app.get('/nodes/:name/drain/events', {
    schema: {
      tags: ['drain'],
      summary: 'Server-Sent Events: the current status ("status"), then every step of the drain in order; ends after "finished"',
      description: 'Each step is an event with an id, named by its type (started, cordoned, planned, pod_blocked, pod_evicting, pod_evicted, pod_failed, finished) and the JSON of a DrainEvent as data. A reconnecting client sends Last-Event-ID and gets only the steps after it. A comment line every 15 s keeps proxies from closing the stream.',
      params: DrainParams,
      headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ description: 'The id of the last event received: the stream resumes after it' })) }),
      response: {
        // Documented as what it is (the reply is hijacked, so nothing is serialized against it).
        200: {
          description: 'The event stream: "status" first, then the drain\'s steps; "finished" ends it',
          content: {
            'text/event-stream': {
              // One Server-Sent Event, as a client's EventSource parses it: data is the JSON of a DrainEvent.
              schema: Type.Object({
                event: Type.Optional(Type.String()), data: Type.Optional(Type.String()), id: Type.Optional(Type.String()), retry: Type.Optional(Type.Integer()),
              }),
              example: drainEventsExample,
            },
          },
        },
        ...errorAnswers([[404, 'No node of that name']]),
      },
    },
  }, async (request, reply) => {
    sendEventStream(reply, await drainEvents(app.drains, request.params.name, lastEventId(request.headers['last-event-id'])))
  })
}

export default drainRoutes
