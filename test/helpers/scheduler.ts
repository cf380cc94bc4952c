// A stand-in for kube-scheduler on the real API server (the harness builds no kube-scheduler): binds
// each unbound pod to the Ready, schedulable node with the fewest pods whose NoSchedule/NoExecute
// taints the pod tolerates and whose labels match its nodeSelector, through the pods/binding
// subresource as kube-scheduler does. Pods that fit nowhere stay Pending and are tried again every
// second and whenever a node changes. The simulator's own scheduler (src/sim/scheduler.ts) applies
// the same rules.
import { CoreV1Api, KubeConfig, makeInformer, type V1Node, type V1Pod } from '@kubernetes/client-node'
import { scheduleNode } from '../../src/sim/scheduler.js'
import { Store } from '../../src/sim/store.js'
import { codeOf, standInError, startInformers, stopInformers, type ReportError, type Watched } from './informers.js'

export class FakeScheduler {
  private readonly core: CoreV1Api
  private readonly pods: Watched<V1Pod>
  private readonly nodes: Watched<V1Node>
  private readonly binding = new Set<string>()
  private timer?: NodeJS.Timeout
  private stopped = false

  /** report: where failed bindings go (the backend fails the test with them); default: thrown. */
  constructor(kc: KubeConfig, private readonly report: ReportError = (err) => { throw err }) {
    this.core = kc.makeApiClient(CoreV1Api)
    this.pods = makeInformer(kc, '/api/v1/pods', () => this.core.listPodForAllNamespaces())
    this.nodes = makeInformer(kc, '/api/v1/nodes', () => this.core.listNode())
  }

  async start(): Promise<void> {
    this.pods.on('add', (p) => this.schedule(p))
    this.pods.on('update', (p) => this.schedule(p))
    this.nodes.on('add', () => this.scheduleAll())
    this.nodes.on('update', () => this.scheduleAll())
    await startInformers('scheduler stand-in', { pods: this.pods, nodes: this.nodes }, () => this.stopped, this.report)
    this.timer = setInterval(() => this.scheduleAll(), 1000)
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await stopInformers({ pods: this.pods, nodes: this.nodes })
  }

  private scheduleAll(): void {
    for (const pod of this.pods.list()) this.schedule(pod)
  }

  /** The cluster as the simulator's scheduler reads it: nodes, and pods per node. */
  private snapshot(): Store {
    const store = new Store(0)
    store.bulkInsert('nodes', this.nodes.list().map((n) => JSON.parse(JSON.stringify(n))))
    store.bulkInsert('pods', this.pods.list().filter((p) => p.spec?.nodeName).map((p) => ({ metadata: { name: p.metadata!.name, namespace: p.metadata!.namespace }, spec: { nodeName: p.spec!.nodeName } })))
    return store
  }

  private schedule(pod: V1Pod): void {
    if (this.stopped || pod.spec?.nodeName || pod.metadata?.deletionTimestamp) return
    if ((pod.spec?.schedulerName ?? 'default-scheduler') !== 'default-scheduler') return
    const uid = pod.metadata!.uid!
    if (this.binding.has(uid)) return
    const node = scheduleNode(this.snapshot(), JSON.parse(JSON.stringify(pod.spec)))
    if (!node) return
    this.binding.add(uid)
    const { name, namespace } = pod.metadata as { name: string; namespace: string }
    this.core.createNamespacedBinding({
      namespace,
      body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid }, target: { apiVersion: 'v1', kind: 'Node', name: node } },
    }).catch((err) => {
      // 409: bound meanwhile; 404: gone.
      const code = codeOf(err)
      if (code !== 409 && code !== 404 && !this.stopped) this.report(standInError('scheduler stand-in', `binding pod ${namespace}/${name} to ${node}`, err))
    }).finally(() => this.binding.delete(uid))
  }
}
