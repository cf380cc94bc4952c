// The short chaos run of issue 29 (the long one: npm run chaos, docs/reliability.md): 75 s of API
// faults, kills and workload on 3 replicas (processes) over 20 simulated nodes, fixed seed; then the
// recorded history must break none of the six invariants (check.ts), and the run must really have
// killed replicas, changed leaders, injected faults, run plans and drains and paged. Simulated cluster
// only (faults are the simulator's).
import t from 'tap'
import { runChaos } from './chaos.js'
import { check } from './check.js'
import { backendSkip } from '../helpers/backend.js'

t.test('short chaos run: 3 replicas, faults, kills; every promise holds', { skip: backendSkip('sim') }, async (t) => {
  const { history, figures } = await runChaos({ seconds: 75, replicas: 3, nodes: 20, seed: 29, killEvery: [10, 16], log: (line) => t.comment(line) })
  t.comment(`figures: ${JSON.stringify(figures)}`)
  const violations = check(history).map((v) => `${v.invariant}: ${v.message}`)
  t.same(violations, [], 'no violation of invariants 1-6')
  // Each exit is named with its log's tail (a NodeDrain re-read failing after a conflict was one).
  t.same(figures.crashes, [], 'no replica exited by itself')
  t.ok(figures.kills + figures.terms >= 2 && figures.restarts >= 2, `replicas were killed and restarted (${figures.kills} SIGKILL, ${figures.terms} SIGTERM, ${figures.restarts} restarts)`)
  t.ok(figures.leader_changes >= 1, `the leader changed (${figures.leader_changes})`)
  t.ok(figures.faults_injected.errors > 0 && figures.faults_injected.conflicts > 0 && figures.faults_injected.watchesDropped > 0, `faults were injected: ${JSON.stringify(figures.faults_injected)}`)
  t.ok(figures.plans >= 3 && figures.drains >= 3, `plans (${figures.plans}) and drains (${figures.drains}) ran`)
  t.ok(figures.pages >= 1, `incidents paged (${figures.pages})`)
  t.ok(figures.pods_evicted > 0 && figures.sessions_ended > 0, `pods were evicted (${figures.pods_evicted}) and sessions ended (${figures.sessions_ended})`)
  t.ok(figures.requests_by_status['200'] > 50, 'the workload got answers')
})
