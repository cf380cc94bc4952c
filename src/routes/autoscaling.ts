// GET P/autoscaling: the autoscaling recommendation (src/autoscaling) and what it rests on.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { answer, errorAnswers } from '../schemas/common.js'
import { autoscalingExample } from '../schemas/examples.js'
import { AutoscalingStatus } from '../schemas/autoscaling.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/autoscaling', {
    schema: {
      tags: ['autoscaling'],
      summary: 'Autoscaling recommendation',
      description: 'Utilization as cluster-autoscaler computes it (requests over allocatable, the larger of CPU and memory per node, weighted by allocatable), actual usage beside it, and the recommendation (scale_up, scale_down, none) held through the stabilization windows. Evaluated every interval on the leader.',
      response: { 200: answer(AutoscalingStatus, 'Thresholds, utilization, the recommendation and its history', autoscalingExample), ...errorAnswers() },
    },
  }, async () => app.autoscaling.status())
}

export default routes
