// Session protection through the real service: a node gets cluster-autoscaler's and Karpenter's
// annotations when a session pod comes, loses them when it goes, and an annotation someone else set
// (here Karpenter's on b) is kept, sessions or not. Plus the pure patch rules.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace } from '../helpers/fixtures.js'
import { startService, waitFor } from '../helpers/service.js'
import { patchNodeAnnotations } from '../../src/kube/node-patches.js'
import { CA_SCALE_DOWN_DISABLED as CA, KARPENTER_DO_NOT_DISRUPT as KP, PROTECTED_BY, protectionPatch } from '../../src/autoscaling/protection.js'

t.test('protectionPatch', async (t) => {
  t.same(protectionPatch(undefined, true), { [CA]: 'true', [KP]: 'true', [PROTECTED_BY]: `${CA},${KP}` })
  t.same(protectionPatch({ [KP]: 'true' }, true), { [CA]: 'true', [PROTECTED_BY]: CA }, 'a foreign annotation is not claimed')
  t.equal(protectionPatch({ [CA]: 'true', [PROTECTED_BY]: CA, [KP]: 'true' }, true), undefined, 'already in line')
  t.same(protectionPatch({ [CA]: 'true', [PROTECTED_BY]: CA, [KP]: 'true' }, false), { [CA]: null, [PROTECTED_BY]: null }, 'only ours removed')
  t.equal(protectionPatch({ [KP]: 'true' }, false), undefined, 'foreign kept without sessions')
})

eachBackend(t, 'session protection annotations', async (t, b) => {
  const c = b.clients
  await ensureNamespace(c, 'streamspace')
  await createNode(c, { name: 'a', cpu: '4', memory: '8Gi' })
  await createNode(c, { name: 'b', cpu: '4', memory: '8Gi' })
  await patchNodeAnnotations(c, 'b', { [KP]: 'true' })
  const svc = await startService(b.kc, { env: { AUTOSCALING_INTERVAL_SECONDS: '0.2' } })
  t.teardown(() => svc.close())
  const ann = async (n: string) => (await c.core.readNode({ name: n })).metadata?.annotations ?? {}
  const session = (name: string, node: string) => createPod(c, {
    name, namespace: 'streamspace', node, labels: { app: 'streamspace-session', session: name, user: 'bob', template: 'firefox' },
    requests: { cpu: '100m', memory: '128Mi' },
  })
  await session('s1', 'a')
  await session('s2', 'b')
  await waitFor(async () => (await ann('a'))[CA] === 'true' && (await ann('b'))[CA] === 'true', 20_000, 'a and b protected')
  t.same([(await ann('a'))[KP], (await ann('a'))[PROTECTED_BY]], ['true', `${CA},${KP}`])
  t.same([(await ann('b'))[KP], (await ann('b'))[PROTECTED_BY]], ['true', CA], 'b: the foreign annotation is not ours')

  await c.core.deleteNamespacedPod({ name: 's1', namespace: 'streamspace', gracePeriodSeconds: 0 })
  await c.core.deleteNamespacedPod({ name: 's2', namespace: 'streamspace', gracePeriodSeconds: 0 })
  await waitFor(async () => (await ann('a'))[CA] === undefined && (await ann('b'))[CA] === undefined, 20_000, 'protection removed')
  const a = await ann('a'), bb = await ann('b')
  t.equal(a[KP], undefined); t.equal(a[PROTECTED_BY], undefined)
  t.equal(bb[KP], 'true', 'the foreign Karpenter annotation stays'); t.equal(bb[PROTECTED_BY], undefined)
})
