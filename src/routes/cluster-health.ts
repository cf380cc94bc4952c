// GET P/cluster/health: nodes with problems (from this replica's cache), the leader's incidents
// and alerts, and who leads; assembled by src/health/report.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { answer, errorAnswers } from '../schemas/common.js'
import { clusterHealthExample } from '../schemas/examples.js'
import { ClusterHealth } from '../schemas/health.js'
import { clusterHealthReport } from '../health/report.js'

const clusterHealth: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/cluster/health', {
    schema: {
      tags: ['health'], summary: 'Cluster health: nodes with problems, alerts, leader',
      description: 'status is healthy, degraded (any problem) or critical (no Ready node, or at least half not Ready). nodes lists those with problems (NotReady or Unknown, a pressure condition, cordoned too long) with since when; alerts the incidents open now and those resolved in the last 15 minutes, as NodeIncident objects (the same on every replica); leader who runs the checks.',
      response: { 200: answer(ClusterHealth, 'The cluster\'s health as this replica sees it', clusterHealthExample), ...errorAnswers() },
    },
  }, async () => clusterHealthReport(app.health.monitor, app.health.elector, app.clock.now()))
}
export default clusterHealth
