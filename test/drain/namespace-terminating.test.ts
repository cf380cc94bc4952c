// An eviction in a namespace that is being deleted is refused with 403 and the cause
// NamespaceTerminating (NamespaceLifecycle admission). kubectl drain does not report that as a
// failure: the pod is going anyway, so it waits for it. Only the real API server has terminating
// namespaces (the simulator empties a namespace at once on delete).
import t from 'tap'
import { DrainManager } from '../../src/drain/manager.js'
import { systemClock } from '../../src/kube/reflector.js'
import { backendSkip, startBackend } from '../helpers/backend.js'
import { createNode, createPod, createReplicaSet, ensureNamespace, podsOnNode } from './fixtures.js'
import { waitPodsRunning } from '../helpers/fixtures.js'

t.test('eviction refused because the namespace terminates: the drain waits for the pod [apiserver]', { skip: backendSkip('apiserver') }, async (t) => {
  const b = await startBackend('apiserver')
  t.teardown(() => b.close())
  const c = b.clients
  await createNode(c, 'n-doomed')
  await ensureNamespace(c, 'doomed')
  const rs = await createReplicaSet(c, 'doomed', 'web', 1, { app: 'web' })
  // The pod takes 5 s to terminate, so the namespace stays Terminating while we drain.
  await createPod(c, { namespace: 'doomed', name: 'web-0', node: 'n-doomed', owner: rs, labels: { app: 'web' }, grace: 5 })
  await waitPodsRunning(c, 'doomed', ['web-0'])
  await c.core.deleteNamespace({ name: 'doomed' })
  const m = new DrainManager({ clients: c, clock: systemClock })
  t.teardown(() => m.close())
  const result = await (await m.start('n-doomed', { timeout_seconds: 60 })).result
  t.equal(result.message, 'Node drained successfully')
  t.same(result.evicted, ['doomed/web-0'])
  t.same(await podsOnNode(c, 'n-doomed'), [], 'the pod is gone')
})
