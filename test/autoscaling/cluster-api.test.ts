// AUTOSCALING_PROVIDER=cluster-api through the real service, with a fake clock (no interval ever
// passes: every change below comes from the leader taking over or from PUT P/config):
// the selected MachineDeployments get cluster-autoscaler's annotations (minNodes and maxNodes shared
// out, scaleDownThreshold as a fraction) and keep their replicas; the overprovisioning Deployment and
// its PriorityClass are made with our labels and sized from scaleUpThreshold; a threshold change
// updates them; disabling puts everything back (an annotation that was there before comes back,
// one on a group never selected stays); a restart with provider none touches none of it.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { FakeClock } from '../helpers/clock.js'
import { createMachineDeployment, createNode, ensureNamespace } from '../helpers/fixtures.js'
import { startService, waitFor, type Service } from '../helpers/service.js'
import type { KubeClients } from '../../src/kube/client.js'
import { applyPatch, CA_MAX_SIZE as MAX, CA_MIN_SIZE as MIN, CA_SCALE_DOWN_THRESHOLD as SD, groupAnnotations, headroom, managedElsewhere, RECORD, releasePatch, share, WRITTEN } from '../../src/autoscaling/cluster-api.js'
import { OVERPROVISIONING_NAME as OP } from '../../src/kube/permissions.js'

t.test('pure rules', async (t) => {
  t.same([0, 1, 2].map((i) => share(10, 3, i)), [4, 3, 3], 'max 10 over 3 groups')
  t.same([0, 1, 2].map((i) => share(1, 3, i)), [1, 0, 0], 'min 1 over 3 groups')
  t.same(groupAnnotations(1, { minNodes: 2, maxNodes: 9, scaleDownThreshold: 35 }), [{ [MIN]: '2', [MAX]: '9', [SD]: '0.35' }])
  const p = applyPatch({ [MAX]: '7', other: 'x' }, { [MIN]: '1', [MAX]: '3', [SD]: '0.2' })!
  t.same({ ...p, [RECORD]: JSON.parse(p[RECORD]!), [WRITTEN]: JSON.parse(p[WRITTEN]!) }, { [MIN]: '1', [MAX]: '3', [SD]: '0.2', [RECORD]: { [MAX]: '7', [MIN]: null, [SD]: null }, [WRITTEN]: { [MAX]: '3', [MIN]: '1', [SD]: '0.2' } }, 'what was there is remembered, and what we wrote')
  const after = { [MIN]: '1', [MAX]: '3', [SD]: '0.2', [RECORD]: p[RECORD]!, [WRITTEN]: p[WRITTEN]!, other: 'x' }
  t.equal(applyPatch(after, { [MIN]: '1', [MAX]: '3', [SD]: '0.2' }), undefined, 'in step: nothing to write')
  const changed = applyPatch(after, { [MIN]: '1', [MAX]: '4', [SD]: '0.2' })!
  t.same({ ...changed, [WRITTEN]: JSON.parse(changed[WRITTEN]!) }, { [MAX]: '4', [WRITTEN]: { [MAX]: '4', [MIN]: '1', [SD]: '0.2' } }, 'a change keeps the first record')
  t.same(releasePatch(after), { [MAX]: '7', [MIN]: null, [SD]: null, [RECORD]: null, [WRITTEN]: null }, 'let go: as before')
  t.equal(releasePatch({ [MIN]: '3' }), undefined, 'never ours: left alone')
  const two = [{ allocatableCpuMilli: 4000, allocatableMemoryBytes: 8 * 2 ** 30 }, { allocatableCpuMilli: 2000, allocatableMemoryBytes: 4 * 2 ** 30 }]
  t.same(headroom(two, 80, 50), { replicas: 2, cpu: '600m', memory: '1228Mi' }, '20% of the average node')
  t.same(headroom(two, 80, 20), { replicas: 2, cpu: '300m', memory: '614Mi' }, 'capped at half of scaleDownThreshold 20: 10%')
  t.same(headroom([], 80, 20), { replicas: 0, cpu: '0', memory: '0' })
})

// Issue 24, finding 10: an annotation another manager changed after we wrote it is theirs.
t.test('an annotation a GitOps tool or a ClusterClass took over is left alone', async (t) => {
  const W = { [MIN]: '1', [MAX]: '3', [SD]: '0.2' }
  const first = applyPatch({}, W)!
  const ours = Object.fromEntries(Object.entries(first).map(([k, v]) => [k, v!]))
  t.same(managedElsewhere(ours, Object.keys(W)), [], 'as we wrote them: ours')
  const gitops = { ...ours, [MAX]: '6' }
  t.same(managedElsewhere(gitops, Object.keys(W)), [MAX], 'max-size changed by someone else')
  t.equal(applyPatch(gitops, W), undefined, 'not re-patched: nothing to write')
  const next = applyPatch(gitops, { ...W, [MAX]: '5', [MIN]: '2' })!
  t.same(Object.keys(next).sort(), [MIN, WRITTEN].sort(), 'our own new value written; max-size still left alone')
  t.equal(JSON.parse(next[WRITTEN]!)[MAX], '3', 'what we last wrote there is kept (the proof it changed)')
  t.same(releasePatch(gitops), { [MIN]: null, [SD]: null, [RECORD]: null, [WRITTEN]: null }, 'let go: theirs is not put back')
  t.same(managedElsewhere({ ...ours, [MAX]: undefined as unknown as string }, [MAX]), [MAX], 'removed by someone else: theirs too')
  const upgraded = { [MIN]: '1', [MAX]: '3', [SD]: '0.2', [RECORD]: first[RECORD]! }
  t.same(managedElsewhere(upgraded, Object.keys(W)), [], 'written by a version that kept no record of its values: taken as ours')
})

const SELECTED = { 'streamspace.io/autoscaling': 'enabled' }

async function md(c: KubeClients, name: string): Promise<{ annotations: Record<string, string>; replicas: number; spec: unknown }> {
  const o = await c.custom.getNamespacedCustomObject({ group: 'cluster.x-k8s.io', version: 'v1beta1', namespace: 'capi', plural: 'machinedeployments', name }) as { metadata: { annotations?: Record<string, string> }; spec: { replicas: number } }
  return { annotations: o.metadata.annotations ?? {}, replicas: o.spec.replicas, spec: o.spec }
}

const gone = async (p: Promise<unknown>) => p.then(() => false, (err: { code?: number }) => err.code === 404)

eachBackend(t, 'cluster-api provider', async (t, b) => {
  const c = b.clients
  await t.rejects(startService(b.kc, { env: { AUTOSCALING_PROVIDER: 'cluster-api', CLUSTER_API_SELECTOR: 'tier in (a' } }), /CLUSTER_API_SELECTOR is not a label selector/, 'a bad selector refuses to start, naming it')
  await ensureNamespace(c, 'streamspace')
  await ensureNamespace(c, 'capi')
  await createNode(c, { name: 'a', cpu: '4', memory: '8Gi' })
  await createNode(c, { name: 'b', cpu: '4', memory: '8Gi' })
  await createMachineDeployment(c, { name: 'md-1', namespace: 'capi', labels: SELECTED, annotations: { [MAX]: '7' } })
  await createMachineDeployment(c, { name: 'md-2', namespace: 'capi', labels: SELECTED, replicas: 1 })
  await createMachineDeployment(c, { name: 'md-other', namespace: 'capi', annotations: { [MIN]: '3' } })
  const specs = { 'md-1': (await md(c, 'md-1')).spec, 'md-2': (await md(c, 'md-2')).spec }
  const clock = new FakeClock(Date.now())
  const env = { AUTOSCALING_PROVIDER: 'cluster-api', ENABLE_AUTO_SCALING: 'true', MIN_NODES: '1', MAX_NODES: '5', SCALE_UP_THRESHOLD: '80', SCALE_DOWN_THRESHOLD: '20' }
  let svc: Service = await startService(b.kc, { clock, env })
  t.teardown(() => svc.close())
  const state = () => svc.app.autoscaling.clusterApi.state

  await waitFor(() => state().overprovisioning !== null && state().error === null, 20_000, 'first pass applied')
  let m1 = await md(c, 'md-1'), m2 = await md(c, 'md-2')
  t.same([m1.annotations[MIN], m1.annotations[MAX], m1.annotations[SD]], ['1', '3', '0.2'], 'md-1: min 1 of 1, max 3 of 5, threshold 0.2')
  t.same([m2.annotations[MIN], m2.annotations[MAX], m2.annotations[SD]], ['0', '2', '0.2'], 'md-2: the rest')
  t.same(JSON.parse(m1.annotations[RECORD]), { [MAX]: '7', [MIN]: null, [SD]: null }, 'md-1 remembers its own max-size')
  t.same((await md(c, 'md-other')).annotations, { [MIN]: '3' }, 'a group not selected is not touched')
  t.same([m1.spec, m2.spec], [specs['md-1'], specs['md-2']], 'spec (replicas included) never written')

  const pc = await c.scheduling.readPriorityClass({ name: OP })
  t.same([pc.value, pc.globalDefault ?? false, pc.preemptionPolicy, pc.metadata?.labels?.['app.kubernetes.io/managed-by']], [-10, false, 'Never', 'streamspace-node-manager'], 'PriorityClass -10, not the default, never preempting, ours')
  let d = await c.apps.readNamespacedDeployment({ name: OP, namespace: 'streamspace' })
  t.equal(d.metadata?.labels?.['app.kubernetes.io/managed-by'], 'streamspace-node-manager', 'Deployment labelled ours')
  t.equal(d.spec?.template.metadata?.labels?.['app.kubernetes.io/managed-by'], 'streamspace-node-manager', 'and its pods')
  t.equal(d.spec?.template.spec?.priorityClassName, OP)
  t.equal(d.spec?.replicas, 2, 'one pause pod per schedulable node')
  t.same(d.spec?.template.spec?.containers[0].resources?.requests, { cpu: '400m', memory: '819Mi' }, '10% of a node each (20% capped at half of scaleDownThreshold 20)')

  const status = await (await svc.api('/autoscaling')).json() as any
  t.equal(status.provider, 'cluster-api')
  t.same(status.cluster_api.machine_deployments.map((g: any) => [g.name, g.min_size, g.max_size, g.scale_down_utilization_threshold, g.replicas, g.managed_elsewhere]), [['md-1', 1, 3, 0.2, 2, []], ['md-2', 0, 2, 0.2, 1, []]])
  t.same(status.cluster_api.overprovisioning, { replicas: 2, cpu: '400m', memory: '819Mi', priority_class: OP, percent_of_node: 10 })

  // Thresholds through PUT P/config: the clock stands still, the change alone brings the update.
  t.equal((await svc.api('/config', { method: 'PUT', json: { minNodes: 3, maxNodes: 8, scaleUpThreshold: 70, scaleDownThreshold: 30 } })).status, 200)
  await waitFor(async () => (await md(c, 'md-2')).annotations[MAX] === '4', 20_000, 'md-2 max-size updated')
  m1 = await md(c, 'md-1'); m2 = await md(c, 'md-2')
  t.same([m1.annotations[MIN], m1.annotations[MAX], m1.annotations[SD]], ['2', '4', '0.3'])
  t.same([m2.annotations[MIN], m2.annotations[MAX], m2.annotations[SD]], ['1', '4', '0.3'])
  t.same(JSON.parse(m1.annotations[RECORD]), { [MAX]: '7', [MIN]: null, [SD]: null }, 'still the value from before us')
  await waitFor(async () => (await c.apps.readNamespacedDeployment({ name: OP, namespace: 'streamspace' })).spec?.template.spec?.containers[0].resources?.requests?.cpu === '600m', 20_000, 'headroom resized')
  d = await c.apps.readNamespacedDeployment({ name: OP, namespace: 'streamspace' })
  t.same(d.spec?.template.spec?.containers[0].resources?.requests, { cpu: '600m', memory: '1228Mi' }, '15% of a node each (30% capped at half of scaleDownThreshold 30)')
  t.same([(await md(c, 'md-1')).spec, (await md(c, 'md-2')).spec], [specs['md-1'], specs['md-2']], 'replicas still untouched')

  // Disabled: all of it goes, the annotations as they were.
  t.equal((await svc.api('/config', { method: 'PUT', json: { enableAutoScaling: false } })).status, 200)
  await waitFor(async () => gone(c.apps.readNamespacedDeployment({ name: OP, namespace: 'streamspace' })), 20_000, 'Deployment deleted')
  await waitFor(async () => gone(c.scheduling.readPriorityClass({ name: OP })), 20_000, 'PriorityClass deleted')
  await waitFor(() => state().enabled === false && state().overprovisioning === null && state().error === null, 20_000, 'released')
  t.same((await md(c, 'md-1')).annotations, { [MAX]: '7' }, 'md-1 as before')
  t.same((await md(c, 'md-2')).annotations, {}, 'md-2 as before')
  t.same((await md(c, 'md-other')).annotations, { [MIN]: '3' }, 'md-other as before')
  const off = await (await svc.api('/autoscaling')).json() as any
  t.same([off.cluster_api.enabled, off.cluster_api.machine_deployments, off.cluster_api.overprovisioning], [false, [], null])

  // A group that leaves the selection gets its annotations back while the rest stay managed.
  t.equal((await svc.api('/config', { method: 'PUT', json: { enableAutoScaling: true } })).status, 200)
  await waitFor(async () => (await md(c, 'md-2')).annotations[MIN] !== undefined && state().overprovisioning !== null, 20_000, 'applied again')
  await c.custom.patchNamespacedCustomObject({ group: 'cluster.x-k8s.io', version: 'v1beta1', namespace: 'capi', plural: 'machinedeployments', name: 'md-2', body: { metadata: { labels: { 'streamspace.io/autoscaling': null } } } },
    (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', (await import('@kubernetes/client-node')).PatchStrategy.MergePatch))
  t.equal((await svc.api('/config', { method: 'PUT', json: { maxNodes: 9 } })).status, 200)
  await waitFor(async () => (await md(c, 'md-1')).annotations[MAX] === '9', 20_000, 'md-1 now alone: all of maxNodes')
  // The same pass releases md-2 after it has written md-1.
  await waitFor(async () => (await md(c, 'md-2')).annotations[RECORD] === undefined, 20_000, 'md-2 released')
  t.same((await md(c, 'md-2')).annotations, {}, 'md-2 no longer selected: as before')

  // Restarted with AUTOSCALING_PROVIDER=none: Cluster API is not touched at all (the chart grants
  // provider none no rights there); what cluster-api made is removed by enableAutoScaling false
  // before the provider changes (above; docs/operations.md, "Upgrade notes").
  await svc.close()
  svc = await startService(b.kc, { clock, env: { ...env, AUTOSCALING_PROVIDER: 'none' } })
  await waitFor(() => svc.app.health.isLeader(), 20_000, 'leadership with provider none')
  // Leading starts every leader loop; stopping the cluster-api one would wait for a pass it began.
  await svc.app.autoscaling.clusterApi.stopLeading()
  t.equal(svc.app.autoscaling.clusterApi.state.last_sync, null, 'provider none: no cluster-api pass')
  t.ok((await md(c, 'md-1')).annotations[RECORD], 'md-1 keeps what cluster-api wrote')
  t.notOk(await gone(c.apps.readNamespacedDeployment({ name: OP, namespace: 'streamspace' })), 'the overprovisioning Deployment is left alone')
  t.equal((await (await svc.api('/autoscaling')).json() as any).cluster_api, null, 'provider none shows no cluster_api')
})
