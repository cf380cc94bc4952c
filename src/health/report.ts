// GET P/cluster/health's answer: the nodes with problems (this replica's cache), the incidents as
// alerts, the leader's last check and who leads. Assembled here so the route is one call.
import type { HealthMonitor, NodeHealth } from './monitor.js'

/** What the report needs of the leader election. */
export interface LeaderView { readonly leader: string | undefined; readonly isLeader: boolean; readonly lastError: string | undefined }

const iso = (ms: number) => new Date(ms).toISOString()

export function clusterHealthReport(monitor: HealthMonitor, elector: LeaderView, now: number) {
  const nodes: NodeHealth[] = monitor.problems(now)
  const { active, recent } = monitor.incidents()
  // A cordon without a recorded time is known to be too long only to the leader that timed it.
  for (const inc of active) {
    if (inc.problem.condition !== 'Unschedulable' || inc.state !== 'firing' || nodes.some((n) => n.name === inc.node && n.conditions.some((c) => c.type === 'Unschedulable'))) continue
    const p = inc.problem
    const entry = { type: p.condition, status: p.status, reason: p.reason, message: p.message, since: iso(inc.startsAt) }
    const existing = nodes.find((n) => n.name === inc.node)
    if (existing) existing.conditions.push(entry)
    else nodes.push({ name: inc.node, phase: 'Ready', conditions: [entry] })
  }
  const alerts = [...active, ...recent].map((inc) => ({
    alertname: inc.problem.alertname, node: inc.node, condition: inc.problem.condition, severity: inc.problem.severity,
    state: inc.state, paged: inc.paged,
    summary: `${inc.node}: ${inc.problem.condition}=${inc.problem.status} (${inc.problem.reason})`,
    starts_at: iso(inc.startsAt),
    ends_at: inc.endsAt !== undefined ? iso(inc.endsAt) : null,
    ended: inc.ended ?? null,
  }))
  return {
    status: monitor.status(nodes),
    nodes,
    alerts,
    last_check: monitor.lastCheck !== undefined ? iso(monitor.lastCheck) : null,
    leader: { identity: elector.leader ?? null, is_self: elector.isLeader, ...(elector.lastError ? { error: elector.lastError } : {}) },
  }
}
