// POST P/nodes/select: which node a new session should go to (src/selection). 409 with the
// scheduler-style summary when no node fits.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Failure } from '../errors.js'
import { answer, errorAnswers, withExample } from '../schemas/common.js'
import { selectionExample } from '../schemas/examples.js'
import { SelectBody, Selection } from '../schemas/selection.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/nodes/select', {
    config: { readOnly: true },
    schema: {
      tags: ['nodes'],
      summary: 'Choose a node for a new session',
      description: 'Eligible nodes are Ready, schedulable, match node_selector, tolerate the node\'s NoSchedule/NoExecute taints and have room for cpu/memory after what their pods request (kube-scheduler\'s filters, from the watch cache); then the strategy (body, else nodeSelectionStrategy) ranks them. 409 when no node fits, with kube-scheduler\'s summary ("0/5 nodes are available: 2 Insufficient cpu, ...") and details.excluded.',
      body: withExample(SelectBody, { cpu: '2', memory: '4Gi', node_selector: { pool: 'desktops' } }),
      response: {
        200: answer(Selection, 'The node chosen, the eligible nodes ranked, and why the others were excluded', selectionExample),
        ...errorAnswers([[409, 'No node fits: the message is kube-scheduler\'s summary ("0/5 nodes are available: 2 Insufficient cpu, ..."), details.excluded each node\'s reasons (the first `limit` by name; details.excluded_total counts them all)']]),
      },
    },
  }, async (request) => {
    const outcome = await app.selection.select(request.body)
    if (!outcome.ok) throw new Failure('conflict', outcome.noFit.summary, { excluded: outcome.noFit.excluded, excluded_total: outcome.noFit.excluded_total })
    return outcome.selection
  })
}

export default routes
