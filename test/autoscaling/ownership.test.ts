// Issue 24, finding 10, through the service on each backend: once a GitOps tool (or a ClusterClass
// topology) changes a node-group annotation we wrote, the provider leaves it alone on every later
// pass, says so in GET P/autoscaling, still writes its own values when they change, and does not
// put the other manager's value back when it lets go.
import t from 'tap'
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node'
import { eachBackend } from '../helpers/backend.js'
import { FakeClock } from '../helpers/clock.js'
import { createMachineDeployment, createNode, ensureNamespace } from '../helpers/fixtures.js'
import { startService, waitFor } from '../helpers/service.js'
import { CA_MAX_SIZE as MAX, CA_MIN_SIZE as MIN, CA_SCALE_DOWN_THRESHOLD as SD } from '../../src/autoscaling/cluster-api.js'

const MD = { group: 'cluster.x-k8s.io', version: 'v1beta1', namespace: 'capi', plural: 'machinedeployments' }

eachBackend(t, 'cluster-api: annotations owned elsewhere', async (t, b) => {
  const c = b.clients
  await ensureNamespace(c, 'streamspace')
  await ensureNamespace(c, 'capi')
  await createNode(c, { name: 'a', cpu: '4', memory: '8Gi' })
  await createMachineDeployment(c, { name: 'md-1', namespace: 'capi', labels: { 'streamspace.io/autoscaling': 'enabled' } })
  const annotations = async () => ((await c.custom.getNamespacedCustomObject({ ...MD, name: 'md-1' })) as { metadata: { annotations?: Record<string, string>; resourceVersion: string } }).metadata
  const clock = new FakeClock(Date.now())
  const svc = await startService(b.kc, { clock, env: { AUTOSCALING_PROVIDER: 'cluster-api', ENABLE_AUTO_SCALING: 'true', MIN_NODES: '1', MAX_NODES: '5' } })
  t.teardown(() => svc.close())
  const provider = svc.app.autoscaling.clusterApi
  await waitFor(async () => (await annotations()).annotations?.[MAX] === '5' && provider.state.error === null, 20_000, 'first pass')

  // "GitOps": max-size is now 8 in Git, and synced to the cluster.
  await c.custom.patchNamespacedCustomObject({ ...MD, name: 'md-1', body: { metadata: { annotations: { [MAX]: '8' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
  const rvBefore = (await annotations()).resourceVersion
  // A pass that wants nothing new of the group (scaleUpThreshold only sizes the pause pods).
  const passes = provider.passes
  t.equal((await svc.api('/config', { method: 'PUT', json: { scaleUpThreshold: 75 } })).status, 200)
  await waitFor(() => provider.passes > passes, 20_000, 'a pass')
  let md = await annotations()
  t.equal(md.annotations?.[MAX], '8', 'not re-patched back to 5')
  t.equal(md.resourceVersion, rvBefore, 'nothing written to the group at all')
  const s = await (await svc.api('/autoscaling')).json() as any
  t.same(s.cluster_api.machine_deployments.map((g: any) => [g.name, g.max_size, g.managed_elsewhere]), [['md-1', 8, [MAX]]], 'the status says who has it')

  // Our own value changes: min-size is written, max-size still left alone.
  t.equal((await svc.api('/config', { method: 'PUT', json: { minNodes: 2, maxNodes: 6 } })).status, 200)
  await waitFor(async () => (await annotations()).annotations?.[MIN] === '2', 20_000, 'min-size written')
  md = await annotations()
  t.equal(md.annotations?.[MAX], '8', 'max-size still theirs')

  // Let go: ours removed, theirs kept.
  t.equal((await svc.api('/config', { method: 'PUT', json: { enableAutoScaling: false } })).status, 200)
  await waitFor(async () => (await annotations()).annotations?.[MIN] === undefined, 20_000, 'released')
  md = await annotations()
  t.equal(md.annotations?.[MAX], '8', 'their max-size kept')
  t.equal(md.annotations?.[SD], undefined, 'our threshold removed')
})
