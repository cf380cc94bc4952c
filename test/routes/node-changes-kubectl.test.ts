// The same changes on two identical nodes, one through our HTTP API and one with kubectl
// (label/taint/cordon/uncordon), compared after every step: labels, taints (order, values,
// timeAdded) and unschedulable must be exactly what kubectl produced.
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { V1Node } from '@kubernetes/client-node'
import { eachBackend, type Backend } from '../helpers/backend.js'
import { createNode, waitFor } from '../helpers/fixtures.js'
import { startService, type Service } from '../helpers/service.js'

const run = promisify(execFile)
const hasKubectl = await run('kubectl', ['version', '--client']).then(() => true, () => false)

interface Step {
  title: string
  api: [method: string, path: string, json?: unknown]
  kubectl: string[]
}

const enc = encodeURIComponent
const steps: Step[] = [
  { title: 'label', api: ['PUT', '/labels', { key: 'example.com/team', value: 'gpu' }], kubectl: ['label', 'nodes', '@', 'example.com/team=gpu'] },
  { title: 'label overwrite', api: ['PUT', '/labels', { key: 'example.com/team', value: 'ml' }], kubectl: ['label', '--overwrite', 'nodes', '@', 'example.com/team=ml'] },
  { title: 'label empty value', api: ['PUT', '/labels', { key: 'empty', value: '' }], kubectl: ['label', 'nodes', '@', 'empty='] },
  { title: 'role label', api: ['PUT', '/labels', { key: 'node-role.kubernetes.io/gpu', value: '' }], kubectl: ['label', 'nodes', '@', 'node-role.kubernetes.io/gpu='] },
  { title: 'label remove', api: ['DELETE', `/labels/${enc('example.com/team')}`], kubectl: ['label', 'nodes', '@', 'example.com/team-'] },
  { title: 'taint', api: ['POST', '/taints', { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }], kubectl: ['taint', 'nodes', '@', 'dedicated=gpu:NoSchedule'] },
  { title: 'NoExecute taint, no value', api: ['POST', '/taints', { key: 'maint', effect: 'NoExecute' }], kubectl: ['taint', 'nodes', '@', 'maint:NoExecute'] },
  { title: 'taint overwrite (moves first)', api: ['POST', '/taints', { key: 'dedicated', value: 'ml', effect: 'NoSchedule' }], kubectl: ['taint', '--overwrite', 'nodes', '@', 'dedicated=ml:NoSchedule'] },
  { title: 'same key, other effect', api: ['POST', '/taints', { key: 'dedicated', value: 'ml', effect: 'PreferNoSchedule' }], kubectl: ['taint', 'nodes', '@', 'dedicated=ml:PreferNoSchedule'] },
  { title: 'taint with prefixed key', api: ['POST', '/taints', { key: 'example.com/pool', value: 'a', effect: 'NoSchedule' }], kubectl: ['taint', 'nodes', '@', 'example.com/pool=a:NoSchedule'] },
  { title: 'untaint key:effect', api: ['DELETE', '/taints/dedicated?effect=NoSchedule'], kubectl: ['taint', 'nodes', '@', 'dedicated:NoSchedule-'] },
  { title: 'untaint key', api: ['DELETE', '/taints/maint'], kubectl: ['taint', 'nodes', '@', 'maint-'] },
  { title: 'cordon', api: ['POST', '/cordon'], kubectl: ['cordon', '@'] },
  { title: 'cordon again', api: ['POST', '/cordon'], kubectl: ['cordon', '@'] },
  { title: 'untaint all of a key', api: ['DELETE', '/taints/dedicated'], kubectl: ['taint', 'nodes', '@', 'dedicated-'] },
  { title: 'untaint key:effect, the first taint', api: ['DELETE', '/taints/old?effect=PreferNoSchedule'], kubectl: ['taint', 'nodes', '@', 'old:PreferNoSchedule-'] },
  { title: 'untaint the last taint', api: ['DELETE', `/taints/${enc('example.com/pool')}`], kubectl: ['taint', 'nodes', '@', 'example.com/pool-'] },
  { title: 'uncordon', api: ['POST', '/uncordon'], kubectl: ['uncordon', '@'] },
  { title: 'uncordon again', api: ['POST', '/uncordon'], kubectl: ['uncordon', '@'] },
]

/**
 * The node once the node lifecycle controller has caught up with the change (it adds and removes
 * the unschedulable taint after a cordon or uncordon, and the beta OS/arch labels), so that both
 * twins are compared in the same state.
 */
async function settled(b: Backend, name: string): Promise<V1Node> {
  let node!: V1Node
  await waitFor(async () => {
    node = await b.clients.core.readNode({ name })
    const labels = node.metadata?.labels ?? {}
    const cordonTaint = !!node.spec?.taints?.some((x) => x.key === 'node.kubernetes.io/unschedulable' && x.effect === 'NoSchedule')
    return cordonTaint === !!node.spec?.unschedulable && labels['beta.kubernetes.io/os'] === labels['kubernetes.io/os']
  }, 15_000, `the node lifecycle controller to catch up on ${name}`)
  return node
}

/** What kubectl changes, with the node's own name taken out; times only as present or not. */
function comparable(n: V1Node) {
  const labels = { ...n.metadata?.labels }
  delete labels['kubernetes.io/hostname']
  return {
    labels,
    taints: n.spec?.taints?.map((x) => ({ key: x.key, value: x.value, effect: x.effect, timeAdded: x.timeAdded ? 'set' : undefined })),
    taintsField: n.spec && 'taints' in n.spec && n.spec.taints !== undefined,
    unschedulable: n.spec?.unschedulable,
  }
}

eachBackend(t, 'our API and kubectl produce the same node', async (t, b: Backend) => {
  if (!hasKubectl) return void t.plan(0, 'kubectl not installed')
  const start = { cpu: '4', memory: '8Gi', labels: { pool: 'base' }, taints: [{ key: 'old', value: 'x', effect: 'PreferNoSchedule' }] }
  await createNode(b.clients, { name: 'twin-api', ...start })
  await createNode(b.clients, { name: 'twin-kubectl', ...start })
  const svc: Service = await startService(b.kc, { env: { CHANGE_RATE_LIMIT_MAX: '100000' } })
  t.teardown(() => svc.close())
  for (const step of steps) {
    const [method, path, json] = step.api
    const res = await svc.api(`/nodes/twin-api${path}`, { method, json })
    t.equal(res.status, 200, `${step.title}: API ${method} ${path}`)
    const args = step.kubectl.map((a) => (a === '@' ? 'twin-kubectl' : a))
    await run('kubectl', ['--kubeconfig', b.kubeconfigPath, ...args])
    const [ours, theirs] = await Promise.all([settled(b, 'twin-api'), settled(b, 'twin-kubectl')])
    t.same(comparable(ours), comparable(theirs), `${step.title}: same as kubectl ${args.join(' ')}`)
  }
  const final = comparable(await settled(b, 'twin-api'))
  // The beta OS/arch labels are the node lifecycle controller's (it copies them from the stable ones).
  const osArch = { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64' }
  t.same(final, { labels: { ...osArch, pool: 'base', empty: '', 'node-role.kubernetes.io/gpu': '' }, taints: undefined, taintsField: false, unschedulable: undefined })
})

eachBackend(t, 'a cordon reason is visible through kubectl get node -o yaml', async (t, b: Backend) => {
  if (!hasKubectl) return void t.plan(0, 'kubectl not installed')
  const { parse } = await import('yaml')
  await createNode(b.clients, { name: 'why-1', cpu: '4', memory: '8Gi' })
  const svc: Service = await startService(b.kc)
  t.teardown(() => svc.close())
  const res = await svc.api('/nodes/why-1/cordon', { method: 'POST', json: { reason: 'firmware update, ticket OPS-7' } })
  t.equal(res.status, 200)
  const getYaml = async () => parse((await run('kubectl', ['--kubeconfig', b.kubeconfigPath, 'get', 'node', 'why-1', '-o', 'yaml'])).stdout)
  let node = await getYaml()
  t.equal(node.spec.unschedulable, true)
  t.equal(node.metadata.annotations['streamspace.io/cordon-reason'], 'firmware update, ticket OPS-7')
  t.equal(node.metadata.annotations['streamspace.io/cordoned-by'], 'alice')
  t.match(node.metadata.annotations['streamspace.io/cordoned-at'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  await svc.api('/nodes/why-1/uncordon', { method: 'POST' })
  node = await getYaml()
  t.notOk(node.spec.unschedulable)
  t.notOk(Object.keys(node.metadata.annotations ?? {}).some((k: string) => k.startsWith('streamspace.io/cordon')), 'uncordon removed them')
})
