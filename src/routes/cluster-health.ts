// GET P/cluster/health: nodes with problems (from this replica's cache), the leader's incidents
// and alerts, and who leads.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { answer, errorAnswers } from '../schemas/common.js'
import { clusterHealthExample } from '../schemas/examples.js'
import { ClusterHealth } from '../schemas/health.js'

const clusterHealth: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/cluster/health', {
    schema: {
      tags: ['health'], summary: 'Cluster health: nodes with problems, alerts, leader',
      description: 'status is healthy, degraded (any problem) or critical (no Ready node, or at least half not Ready). nodes lists those with problems (NotReady or Unknown, a pressure condition, cordoned too long) with since when; alerts the incidents open now and those resolved in the last 15 minutes, as NodeIncident objects (the same on every replica); leader who runs the checks.',
      response: { 200: answer(ClusterHealth, 'The cluster\'s health as this replica sees it', clusterHealthExample), ...errorAnswers() },
    },
  }, async () => {
    const { elector, monitor } = app.health
    const nodes = monitor.problems(app.clock.now())
    const { active, recent } = monitor.incidents()
    // A cordon without a recorded time is known to be too long only to the leader that timed it.
    for (const inc of active) {
      if (inc.problem.condition !== 'Unschedulable' || inc.state !== 'firing' || nodes.some((n) => n.name === inc.node && n.conditions.some((c) => c.type === 'Unschedulable'))) continue
      const p = inc.problem
      const entry = { type: p.condition, status: p.status, reason: p.reason, message: p.message, since: new Date(inc.startsAt).toISOString() }
      const existing = nodes.find((n) => n.name === inc.node)
      if (existing) existing.conditions.push(entry)
      else nodes.push({ name: inc.node, phase: 'Ready', conditions: [entry] })
    }
    const alerts = [...active, ...recent].map((inc) => ({
      alertname: inc.problem.alertname, node: inc.node, condition: inc.problem.condition, severity: inc.problem.severity,
      state: inc.state, paged: inc.paged,
      summary: `${inc.node}: ${inc.problem.condition}=${inc.problem.status} (${inc.problem.reason})`,
      starts_at: new Date(inc.startsAt).toISOString(),
      ends_at: inc.endsAt !== undefined ? new Date(inc.endsAt).toISOString() : null,
      ended: inc.ended ?? null,
    }))
    return {
      status: monitor.status(nodes),
      nodes,
      alerts,
      last_check: monitor.lastCheck !== undefined ? new Date(monitor.lastCheck).toISOString() : null,
      leader: { identity: elector.leader ?? null, is_self: elector.isLeader, ...(elector.lastError ? { error: elector.lastError } : {}) },
    }
  })
}
export default clusterHealth
