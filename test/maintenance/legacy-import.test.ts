// Upgrade: plans kept in the ConfigMap of earlier versions become NodeMaintenance objects once
// (the leader imports them after its caches sync), keep their state, and leave the ConfigMap.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { startService } from '../helpers/service.js'
import { ensureNamespace, kubeRequest, waitFor } from '../helpers/fixtures.js'
import { MAINTENANCE_CONFIGMAP_NAME } from '../../src/kube/permissions.js'
import { pendingNode } from '../../src/maintenance/objects.js'
import type { Maintenance } from '../../src/maintenance/types.js'
import { call, node, NS } from './helpers.js'

// Within the 7 days finished plans are kept (an older one is collected at once).
const AN_HOUR_AGO = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z')

const old = (id: string, state: Maintenance['state'], nodeName: string, startAt: string): Maintenance => ({
  id, reason: `old ${id}`, created_by: 'carol', created_at: '2026-11-01T10:00:00Z', start_at: startAt, session_deadline: null,
  session_policy: 'wait', max_unavailable: 1, node_selector: null, drain: { timeout_seconds: 120 }, force: true,
  state, message: state === 'succeeded' ? 'all 1 node(s) drained' : `starts at ${startAt}`, updated_at: '2026-11-01T11:00:00Z',
  finished_at: state === 'succeeded' ? AN_HOUR_AGO : null,
  nodes: [{ ...pendingNode(nodeName), ...(state === 'succeeded' ? { state: 'drained' as const, message: 'drained: 0 pod(s) evicted in 0 s', cordoned_by_plan: true, pods_evicted: 3 } : {}) }],
  fit: null,
})

eachBackend(t, 'the plans ConfigMap of an earlier version is imported once into NodeMaintenance objects', async (t, b) => {
  await ensureNamespace(b.clients, NS)
  await node(b, 'l1')
  await node(b, 'l2')
  await node(b, 'l3')
  const later = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const done = old('m-old-done', 'succeeded', 'l1', '2026-11-01T10:00:00Z')
  const waiting = old('m-old-later', 'scheduled', 'l2', later)
  const cancelled = old('m-old-cancel', 'scheduled', 'l3', later)
  await b.clients.core.createNamespacedConfigMap({
    namespace: NS,
    body: {
      metadata: { name: MAINTENANCE_CONFIGMAP_NAME },
      data: {
        'm-old-done.json': JSON.stringify(done), 'm-old-later.json': JSON.stringify(waiting),
        'm-old-cancel.json': JSON.stringify(cancelled), 'm-old-cancel.cancel.json': JSON.stringify({ by: 'dave', at: '2026-11-01T10:30:00Z' }),
        'unrelated.txt': 'kept',
      },
    },
  })
  const svc = await startService(b.kc)
  t.teardown(() => svc.close())
  await waitFor(async () => (await call<Maintenance[]>(svc, 'GET', '/maintenance')).body.length === 3, 20_000, 'three plans imported')
  const got = (await call(svc, 'GET', '/maintenance/m-old-done')).body
  t.match(got, { id: 'm-old-done', state: 'succeeded', created_by: 'carol', reason: 'old m-old-done', finished_at: AN_HOUR_AGO }, 'a finished plan keeps its state')
  t.match(got.nodes, [{ name: 'l1', state: 'drained', cordoned_by_plan: true, pods_evicted: 3 }], 'and each node\'s')
  const kept = (await call(svc, 'GET', '/maintenance/m-old-later')).body
  t.match(kept, { state: 'scheduled', start_at: later }, 'a scheduled plan still waits for its start')
  await waitFor(async () => (await call(svc, 'GET', '/maintenance/m-old-cancel')).body.state === 'cancelled', 10_000, 'the cancel asked on a follower is carried out')
  const obj = (await kubeRequest(b.kc, 'GET', '/apis/nodes.stream.space/v1alpha1/nodemaintenances/m-old-done')).body as { spec: Record<string, unknown> }
  t.match(obj.spec, { nodes: ['l1'], reason: 'old m-old-done', requestedBy: 'carol', drain: { timeoutSeconds: 120 } }, 'the object\'s spec in camelCase')
  await waitFor(async () => {
    const cm = await b.clients.core.readNamespacedConfigMap({ name: MAINTENANCE_CONFIGMAP_NAME, namespace: NS })
    return JSON.stringify(Object.keys(cm.data ?? {})) === '["unrelated.txt"]'
  }, 10_000, 'the imported keys removed from the ConfigMap, the rest left')
  t.notOk((await b.clients.core.readNode({ name: 'l2' })).spec?.unschedulable, 'the scheduled plan did nothing before its start')
})
