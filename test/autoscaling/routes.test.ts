// GET P/autoscaling through the real service: utilization from the watch caches, scale_up on a
// loaded cluster, clamping at maxNodes, a threshold change through PUT P/config taking effect, the metric and the Kubernetes Event of each change, and the admin-only guard.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace } from '../helpers/fixtures.js'
import { startService, waitFor } from '../helpers/service.js'
import { parseExposition, valueOf } from '../helpers/prometheus.js'

eachBackend(t, 'autoscaling recommendation', async (t, b) => {
  const c = b.clients
  await ensureNamespace(c, 'streamspace')
  await ensureNamespace(c, 'apps')
  await createNode(c, { name: 'a', cpu: '4', memory: '8Gi' })
  await createNode(c, { name: 'b', cpu: '4', memory: '8Gi' })
  // a: 3.6 of 4 CPU requested (90%), b: 3.6 Gi of 8 (45%) -> cluster 67.5%
  await createPod(c, { name: 'big', namespace: 'apps', node: 'a', requests: { cpu: '3', memory: '1Gi' } })
  await createPod(c, { name: 'small', namespace: 'apps', node: 'a', requests: { cpu: '600m', memory: '100Mi' } })
  await createPod(c, { name: 'mem', namespace: 'apps', node: 'b', requests: { cpu: '100m', memory: '3686Mi' } })
  const svc = await startService(b.kc, { env: { AUTOSCALING_INTERVAL_SECONDS: '0.2', SCALE_UP_STABILIZATION_SECONDS: '0', SCALE_DOWN_STABILIZATION_SECONDS: '0', SCALE_UP_THRESHOLD: '60', MAX_NODES: '5' } })
  t.teardown(() => svc.close())
  const get = async () => (await (await svc.api('/autoscaling')).json()) as any

  // The leader's answer (a follower computes its own, unstabilized, and acts on nothing).
  await waitFor(async () => { const s = await get(); return s.leader === true && s.recommendation?.action === 'scale_up' && s.last_action !== null }, 20_000, 'scale_up recommended by the leader')
  const s = await get()
  t.equal(s.enabled, false)
  t.equal(s.provider, 'none')
  t.equal(s.leader, true)
  t.same(s.thresholds, { scale_up: 60, scale_down: 20, min_nodes: 1, max_nodes: 5, scale_up_window_seconds: 0, scale_down_window_seconds: 0, interval_seconds: 0.2 })
  t.equal(s.utilization.nodes, 2)
  t.equal(s.utilization.utilization_percent, 67.5)
  t.same(s.utilization.per_node.map((n: any) => [n.name, n.utilization_percent]), [['a', 90], ['b', 45]])
  t.equal(s.recommendation.current_nodes, 2)
  t.equal(s.recommendation.desired_nodes, 3, 'ceil(2 * 67.5 / 60)')
  t.match(s.recommendation.reason, /67.5% is above scaleUpThreshold 60%/)
  t.equal(s.last_action.action, 'scale_up')
  t.equal(s.history[0].action, 'scale_up')

  const metrics = parseExposition(await (await fetch(`${svc.url}/metrics`)).text())
  t.equal(valueOf(metrics, 'streamspace_node_manager_autoscaling_recommendation', { action: 'scale_up' }), 1)
  t.equal(valueOf(metrics, 'streamspace_node_manager_autoscaling_recommendation', { action: 'none' }), 0)
  t.equal(valueOf(metrics, 'streamspace_node_manager_autoscaling_desired_nodes', {}), 3)

  await waitFor(async () => {
    const evs = await c.core.listNamespacedEvent({ namespace: 'streamspace' })
    return evs.items.some((e) => e.reason === 'ScaleUpRecommended' && /2 -> 3 nodes/.test(e.message ?? ''))
  }, 10_000, 'a ScaleUpRecommended Event')

  // Clamp: maxNodes 2 through PUT P/config -> none, at maxNodes.
  const put = await svc.api('/config', { method: 'PUT', json: { maxNodes: 2 } })
  t.equal(put.status, 200)
  await waitFor(async () => (await get()).recommendation?.action === 'none', 10_000, 'none at maxNodes')
  t.match((await get()).recommendation.reason, /at maxNodes 2/)

  // Between the thresholds after raising scaleUpThreshold: none, between.
  t.equal((await svc.api('/config', { method: 'PUT', json: { maxNodes: 5, scaleUpThreshold: 90 } })).status, 200)
  await waitFor(async () => /between/.test((await get()).recommendation?.reason ?? ''), 10_000, 'none, between')

  t.equal((await svc.api('/autoscaling', { token: null })).status, 401)
})
