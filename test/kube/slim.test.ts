// What the watch caches keep (src/kube/slim.ts): nodes only the fields NodeObject declares, pods
// SlimPod with repeated values shared. The views must not see the difference: every node's detail
// rendered from the cached node equals the one rendered from the API's full object.
import t, { type Test } from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim, type SimCluster } from '../../src/sim/index.js'
import { ClusterCache } from '../../src/kube/cluster-cache.js'
import { Interner, NODE_FIELDS, slimNode } from '../../src/kube/slim.js'
import { readListPage } from '../../src/kube/raw.js'
import { nodeDetail } from '../../src/nodes/view.js'
import { waitFor } from '../helpers/fixtures.js'
import type { NodeObject } from '../../src/kube/types.js'

const silent = { info() {}, warn() {} }

const rawNode = (name: string) => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: {
    name, uid: `uid-${name}`, resourceVersion: '7', creationTimestamp: '2026-01-01T00:00:00Z', generation: 1,
    labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/arch': 'amd64' }, annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    managedFields: [{ manager: 'kubelet', operation: 'Update', fieldsV1: { 'f:status': {} } }], finalizers: ['x'],
  },
  spec: { podCIDR: '10.0.0.0/24', podCIDRs: ['10.0.0.0/24'], providerID: 'aws:///i-1', unschedulable: true, taints: [{ key: 'k', value: 'v', effect: 'NoSchedule', timeAdded: '2026-01-01T00:00:00Z' }] },
  status: {
    capacity: { cpu: '8', memory: '32Gi', pods: '110' }, allocatable: { cpu: '7910m', memory: '31Gi', pods: '110' },
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: '2026-01-01T00:00:10Z', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
    nodeInfo: { kubeletVersion: 'v1.33.1', machineID: `m-${name}` },
    images: [{ names: ['registry.k8s.io/pause:3.10'], sizeBytes: 320000 }],
    volumesInUse: ['kubernetes.io/csi/x'], daemonEndpoints: { kubeletEndpoint: { Port: 10250 } }, phase: 'Running',
  },
})

/** A cache on the simulator, synced; it and the simulator stop at the test's end. */
async function syncedCache(t: Test, sim: SimCluster): Promise<ClusterCache> {
  const kc = new KubeConfig()
  kc.loadFromString(sim.kubeconfig())
  const cache = new ClusterCache({ kc, log: silent, sessionSelector: 'app=streamspace-session', metricsEnabled: false, metricsPollMs: 60_000, metricsHistorySamples: 2 })
  cache.start()
  t.teardown(async () => { await cache.stop(); await sim.close() })
  await waitFor(() => cache.synced, 15_000, 'cache synced')
  return cache
}

t.test('slimNode keeps exactly the NodeObject fields, unchanged', async (t) => {
  const slim = slimNode(rawNode('a'))
  t.same(slim, {
    metadata: { name: 'a', uid: 'uid-a', creationTimestamp: '2026-01-01T00:00:00Z', resourceVersion: '7', labels: { 'kubernetes.io/hostname': 'a', 'kubernetes.io/arch': 'amd64' }, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: { unschedulable: true, podCIDR: '10.0.0.0/24', providerID: 'aws:///i-1', taints: [{ key: 'k', value: 'v', effect: 'NoSchedule', timeAdded: '2026-01-01T00:00:00Z' }] },
    status: {
      capacity: { cpu: '8', memory: '32Gi', pods: '110' }, allocatable: { cpu: '7910m', memory: '31Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastTransitionTime: '2026-01-01T00:00:00Z', lastHeartbeatTime: '2026-01-01T00:00:10Z' }],
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
      nodeInfo: { kubeletVersion: 'v1.33.1', machineID: 'm-a' },
    },
  }, 'images, volumesInUse, daemonEndpoints, managedFields, finalizers, podCIDRs and phase are dropped')
  t.same(slimNode({}), {}, 'an empty object stays empty')
  t.same(slimNode({ metadata: { name: 'x' } }), { metadata: { name: 'x' } }, 'absent sections stay absent')

  const pool = new Interner()
  const a = slimNode(rawNode('a'), pool)
  const b = slimNode(rawNode('b'), pool)
  t.equal(a.status!.capacity, b.status!.capacity, 'equal capacities are one shared record')
  t.not(a.metadata!.labels, b.metadata!.labels, 'labels that differ are not shared')
})

t.test('a node listed through NODE_FIELDS is slimmed to the same as the whole node', async (t) => {
  const page = readListPage(Buffer.from(JSON.stringify({ metadata: {}, items: [rawNode('a')] })), NODE_FIELDS)
  const listed = page.next().value
  t.same(slimNode(listed), slimNode(rawNode('a')))
  t.ok(!JSON.stringify(listed).includes('images'), 'what slimNode drops is not parsed at all')
})

t.test('a pod the cache lists (only the members it reads are parsed) is kept as the same pod watched whole', async (t) => {
  const sim = await startSim({ nodes: 2, podsPerNode: 0 })
  const pod = (name: string) => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: 'default', labels: { app: 'streamspace-session', user: 'u1' }, annotations: { big: 'x'.repeat(2000) },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Other', name: 'o', uid: 'u0' }, { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true }],
    },
    spec: {
      nodeName: 'node-00001', nodeSelector: { disk: 'ssd' },
      tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule', tolerationSeconds: 5 }],
      containers: [
        { name: 'a', image: 'x', resources: { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1' } }, env: [{ name: 'E', value: '}' }] },
        { name: 'b', image: 'y', resources: { requests: { cpu: '1500m', memory: '512Mi' } } },
        { name: 'c', image: 'z' },
      ],
    },
  })
  const create = async (name: string) => {
    const res = await fetch(`${sim.url}/api/v1/namespaces/default/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod(name)) })
    t.equal(res.status, 201, `created ${name}`)
  }
  await create('listed')
  const cache = await syncedCache(t, sim)
  await create('watched')
  await waitFor(() => cache.podsOnNode('node-00001').length === 2, 10_000, 'the watched pod')
  const [listed, watched] = ['listed', 'watched'].map((n) => cache.podsOnNode('node-00001').find((p) => p.name === n)!)
  t.same({ ...listed, name: '' }, { ...watched, name: '' }, 'the same pod but its name')
  t.match(listed, { session: true, labels: { user: 'u1' }, ownerKind: 'ReplicaSet', ownerName: 'rs', cpuRequestMilli: 1750, memoryRequestBytes: 1536 * 1024 * 1024, nodeSelector: { disk: 'ssd' }, tolerations: [{ key: 'k', tolerationSeconds: 5 }] })
})

t.test('the caches keep slim nodes and pods; every view is the same as from the full objects', async (t) => {
  const sim = await startSim({ nodes: 6, podsPerNode: 8, sessionsPerNode: 2 })
  const cache = await syncedCache(t, sim)

  const raw = (await (await fetch(`${sim.url}/api/v1/nodes`)).json()) as { items: NodeObject[] }
  t.equal(cache.nodes.size, raw.items.length)
  t.ok(raw.items.some((n) => (n.status as Record<string, unknown>).images), 'the API\'s nodes carry status.images')
  const allowed: Record<string, string[]> = {
    metadata: ['name', 'uid', 'labels', 'annotations', 'creationTimestamp', 'resourceVersion'],
    spec: ['unschedulable', 'taints', 'podCIDR', 'providerID'],
    status: ['capacity', 'allocatable', 'conditions', 'addresses', 'nodeInfo'],
  }
  const now = Date.now()
  for (const full of raw.items) {
    const name = full.metadata!.name!
    const cached = cache.getNode(name)!
    for (const [section, keys] of Object.entries(allowed)) {
      const extra = Object.keys((cached as Record<string, object>)[section] ?? {}).filter((k) => !keys.includes(k))
      t.same(extra, [], `${name}: ${section} keeps only NodeObject's fields`)
    }
    const facts = { pods: cache.podsOnNode(name), usage: undefined, now }
    t.same(nodeDetail(cached, facts), nodeDetail(full, facts), `${name}: its detail (and so its view) is the same from the cached node`)
  }

  const pods = raw.items.flatMap((n) => cache.podsOnNode(n.metadata!.name!))
  t.equal(cache.podCount, sim.cluster.store.collection('pods').objects.size, 'every pod is indexed')
  t.ok(pods.length > 20)
  const withTolerations = pods.filter((p) => p.tolerations)
  t.ok(withTolerations.length > 10, 'seeded pods have tolerations')
  const shared = new Set(withTolerations.map((p) => JSON.stringify(p.tolerations)))
  const instances = new Set(withTolerations.map((p) => p.tolerations))
  t.equal(instances.size, shared.size, 'pods with equal tolerations share one list')
  t.ok(pods.every((p) => !('uid' in p)), 'no uid kept')
  t.ok(pods.some((p) => p.session && p.labels), 'session pods keep their labels')
  t.ok(pods.filter((p) => !p.session).every((p) => !p.labels), 'other pods keep none')
})

t.test('tolerations are shared only when every field is equal (an absent field is not the text "undefined")', async (t) => {
  const intern = new Interner()
  const a = intern.tolerations([{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }])
  t.equal(intern.tolerations([{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }]), a, 'equal: shared')
  t.not(intern.tolerations([{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule', tolerationSeconds: 300 }]), a, 'tolerationSeconds differs')
  const absent = intern.tolerations([{ operator: 'Exists' }])
  const named = intern.tolerations([{ key: 'undefined', operator: 'Exists' }])
  t.not(named, absent, 'no key (tolerates every taint) is not the key "undefined"')
  t.same(absent, [{ operator: 'Exists' }])
  t.same(named, [{ key: 'undefined', operator: 'Exists' }])
  t.not(intern.tolerations([{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'Exists' }]), intern.tolerations([{ key: 'b', operator: 'Exists' }, { key: 'a', operator: 'Exists' }]), 'order kept')
})

t.test('whenSynced resolves once both caches have synced, not before', async (t) => {
  const sim = await startSim({ nodes: 3, podsPerNode: 2, faults: { errorRate: 1 } })
  const kc = new KubeConfig()
  kc.loadFromString(sim.kubeconfig())
  const cache = new ClusterCache({ kc, log: silent, sessionSelector: 'app=streamspace-session', metricsEnabled: false, metricsPollMs: 60_000, metricsHistorySamples: 2 })
  let syncedAt: boolean | undefined
  void cache.whenSynced().then(() => { syncedAt = cache.synced })
  cache.start()
  t.teardown(async () => { await cache.stop(); await sim.close() })
  await waitFor(() => sim.faultCounts.errors >= 2, 10_000, 'lists refused')
  await new Promise((r) => setTimeout(r, 100))
  t.equal(syncedAt, undefined, 'every LIST refused: not resolved')
  sim.faults = { ...sim.faults, errorRate: 0 }
  await waitFor(() => syncedAt !== undefined, 15_000, 'whenSynced')
  t.equal(syncedAt, true, 'resolved with both caches synced')
})
