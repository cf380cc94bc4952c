// Pod requests as kube-scheduler's NodeResourcesFit counts them (issue 24, finding 7): init
// containers, sidecars (restartable init containers) and overhead; the pure function, then the
// cache and POST P/nodes/select on both backends (pods already on a node hold that much).
import t from 'tap'
import { podRequests, type RawPodSpec } from '../../src/kube/slim.js'
import { eachBackend } from '../helpers/backend.js'
import { createNode, ensureNamespace, kubeRequest } from '../helpers/fixtures.js'
import { startService, waitFor } from '../helpers/service.js'

const MI = 1024 ** 2
const GI = 1024 ** 3
const c = (cpu?: string, memory?: string, restartPolicy?: string) => ({
  resources: { requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } },
  ...(restartPolicy ? { restartPolicy } : {}),
})
const req = (spec: RawPodSpec) => podRequests(spec)

t.test('podRequests: the larger of app containers plus sidecars and each init step, plus overhead', async (t) => {
  t.same(req({}), { cpuMilli: 0, memoryBytes: 0 }, 'nothing requested')
  t.same(req({ containers: [c('250m', '1Gi'), c('1500m', '512Mi'), c()] }), { cpuMilli: 1750, memoryBytes: 1536 * MI }, 'app containers summed')
  t.same(req({ containers: [c('500m', '256Mi')], initContainers: [c('2', '1Gi')] }), { cpuMilli: 2000, memoryBytes: GI }, 'an init container larger than the app containers')
  t.same(req({ containers: [c('500m', '1Gi')], initContainers: [c('2', '64Mi')] }), { cpuMilli: 2000, memoryBytes: GI }, 'the larger per resource')
  t.same(req({ containers: [c('500m', '256Mi')], initContainers: [c('300m', '128Mi', 'Always')] }), { cpuMilli: 800, memoryBytes: 384 * MI }, 'a sidecar runs beside the app')
  t.same(req({ containers: [c('500m', '256Mi')], initContainers: [c('300m', '100Mi', 'Always'), c('1', '1Gi')] }), { cpuMilli: 1300, memoryBytes: GI + 100 * MI },
    'an init container after a sidecar runs beside it')
  t.same(req({ containers: [c('500m', '256Mi')], initContainers: [c('1', '1Gi'), c('300m', '100Mi', 'Always')] }), { cpuMilli: 1000, memoryBytes: GI },
    'an init container before a sidecar runs alone')
  t.same(req({ containers: [c('100m')], initContainers: [c('200m', undefined, 'Always'), c('200m', undefined, 'Always'), c('500m')] }), { cpuMilli: 900, memoryBytes: 0 },
    'sidecars accumulate: the last init container runs beside both')
  t.same(req({ containers: [c('2', '2Gi')], overhead: { cpu: '250m', memory: '120Mi' } }), { cpuMilli: 2250, memoryBytes: 2 * GI + 120 * MI }, 'overhead added')
  t.same(req({ containers: [c('333333u', '0.5'), c('333333u', '0.5'), c('333333u')] }), { cpuMilli: 1000, memoryBytes: 1 },
    'summed exactly and rounded up once per pod, as Quantity.MilliValue of the sum (not 1002m, nor 2 bytes)')
})

// Nodes of 4 CPUs and 8Gi; on each a pod that asks for little in its app containers but more in
// all: an init container of 3 CPUs, a 2-CPU sidecar, a 1-CPU overhead. A 1500m request fits only
// on `empty`. Before the fix each pod counted its app containers only (500m, 1, 2 CPUs) and every
// node had room.
eachBackend(t, 'the cache counts init containers, sidecars and overhead', async (t, b) => {
  for (const name of ['empty', 'init', 'sidecar', 'overhead']) await createNode(b.clients, { name, cpu: '4', memory: '8Gi' })
  await ensureNamespace(b.clients, 'apps')
  // A real API server sets overhead from the pod's RuntimeClass (and refuses it otherwise); the simulator keeps what it is given.
  let overhead: Record<string, unknown> = { overhead: { cpu: '1', memory: '1Gi' } }
  if (b.name === 'apiserver') {
    const rc = await kubeRequest(b.kc, 'POST', '/apis/node.k8s.io/v1/runtimeclasses', { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'kata' }, handler: 'kata', overhead: { podFixed: { cpu: '1', memory: '1Gi' } } })
    t.equal(rc.status, 201, 'RuntimeClass with overhead')
    overhead = { runtimeClassName: 'kata' }
  }
  const container = (name: string, cpu: string, restartPolicy?: string) => ({ name, image: 'registry.example/app:1', resources: { requests: { cpu, memory: '1Gi' } }, ...(restartPolicy ? { restartPolicy } : {}) })
  const pods = {
    init: { containers: [container('app', '500m')], initContainers: [container('setup', '3')] },
    sidecar: { containers: [container('app', '1')], initContainers: [container('proxy', '2', 'Always')] },
    overhead: { containers: [container('app', '2')], ...overhead },
  }
  for (const [node, spec] of Object.entries(pods)) {
    const r = await kubeRequest(b.kc, 'POST', '/api/v1/namespaces/apps/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `on-${node}` }, spec: { nodeName: node, ...spec } })
    t.equal(r.status, 201, `pod on ${node}`)
    if (node === 'overhead') t.same(r.body.spec.overhead, { cpu: '1', memory: '1Gi' }, 'the pod carries its overhead')
  }
  const svc = await startService(b.kc)
  t.teardown(() => svc.close())
  await waitFor(async () => (await (await svc.api('/nodes/stats')).json() as { total_pods: number }).total_pods === 3, 20_000, 'the three pods in the cache')

  const res = await svc.api('/nodes/select', { method: 'POST', json: { cpu: '1500m', strategy: 'most-resources' } })
  const body = await res.json() as { node: string; candidates: { node: string; cpu_free: string }[]; excluded: { node: string; reasons: string[] }[] }
  t.equal(res.status, 200)
  t.equal(body.node, 'empty')
  t.same(body.candidates.map((x) => x.node), ['empty'], 'the only node with 1500m left')
  t.same(body.excluded, ['init', 'overhead', 'sidecar'].map((node) => ({ node, reasons: ['Insufficient cpu'] })))
  const fits = await svc.api('/nodes/select', { method: 'POST', json: { cpu: '1', strategy: 'most-resources' } })
  t.same((await fits.json() as typeof body).candidates.map((x) => [x.node, x.cpu_free]), [['empty', '4'], ['init', '1'], ['overhead', '1'], ['sidecar', '1']],
    'each of the others has exactly 1 CPU left')
})
