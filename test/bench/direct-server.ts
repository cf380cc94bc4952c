// The comparison point "direct": GET /nodes answered the way the original plugin answers it, with
// no cache: every request LISTs all nodes and all pods through @kubernetes/client-node, asks
// metrics.k8s.io for node usage, and builds the same NodeView list (src/nodes/view.ts) from them.
// A bare node:http server in its own process; prints "direct listening <port>" when ready.
//   argv[2]: kubeconfig file
import { createServer } from 'node:http'
import { CoreV1Api, KubeConfig, Metrics, type V1Pod } from '@kubernetes/client-node'
import { nodeView } from '../../src/nodes/view.js'
import { quantityToNumber } from '../../src/kube/quantity.js'
import type { NodeObject, SlimPod } from '../../src/kube/types.js'
import type { NodeUsage } from '../../src/kube/node-metrics.js'

const kc = new KubeConfig()
kc.loadFromFile(process.argv[2])
const core = kc.makeApiClient(CoreV1Api)
const metrics = new Metrics(kc)

const slim = (p: V1Pod): SlimPod => ({
  namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '',
  node: p.spec?.nodeName ?? '', phase: p.status?.phase ?? 'Pending', terminating: !!p.metadata?.deletionTimestamp,
  session: p.metadata?.labels?.app === 'streamspace-session', cpuRequestMilli: 0, memoryRequestBytes: 0,
})

/**
 * Every item of a list, 500 a page as kubectl reads it: the original plugin's one unpaginated LIST
 * cannot be read at 65,000 nodes of ~11 KB (~750 MB: more than a JavaScript string holds).
 */
async function all<T>(page: (o: { limit: number; _continue?: string }) => Promise<{ items: T[]; metadata?: { _continue?: string } }>): Promise<T[]> {
  const items: T[] = []
  let cont: string | undefined
  do {
    const list = await page({ limit: 500, ...(cont ? { _continue: cont } : {}) })
    items.push(...list.items)
    cont = list.metadata?._continue
  } while (cont)
  return items
}

async function answer(): Promise<string> {
  const [nodes, pods, usage] = await Promise.all([all((o) => core.listNode(o)), all((o) => core.listPodForAllNamespaces(o)), metrics.getNodeMetrics().catch(() => undefined)])
  const byNode = new Map<string, SlimPod[]>()
  for (const p of pods) {
    const s = slim(p)
    let list = byNode.get(s.node)
    if (!list) byNode.set(s.node, (list = []))
    list.push(s)
  }
  const usageOf = new Map<string, NodeUsage>()
  for (const m of usage?.items ?? []) {
    usageOf.set(m.metadata.name, { at: 0, cpu: m.usage.cpu, memory: m.usage.memory, cpuCores: quantityToNumber(m.usage.cpu), memoryBytes: quantityToNumber(m.usage.memory) })
  }
  const now = Date.now()
  const views = nodes
    .map((n) => nodeView(n as NodeObject, { pods: byNode.get(n.metadata?.name ?? '') ?? [], usage: usageOf.get(n.metadata?.name ?? ''), now }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return JSON.stringify(views)
}

const server = createServer((_req, res) => {
  answer().then((body) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
    res.end(body)
  }, (err) => {
    res.writeHead(500, { 'content-type': 'text/plain' })
    res.end(String(err?.stack ?? err))
  })
})
server.keepAliveTimeout = 120_000
server.listen(0, '127.0.0.1', () => {
  const a = server.address()
  console.log(`direct listening ${typeof a === 'object' && a ? a.port : 0}`)
})
