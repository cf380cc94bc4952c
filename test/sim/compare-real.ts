// Fidelity check, run by hand: the same requests against the sim and a real kube-apiserver v1.33
// (the test harness's, from scripts/setup-kube.sh), printing where answers differ. Expected
// differences: pods run at once on the sim (it plays the kubelet; the harness has none), so pod
// status, PDB health and eviction answers differ; error texts for garbage input; the oldest
// resourceVersion quoted in "too old resource version".
//   npx tsx test/sim/compare-real.ts
import { KubeConfig } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import { startApiServer } from '../helpers/apiserver.js'
import { kubeRequest } from '../helpers/fixtures.js'

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
interface Step { name: string; method: Method; path: string; body?: unknown; contentType?: string; pause?: number }

const node = (name: string) => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { a: '1', b: '2' } },
  spec: { taints: [{ key: 'k1', value: 'v', effect: 'NoSchedule' }, { key: 'k2', effect: 'NoExecute' }] },
  status: { capacity: { cpu: '4', memory: '16Gi', pods: '110' }, allocatable: { cpu: '4', memory: '16Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ok' }] },
})
const pod = (name: string, labels: Record<string, string> = { app: 'web' }) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, labels },
  spec: { nodeName: 'n1', terminationGracePeriodSeconds: 3, containers: [{ name: 'c', image: 'busybox' }] },
})
const SMP = 'application/strategic-merge-patch+json'
const MERGE = 'application/merge-patch+json'
const JSONP = 'application/json-patch+json'

const steps: Step[] = [
  { name: 'create node with status', method: 'POST', path: '/api/v1/nodes', body: node('n1') },
  { name: 'get missing node', method: 'GET', path: '/api/v1/nodes/nope' },
  { name: 'smp taints: full list', method: 'PATCH', path: '/api/v1/nodes/n1', body: { spec: { taints: [{ key: 'k3', effect: 'NoSchedule' }] } }, contentType: SMP },
  { name: 'smp taints: $patch delete', method: 'PATCH', path: '/api/v1/nodes/n1', body: { spec: { taints: [{ key: 'k3', $patch: 'delete' }, { key: 'k4', effect: 'NoSchedule' }] } }, contentType: SMP },
  { name: 'smp labels null', method: 'PATCH', path: '/api/v1/nodes/n1', body: { metadata: { labels: { a: null, c: '3' } } }, contentType: SMP },
  { name: 'merge unschedulable', method: 'PATCH', path: '/api/v1/nodes/n1', body: { spec: { unschedulable: true } }, contentType: MERGE },
  { name: 'json patch test fails', method: 'PATCH', path: '/api/v1/nodes/n1', body: [{ op: 'test', path: '/metadata/labels/b', value: 'x' }], contentType: JSONP },
  { name: 'json patch remove missing', method: 'PATCH', path: '/api/v1/nodes/n1', body: [{ op: 'remove', path: '/metadata/labels/zzz' }], contentType: JSONP },
  { name: 'replace stale rv', method: 'PUT', path: '/api/v1/nodes/n1', body: { ...node('n1'), metadata: { name: 'n1', resourceVersion: '1' } } },
  { name: 'list nodes limit 1', method: 'GET', path: '/api/v1/nodes?limit=1' },
  { name: 'bad continue', method: 'GET', path: '/api/v1/nodes?limit=1&continue=garbage' },
  { name: 'create pod', method: 'POST', path: '/api/v1/namespaces/default/pods', body: pod('p1') },
  { name: 'create pod 2', method: 'POST', path: '/api/v1/namespaces/default/pods', body: pod('p2') },
  { name: 'create pod in missing ns', method: 'POST', path: '/api/v1/namespaces/nope/pods', body: pod('p9') },
  { name: 'create duplicate pod', method: 'POST', path: '/api/v1/namespaces/default/pods', body: pod('p1') },
  { name: 'create pdb', method: 'POST', path: '/apis/policy/v1/namespaces/default/poddisruptionbudgets', body: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web' }, spec: { minAvailable: 5, selector: { matchLabels: { app: 'web' } } } }, pause: 1500 },
  { name: 'get pdb', method: 'GET', path: '/apis/policy/v1/namespaces/default/poddisruptionbudgets/web' },
  { name: 'evict pending-or-running pod', method: 'POST', path: '/api/v1/namespaces/default/pods/p1/eviction', body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p1' } } },
  { name: 'evict missing pod', method: 'POST', path: '/api/v1/namespaces/default/pods/zz/eviction', body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'zz' } } },
  { name: 'delete pod', method: 'DELETE', path: '/api/v1/namespaces/default/pods/p2' },
  { name: 'create configmap', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { a: 'b' } } },
  { name: 'delete configmap', method: 'DELETE', path: '/api/v1/namespaces/default/configmaps/cm' },
  { name: 'create lease', method: 'POST', path: '/apis/coordination.k8s.io/v1/namespaces/default/leases', body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' }, spec: { holderIdentity: 'me', leaseDurationSeconds: 15, renewTime: '2026-01-02T03:04:05.000000Z' } } },
  { name: 'delete node', method: 'DELETE', path: '/api/v1/nodes/n1' },
  { name: 'create namespace', method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp' } } },
  { name: 'delete namespace', method: 'DELETE', path: '/api/v1/namespaces/tmp' },
  { name: 'watch too old', method: 'GET', path: '/api/v1/nodes?watch=true&resourceVersion=1&timeoutSeconds=1' },
]

const VOLATILE = new Set(['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'lastTransitionTime', 'lastHeartbeatTime', 'deletionTimestamp', 'startTime', 'continue', 'time', 'lastProbeTime', 'renewTime'])
function normalize(v: any): any {
  if (typeof v === 'string') return v.replace(/"\d+"|\d{3,}/g, 'N')
  if (Array.isArray(v)) return v.map(normalize)
  // Keys sorted: field order is not part of the API.
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !VOLATILE.has(k)).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, normalize(x)]))
  return v
}

async function run(kc: KubeConfig): Promise<{ status: number; body: any }[]> {
  const out = []
  for (const s of steps) {
    out.push(await kubeRequest(kc, s.method, s.path, s.body, s.contentType))
    if (s.pause) await new Promise((r) => setTimeout(r, s.pause))
  }
  return out
}

const sim = await startSim({ nodes: 0 })
const simKc = new KubeConfig()
simKc.loadFromString(sim.kubeconfig())
const real = await startApiServer({ controllers: ['disruption'] })
const realKc = new KubeConfig()
realKc.loadFromFile(real.kubeconfigPath)
try {
  const a = await run(simKc)
  const b = await run(realKc)
  let same = 0
  steps.forEach((s, i) => {
    const x = JSON.stringify(normalize(a[i]))
    const y = JSON.stringify(normalize(b[i]))
    if (x === y) {
      same++
      return
    }
    console.log(`\n### ${s.name}: ${s.method} ${s.path}`)
    console.log(`  sim : ${x.slice(0, 1500)}`)
    console.log(`  real: ${y.slice(0, 1500)}`)
  })
  console.log(`\n${same}/${steps.length} answers identical after normalizing volatile fields`)
} finally {
  await sim.close()
  await real.stop()
}
