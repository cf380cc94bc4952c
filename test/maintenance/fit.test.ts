// Will it fit? Three nodes of 4 CPUs, each with a pod asking 2: draining one fits (its pod goes
// to a node with 2 free), draining two does not (one pod finds no room). The drain dry run and
// the plan say so, naming the pods and whose session.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { startService } from '../helpers/service.js'
import { waitFor } from '../helpers/fixtures.js'
import { appPod, call, node, sessionPod } from './helpers.js'
import type { FitReport } from '../../src/maintenance/types.js'

eachBackend(t, 'fit check: draining one node fits, two do not', async (t, b) => {
  for (const n of ['f1', 'f2', 'f3']) await node(b, n, '4')
  await appPod(b, 'web-f1', 'f1', '2')
  await sessionPod(b, 'sess-f2', 'f2', 'fay', '2')
  await appPod(b, 'web-f3', 'f3', '2')
  const svc = await startService(b.kc)
  t.teardown(() => svc.close())
  await waitFor(async () => (await call<{ total_pods: number }>(svc, 'GET', '/nodes/stats')).body.total_pods >= 3, 10_000, 'pods in the cache')

  const dry = await call<{ fit: FitReport }>(svc, 'POST', '/nodes/f1/drain', { dry_run: true, force: true })
  t.equal(dry.status, 200, dry.body.message)
  t.match(dry.body.fit, { fits: true, pods: 1, unplaced: [], remaining_nodes: ['f2', 'f3'] }, 'dry run: the pod of f1 fits elsewhere')

  const two = await call(svc, 'POST', '/maintenance', { nodes: ['f1', 'f2'], reason: 'too much' })
  t.equal(two.status, 422, 'refused: pods would be stranded')
  t.match(two.body.message, /pods would find no room/)
  const fit = (two.body.details as { fit: FitReport }).fit
  t.equal(fit.fits, false)
  t.equal(fit.pods, 2)
  t.equal(fit.unplaced.length, 1, 'one of the two pods finds no room on f3')
  const u = fit.unplaced[0]
  t.ok(['apps/web-f1', 'streamspace/sess-f2'].includes(u.pod), `names the pod: ${u.pod}`)
  t.match(u.reason, /0\/1 nodes are available: 1 Insufficient cpu/)
  if (u.pod === 'streamspace/sess-f2') t.equal(u.session_user, 'fay', 'and whose session')
  t.match(two.body.message, u.pod)
  t.notOk((await b.clients.core.readNode({ name: 'f1' })).spec?.unschedulable, 'nothing started')

  const one = await call(svc, 'POST', '/maintenance', { nodes: ['f1'], reason: 'fits', start_at: new Date(Date.now() + 3_600_000).toISOString() })
  t.equal(one.status, 201, one.body.message)
  t.match(one.body.fit, { fits: true, pods: 1 })
  await call(svc, 'DELETE', `/maintenance/${one.body.id}`)
  const forced = await call(svc, 'POST', '/maintenance', { nodes: ['f1', 'f2'], reason: 'forced', force: true, start_at: new Date(Date.now() + 3_600_000).toISOString() })
  t.equal(forced.status, 201, 'force starts it anyway')
  t.equal(forced.body.fit?.fits, false, 'and the plan keeps what the check said')
  await call(svc, 'DELETE', `/maintenance/${forced.body.id}`)
})
