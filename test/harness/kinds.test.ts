// The kinds later features need, on both backends: StreamSpace Sessions run by a session controller
// (the sim's stand-in; on the real server test/helpers/session-controller.ts with
// kube-controller-manager's deployment and replicaset controllers), Cluster API MachineDeployments
// with their scale subresource, PriorityClasses.
import t from 'tap'
import { CustomObjectsApi, PatchStrategy, SchedulingV1Api, setHeaderOptions, type V1Pod } from '@kubernetes/client-node'
import { eachBackend, type Backend } from '../helpers/backend.js'
import { createNode, ensureNamespace, kubeRequest, waitFor } from '../helpers/fixtures.js'

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
const ns = 'streamspace'
const S = { group: 'stream.space', version: 'v1alpha1', plural: 'sessions' }
const MD = { group: 'cluster.x-k8s.io', version: 'v1beta1', plural: 'machinedeployments' }

async function sessionPods(b: Backend, name: string): Promise<V1Pod[]> {
  return (await b.clients.core.listNamespacedPod({ namespace: ns, labelSelector: `app=streamspace-session,session=${name}` })).items
}

const running = (pods: V1Pod[]) => pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))

eachBackend(t, 'sessions, machine deployments and priority classes', async (t, b) => {
  const custom = b.kc.makeApiClient(CustomObjectsApi)
  const scheduling = b.kc.makeApiClient(SchedulingV1Api)
  await ensureNamespace(b.clients, ns)
  await createNode(b.clients, { name: 'w1', cpu: '8', memory: '32Gi' })
  await createNode(b.clients, { name: 'w2', cpu: '8', memory: '32Gi' })
  const session = async (name: string) => custom.getNamespacedCustomObject({ ...S, namespace: ns, name }) as Promise<any>

  await t.test('a Session runs as a Deployment whose pod carries the session labels; hibernate, resume, terminate', async (t) => {
    const created = await custom.createNamespacedCustomObject({
      ...S, namespace: ns,
      body: { apiVersion: 'stream.space/v1alpha1', kind: 'Session', metadata: { name: 'alice-1', labels: { app: 'streamspace-session', session: 'alice-1', user: 'alice', template: 'firefox' } }, spec: { user: 'alice', template: 'firefox' } },
    }) as any
    t.equal(created.spec.state, 'running', 'spec.state defaults to running (the CRD schema default)')
    let pods: V1Pod[] = []
    await waitFor(async () => running(pods = await sessionPods(b, 'alice-1')).length === 1, 30_000, 'the session pod to run')
    const pod = running(pods)[0]
    t.match(pod.metadata?.labels, { app: 'streamspace-session', session: 'alice-1', user: 'alice', template: 'firefox' })
    t.ok(pod.spec?.nodeName === 'w1' || pod.spec?.nodeName === 'w2', `scheduled on a node (${pod.spec?.nodeName})`)
    const d = await b.clients.apps.readNamespacedDeployment({ name: 'alice-1', namespace: ns })
    t.equal(d.spec?.replicas, 1)
    t.match(d.metadata?.ownerReferences?.[0], { kind: 'Session', name: 'alice-1', controller: true })
    await waitFor(async () => (await session('alice-1')).status?.phase === 'Running', 15_000, 'phase Running')

    await custom.patchNamespacedCustomObject({ ...S, namespace: ns, name: 'alice-1', body: { spec: { state: 'hibernated' } } }, merge)
    await waitFor(async () => (await sessionPods(b, 'alice-1')).length === 0, 30_000, 'the pod to go on hibernate')
    t.equal((await b.clients.apps.readNamespacedDeployment({ name: 'alice-1', namespace: ns })).spec?.replicas, 0, 'the Deployment scaled to 0')
    await waitFor(async () => (await session('alice-1')).status?.phase === 'Hibernated', 15_000, 'phase Hibernated')

    await custom.patchNamespacedCustomObject({ ...S, namespace: ns, name: 'alice-1', body: { spec: { state: 'running' } } }, merge)
    await waitFor(async () => running(pods = await sessionPods(b, 'alice-1')).length === 1, 30_000, 'the pod back on resume')
    t.not(running(pods)[0].metadata?.uid, pod.metadata?.uid, 'a new pod, scheduled anew')
    await waitFor(async () => (await session('alice-1')).status?.phase === 'Running', 15_000, 'phase Running again')

    await custom.patchNamespacedCustomObject({ ...S, namespace: ns, name: 'alice-1', body: { spec: { state: 'terminated' } } }, merge)
    await waitFor(async () => (await sessionPods(b, 'alice-1')).length === 0, 30_000, 'the pod to go on terminate')
    await waitFor(async () => (await b.clients.apps.listNamespacedDeployment({ namespace: ns, fieldSelector: 'metadata.name=alice-1' })).items.length === 0, 30_000, 'the Deployment deleted')
    await waitFor(async () => (await session('alice-1')).status?.phase === 'Terminated', 15_000, 'phase Terminated')
  })

  await t.test('a deleted Session takes its Deployment and pod with it (garbage collection)', async (t) => {
    await custom.createNamespacedCustomObject({ ...S, namespace: ns, body: { apiVersion: 'stream.space/v1alpha1', kind: 'Session', metadata: { name: 'bob-1' }, spec: { user: 'bob', template: 'vscode' } } })
    await waitFor(async () => running(await sessionPods(b, 'bob-1')).length === 1, 30_000, 'bob-1 running')
    await custom.deleteNamespacedCustomObject({ ...S, namespace: ns, name: 'bob-1' })
    await waitFor(async () => (await sessionPods(b, 'bob-1')).length === 0, 60_000, 'bob-1 pod gone')
    t.pass()
  })

  await t.test('Session schema: state is an enum, user and template required', async (t) => {
    const path = `/apis/stream.space/v1alpha1/namespaces/${ns}/sessions`
    let r = await kubeRequest(b.kc, 'POST', path, { apiVersion: 'stream.space/v1alpha1', kind: 'Session', metadata: { name: 'bad' }, spec: { user: 'a', template: 'b', state: 'paused' } })
    t.equal(r.status, 422)
    t.equal(r.body.message, 'Session.stream.space "bad" is invalid: spec.state: Unsupported value: "paused": supported values: "running", "hibernated", "terminated"')
    r = await kubeRequest(b.kc, 'POST', path, { apiVersion: 'stream.space/v1alpha1', kind: 'Session', metadata: { name: 'bad' }, spec: { template: '' } })
    t.equal(r.status, 422)
    t.equal(r.body.message, 'Session.stream.space "bad" is invalid: [spec.template: Invalid value: "": spec.template in body should be at least 1 chars long, spec.user: Required value]')
    r = await kubeRequest(b.kc, 'PATCH', `${path}/none`, { spec: { state: 'running' } }, 'application/strategic-merge-patch+json')
    t.equal(r.status, 415, 'custom resources take no strategic merge patch')
  })

  await t.test('MachineDeployment: the scale subresource', async (t) => {
    await custom.createNamespacedCustomObject({
      ...MD, namespace: 'default',
      body: { apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'MachineDeployment', metadata: { name: 'md-1' }, spec: { clusterName: 'c1', replicas: 2, selector: { matchLabels: { pool: 'a' } }, template: { spec: { version: 'v1.33.0' } } } },
    })
    const base = '/apis/cluster.x-k8s.io/v1beta1/namespaces/default/machinedeployments/md-1'
    let r = await kubeRequest(b.kc, 'GET', `${base}/scale`)
    t.match(r, { status: 200, body: { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'md-1', namespace: 'default' }, spec: { replicas: 2 }, status: { replicas: 0 } } })
    t.notOk('selector' in r.body.status, 'no selector until status says one')
    await kubeRequest(b.kc, 'PATCH', `${base}/status`, { status: { replicas: 2, selector: 'pool=a' } }, 'application/merge-patch+json')
    r = await kubeRequest(b.kc, 'PATCH', `${base}/scale`, { spec: { replicas: 3 } }, 'application/merge-patch+json')
    t.match(r, { status: 200, body: { spec: { replicas: 3 }, status: { replicas: 2, selector: 'pool=a' } } })
    const md = await custom.getNamespacedCustomObject({ ...MD, namespace: 'default', name: 'md-1' }) as any
    t.equal(md.spec.replicas, 3, 'written through to spec.replicas')
    t.equal(md.metadata.generation, 2, 'a spec change')
    r = await kubeRequest(b.kc, 'PATCH', `${base}/scale`, { spec: { replicas: -1 } }, 'application/merge-patch+json')
    t.equal(r.status, 422)
    t.equal(r.body.message, 'MachineDeployment.cluster.x-k8s.io "md-1" is invalid: .spec.replicas: Invalid value: -1: should be a non-negative integer')
    r = await kubeRequest(b.kc, 'PUT', `${base}/scale`, { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'md-1', namespace: 'default', resourceVersion: '1' }, spec: { replicas: 5 } })
    t.equal(r.status, 409, 'a stale resourceVersion on the Scale conflicts')
    r = await kubeRequest(b.kc, 'PUT', `${base}/scale`, { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'md-1', namespace: 'default' }, spec: { replicas: 1 } })
    t.match(r, { status: 200, body: { spec: { replicas: 1 } } })
    t.equal((await kubeRequest(b.kc, 'GET', '/apis/cluster.x-k8s.io/v1beta1/namespaces/default/machinedeployments/nope/scale')).status, 404)
    const discovery = await kubeRequest(b.kc, 'GET', '/apis/cluster.x-k8s.io/v1beta1')
    t.match(discovery.body.resources.find((x: any) => x.name === 'machinedeployments/scale'), { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] })
    t.match(discovery.body.resources.find((x: any) => x.name === 'machinedeployments'), { shortNames: ['md'], namespaced: true })
  })

  await t.test('PriorityClass: create, read, update rules, delete', async (t) => {
    const system = (await scheduling.listPriorityClass()).items.map((p) => `${p.metadata?.name}=${p.value}`).sort()
    t.same(system, ['system-cluster-critical=2000000000', 'system-node-critical=2000001000'], 'the built-in classes')
    const pc = await scheduling.createPriorityClass({ body: { metadata: { name: 'overprovisioning' }, value: -10, description: 'headroom', globalDefault: false } })
    t.match(pc, { value: -10, preemptionPolicy: 'PreemptLowerPriority', description: 'headroom' })
    t.equal(pc.globalDefault, undefined, 'globalDefault false is omitted (omitempty)')
    const base = '/apis/scheduling.k8s.io/v1/priorityclasses'
    let r = await kubeRequest(b.kc, 'PATCH', `${base}/overprovisioning`, { value: -5 }, 'application/merge-patch+json')
    t.equal(r.status, 422)
    t.equal(r.body.message, 'PriorityClass.scheduling.k8s.io "overprovisioning" is invalid: value: Forbidden: may not be changed in an update.')
    r = await kubeRequest(b.kc, 'PATCH', `${base}/overprovisioning`, { description: 'pause pods' }, 'application/merge-patch+json')
    t.match(r, { status: 200, body: { description: 'pause pods', value: -10 } })
    r = await kubeRequest(b.kc, 'POST', base, { metadata: { name: 'too-high' }, value: 2_000_000_000 })
    t.equal(r.body.message, 'PriorityClass.scheduling.k8s.io "too-high" is invalid: value: Forbidden: maximum allowed value of a user defined priority is 1000000000')
    r = await kubeRequest(b.kc, 'POST', base, { metadata: { name: 'system-mine' }, value: 1 })
    t.equal(r.status, 422)
    await scheduling.createPriorityClass({ body: { metadata: { name: 'default-one' }, value: 1, globalDefault: true } })
    r = await kubeRequest(b.kc, 'POST', base, { metadata: { name: 'default-two' }, value: 2, globalDefault: true })
    t.match(r, { status: 403, body: { message: 'priorityclasses.scheduling.k8s.io "default-two" is forbidden: PriorityClass default-one is already marked as default. Only one default can exist' } })
    await scheduling.deletePriorityClass({ name: 'overprovisioning' })
    t.equal((await kubeRequest(b.kc, 'GET', `${base}/overprovisioning`)).status, 404)
  })

  await t.test('a Deployment makes a ReplicaSet and pods, and follows its scale', async (t) => {
    const labels = { app: 'pause' }
    await b.clients.apps.createNamespacedDeployment({
      namespace: 'default',
      body: { metadata: { name: 'pause' }, spec: { replicas: 3, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10' }] } } } },
    })
    const pods = async () => running((await b.clients.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=pause' })).items)
    await waitFor(async () => (await pods()).length === 3, 30_000, '3 pause pods')
    const rs = (await b.clients.apps.listNamespacedReplicaSet({ namespace: 'default', labelSelector: 'app=pause' })).items
    t.equal(rs.length, 1)
    t.match(rs[0].metadata?.name, /^pause-[a-z0-9]+$/)
    t.ok(rs[0].metadata?.labels?.['pod-template-hash'])
    await waitFor(async () => (await b.clients.apps.readNamespacedDeployment({ name: 'pause', namespace: 'default' })).status?.readyReplicas === 3, 15_000, 'Deployment status 3 ready')
    await kubeRequest(b.kc, 'PATCH', '/apis/apps/v1/namespaces/default/deployments/pause/scale', { spec: { replicas: 1 } }, 'application/merge-patch+json')
    await waitFor(async () => (await b.clients.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=pause' })).items.length === 1, 60_000, 'scaled down to 1 pod')
    t.pass()
  })
}, { workloadControllers: true, podTerminateSeconds: 1 })
