// metrics.k8s.io NodeMetrics and PodMetrics (as metrics-server serves them): plausible usage,
// deterministic from object names.
import { apiVersionOf, type ResourceDef } from './kinds.js'
import { candidateKeys } from './lists.js'
import { hash, isoSeconds, nodeIsReady } from './objects.js'
import { fieldMatcher, parseFieldSelector, parseLabelSelector } from './selectors.js'
import { notFound } from './status.js'
import { objectKey, type Obj, type Store } from './store.js'

/** CPU quantity in millicores ("250m", "2", "1500000n"). */
export function cpuMillis(q: string | undefined): number {
  if (!q) return 0
  if (q.endsWith('n')) return Number(q.slice(0, -1)) / 1e6
  if (q.endsWith('u')) return Number(q.slice(0, -1)) / 1e3
  if (q.endsWith('m')) return Number(q.slice(0, -1))
  return Number(q) * 1000
}

const MEMORY_UNITS: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 }

/** Memory quantity in bytes ("128Mi", "16393652Ki", "1G", "1073741824"). */
export function memoryBytes(q: string | undefined): number {
  if (!q) return 0
  const m = /^([0-9.]+)([A-Za-z]*)$/.exec(q)
  if (!m) return 0
  return Number(m[1]) * (MEMORY_UNITS[m[2]] ?? 1)
}

/** A fraction in [lo, hi) that depends only on the text. */
function share(text: string, lo: number, hi: number): number {
  return lo + ((hash(text) % 10_000) / 10_000) * (hi - lo)
}

interface Usage { cpuNano: number; memBytes: number }

function containerUsage(pod: Obj, c: Obj): Usage {
  const id = `${pod.metadata.namespace}/${pod.metadata.name}/${c.name}`
  const req = c.resources?.requests ?? {}
  const cpuReq = cpuMillis(req.cpu) || 50
  const memReq = memoryBytes(req.memory) || 64 * 1024 ** 2
  return { cpuNano: Math.round(cpuReq * share(id + 'cpu', 0.15, 0.95) * 1e6), memBytes: Math.round(memReq * share(id + 'mem', 0.35, 0.9)) }
}

function fmt(u: Usage): { cpu: string; memory: string } {
  return { cpu: `${u.cpuNano}n`, memory: `${Math.round(u.memBytes / 1024)}Ki` }
}

export function podIsMeasured(pod: Obj, store: Store): boolean {
  if (pod.status?.phase !== 'Running' || !pod.spec?.nodeName) return false
  const node = store.get('nodes', undefined, pod.spec.nodeName)
  return !!node && nodeIsReady(node)
}

export function podMetrics(pod: Obj, now: Date): Obj {
  return {
    metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, creationTimestamp: isoSeconds(now), labels: pod.metadata.labels ?? {} },
    timestamp: isoSeconds(new Date(now.getTime() - 7000)),
    window: '15.012s',
    containers: (pod.spec?.containers ?? []).map((c: Obj) => ({ name: c.name, usage: fmt(containerUsage(pod, c)) })),
  }
}

/** Node usage: its running pods plus the system's own share, capped at capacity. */
export function nodeMetrics(node: Obj, store: Store, now: Date): Obj {
  const name = node.metadata.name
  let cpuNano = share(name + 'sys-cpu', 80, 300) * 1e6
  let memBytes = share(name + 'sys-mem', 500, 1200) * 1024 ** 2
  const pods = store.collection('pods').objects
  for (const key of store.podsByNode.get(name) ?? []) {
    const pod = pods.get(key)
    if (!pod || pod.status?.phase !== 'Running') continue
    for (const c of pod.spec?.containers ?? []) {
      const u = containerUsage(pod, c)
      cpuNano += u.cpuNano
      memBytes += u.memBytes
    }
  }
  const cap = node.status?.capacity ?? {}
  cpuNano = Math.min(cpuNano, (cpuMillis(cap.cpu) || Infinity) * 1e6 * 0.98)
  memBytes = Math.min(memBytes, (memoryBytes(cap.memory) || Infinity) * 0.97)
  return {
    metadata: { name, creationTimestamp: isoSeconds(now), labels: node.metadata.labels ?? {} },
    timestamp: isoSeconds(new Date(now.getTime() - 9000)),
    window: '20.033s',
    usage: fmt({ cpuNano: Math.round(cpuNano), memBytes }),
  }
}

/** GET of one NodeMetrics/PodMetrics or a list of them: every Ready node, and the running pods on Ready nodes. */
export function metricsGet(store: Store, def: ResourceDef, ns: string | undefined, name: string | undefined, query: Record<string, string>): Obj {
  const now = new Date()
  const labels = parseLabelSelector(query.labelSelector)
  const withType = (obj: Obj): Obj => ({ kind: def.kind, apiVersion: apiVersionOf(def), ...obj })
  if (def.plural === 'nodes') {
    const nodes = store.collection('nodes')
    if (name) {
      const node = nodes.objects.get(name)
      if (!node || !nodeIsReady(node)) throw notFound('nodemetrics', name, 'metrics.k8s.io')
      return withType(nodeMetrics(node, store, now))
    }
    const items: Obj[] = []
    for (const key of nodes.keys) {
      const node = nodes.objects.get(key)!
      if (nodeIsReady(node) && (!labels || labels(node))) items.push(nodeMetrics(node, store, now))
    }
    return { kind: 'NodeMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items }
  }
  const pods = store.collection('pods')
  if (name) {
    const pod = pods.objects.get(objectKey(ns, name))
    if (!pod || !podIsMeasured(pod, store)) throw notFound('podmetrics', name, 'metrics.k8s.io')
    return withType(podMetrics(pod, now))
  }
  const fieldReqs = parseFieldSelector(query.fieldSelector, 'pods')
  const { keys, from, to } = candidateKeys(store, pods.def, ns, fieldReqs)
  const fields = fieldMatcher(fieldReqs.filter((f) => f.field !== 'spec.nodeName'))
  const items: Obj[] = []
  for (let i = from; i < to; i++) {
    const pod = pods.objects.get(keys[i])
    if (pod && podIsMeasured(pod, store) && (!labels || labels(pod)) && (!fields || fields(pod))) items.push(podMetrics(pod, now))
  }
  return { kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items }
}
