// POST P/nodes/select against the real kube-scheduler (issue 24, finding 7; apiserver backend
// only). For each pod shape we ask where it may go, then create the same pod once per node, held
// to that node by a required node affinity on metadata.name (no nodeName: the scheduler decides),
// and let kube-scheduler bind it: it binds exactly where we call a node eligible, and where we
// refuse one its FailedScheduling message names our reason. Without the affinity it binds the
// pod to one of our eligible nodes, and where nothing fits its message starts with our 409's.
import t from 'tap'
import { podRequests } from '../../src/kube/slim.js'
import { backendNames, type Backend } from '../helpers/backend.js'
import { createNode, ensureNamespace, kubeRequest, waitFor } from '../helpers/fixtures.js'
import type { Service } from '../helpers/service.js'
import { startStack } from '../helpers/stack.js'

const NS = 'shapes'
const NODES = ['cordoned', 'down', 'free-a', 'free-b', 'full', 'gpu']
const image = 'registry.example/app:1'
const container = (name: string, cpu: string, memory = '128Mi', restartPolicy?: string) =>
  ({ name, image, resources: { requests: { cpu, memory } }, ...(restartPolicy ? { restartPolicy } : {}) })

// Each node has 4 CPUs and 8Gi; `full` already runs a pod that holds 3500m (its init container's
// request; its app container asks for 500m), so 500m is left there. The init,
// sidecar and overhead shapes ask for 100-300m in their app containers but 600m-1 CPU in all: the
// scheduler refuses them on `full`, as we must.
const SHAPES: { name: string; spec: Record<string, unknown> }[] = [
  { name: 'plain', spec: { containers: [container('app', '1', '1Gi')] } },
  { name: 'init', spec: { containers: [container('app', '100m')], initContainers: [container('setup', '1')] } },
  { name: 'sidecar', spec: { containers: [container('app', '300m')], initContainers: [container('proxy', '300m', '128Mi', 'Always')] } },
  { name: 'overhead', spec: { containers: [container('app', '200m')], runtimeClassName: 'kata' } },
  { name: 'selector', spec: { containers: [container('app', '1')], nodeSelector: { disk: 'ssd' } } },
  { name: 'toleration', spec: { containers: [container('app', '1')], tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] } },
  { name: 'small', spec: { containers: [container('app', '400m')] } },
  { name: 'huge', spec: { containers: [container('app', '5')] } },
]

async function seed(b: Backend): Promise<void> {
  const c = b.clients
  for (const name of NODES) {
    await createNode(c, {
      name, cpu: '4', memory: '8Gi',
      labels: { 'kubernetes.io/hostname': name, ...(name === 'free-b' ? { disk: 'ssd' } : {}), ...(name === 'gpu' ? { gpu: 'true' } : {}) },
      taints: name === 'gpu' ? [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] : undefined,
      unschedulable: name === 'cordoned',
    })
  }
  await b.setNodeReady('down', false)
  await ensureNamespace(c, NS)
  // Its app container asks for 500m, its init container for 3500m: the scheduler holds 3500m.
  const resident = await kubeRequest(b.kc, 'POST', `/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'resident' },
    spec: { nodeName: 'full', containers: [container('app', '500m', '1Gi')], initContainers: [container('setup', '3500m')] } })
  if (resident.status !== 201) throw new Error(`resident: ${resident.status} ${JSON.stringify(resident.body)}`)
  const rc = await kubeRequest(b.kc, 'POST', '/apis/node.k8s.io/v1/runtimeclasses',
    { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'kata' }, handler: 'kata', overhead: { podFixed: { cpu: '400m', memory: '64Mi' } } })
  if (rc.status !== 201) throw new Error(`RuntimeClass: ${rc.status} ${JSON.stringify(rc.body)}`)
  // The node lifecycle controller's taints are what the scheduler filters on.
  await waitFor(async () => {
    const taints = async (n: string) => ((await c.core.readNode({ name: n })).spec?.taints ?? []).map((x) => x.key)
    return (await taints('down')).includes('node.kubernetes.io/not-ready') && (await taints('cordoned')).includes('node.kubernetes.io/unschedulable')
  }, 60_000, 'the lifecycle controller\'s taints on down and cordoned')
}

interface Verdict { bound?: string; message?: string }

/** Creates the pod and waits for kube-scheduler to bind it or to say why not. */
async function schedule(b: Backend, name: string, spec: Record<string, unknown>): Promise<Verdict> {
  const r = await kubeRequest(b.kc, 'POST', `/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec })
  if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${JSON.stringify(r.body)}`)
  let verdict: Verdict = {}
  await waitFor(async () => {
    const pod = await b.clients.core.readNamespacedPod({ name, namespace: NS })
    if (pod.spec?.nodeName) { verdict = { bound: pod.spec.nodeName }; return true }
    const events = await b.clients.core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${name},reason=FailedScheduling` })
    const message = events.items[0]?.message
    if (message) { verdict = { message }; return true }
    return false
  }, 30_000, `kube-scheduler's verdict on ${name}`)
  await b.clients.core.deleteNamespacedPod({ name, namespace: NS, gracePeriodSeconds: 0 })
  return verdict
}

async function settled(svc: Service): Promise<void> {
  // Only `resident` left in the cache, so the next question sees the nodes as the scheduler does.
  await waitFor(async () => (await (await svc.api('/nodes/stats')).json() as { total_pods: number }).total_pods === 1, 20_000, 'test pods gone from the cache')
}

const onNode = (node: string) => ({
  nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] } },
})

if (!backendNames().includes('apiserver')) {
  // CI unsets TEST_BACKENDS (.ci/run), so this runs there; a local run limited to the sim says so.
  t.comment('not run: needs the apiserver backend (TEST_BACKENDS leaves it out)')
} else {
  t.test('POST P/nodes/select agrees with kube-scheduler', async (t) => {
    const { backend: b, service: svc } = await startStack(t, { backend: 'apiserver', backendOptions: { apiserver: { scheduler: true } }, setup: seed })
    await waitFor(async () => {
      const s = await (await svc.api('/nodes/stats')).json() as { total_nodes: number; ready_nodes: number; total_pods: number }
      return s.total_nodes === NODES.length && s.ready_nodes === NODES.length - 1 && s.total_pods === 1
    }, 20_000, 'the cache')

    let n = 0
    for (const shape of SHAPES) {
      await t.test(shape.name, async (t) => {
        // Our question, with the requests as the stored pod has them (a dry run: the RuntimeClass admission sets overhead).
        const dry = await kubeRequest(b.kc, 'POST', `/api/v1/namespaces/${NS}/pods?dryRun=All`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'dry' }, spec: shape.spec })
        t.equal(dry.status, 201, 'dry run')
        const { cpuMilli, memoryBytes } = podRequests(dry.body.spec)
        const spec = shape.spec as { nodeSelector?: Record<string, string>; tolerations?: unknown[] }
        const res = await svc.api('/nodes/select', {
          method: 'POST',
          json: { cpu: `${cpuMilli}m`, memory: `${memoryBytes}`, strategy: 'most-resources', ...(spec.nodeSelector ? { node_selector: spec.nodeSelector } : {}), ...(spec.tolerations ? { tolerations: spec.tolerations } : {}) },
        })
        const answer = await res.json() as { message?: string; candidates?: { node: string }[]; excluded?: { node: string; reasons: string[] }[]; details?: { excluded: { node: string; reasons: string[] }[] } }
        const eligible = new Set((answer.candidates ?? []).map((c) => c.node))
        const refused = new Map((answer.excluded ?? answer.details?.excluded ?? []).map((e) => [e.node, e.reasons]))
        t.equal(eligible.size + refused.size, NODES.length, 'every node judged')

        for (const node of NODES) {
          const v = await schedule(b, `${shape.name}-${++n}`, { ...shape.spec, affinity: onNode(node) })
          if (eligible.has(node)) t.equal(v.bound, node, `${node}: eligible, and kube-scheduler binds it there${v.message ? ` (it said: ${v.message})` : ''}`)
          else {
            t.notOk(v.bound, `${node}: refused (${refused.get(node)}), and kube-scheduler does not bind it there`)
            for (const reason of refused.get(node) ?? []) t.match(v.message, ` ${reason}`, `${node}: kube-scheduler names "${reason}"`)
          }
          await settled(svc)
        }

        const free = await schedule(b, `${shape.name}-${++n}`, shape.spec)
        if (res.status === 200) t.ok(free.bound && eligible.has(free.bound), `unconstrained, kube-scheduler chose ${free.bound ?? free.message}: one of ours (${[...eligible]})`)
        else {
          t.equal(res.status, 409)
          t.notOk(free.bound, 'nothing fits for kube-scheduler either')
          t.ok(free.message?.startsWith(answer.message!), `the same summary:\n  ours:      ${answer.message}\n  scheduler: ${free.message}`)
        }
        await settled(svc)
      })
    }
  })
}
