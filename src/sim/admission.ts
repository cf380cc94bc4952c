// What the API server does to an object before storing it: decoding checks, validation, and the
// defaults its registry strategies and admission plugins add on create. Pure functions of the
// object (and, for a few defaults, of what is stored).
import { randomBytes } from 'node:crypto'
import { idOf, type ResourceDef } from './kinds.js'
import { qosClass } from './objects.js'
import { ApiError, badRequest, invalid } from './status.js'
import type { Obj, Store } from './store.js'

export const PDBS = 'poddisruptionbudgets.policy'

/** Five characters from the alphabet generateName suffixes use. */
export function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('')
}

export function stripTypeMeta(obj: Obj): Obj {
  const { kind: _k, apiVersion: _a, ...rest } = obj
  return rest
}

/** Whether two versions of an object differ only in resourceVersion (an update that changes nothing). */
export function sameContent(a: Obj, b: Obj): boolean {
  const strip = (o: Obj) => JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } })
  return strip(a) === strip(b)
}

/** Fields of type metav1.MicroTime: the server parses them with exactly six fractional digits. */
const MICRO_TIME_FIELDS: Record<string, string[][]> = {
  'leases.coordination.k8s.io': [['spec', 'acquireTime'], ['spec', 'renewTime']],
  events: [['eventTime']],
}
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/

/** Rejects what the server's decoder would not accept, as a 400 like its decode errors. */
export function checkDecodable(def: ResourceDef, obj: Obj): void {
  for (const path of MICRO_TIME_FIELDS[idOf(def)] ?? []) {
    const value = path.reduce<any>((o, k) => o?.[k], obj)
    if (value === undefined || value === null) continue
    if (typeof value !== 'string' || !MICRO_TIME.test(value)) {
      const rest = typeof value === 'string' ? value.slice(19) : String(value)
      throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: parsing time "${value}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${rest}" as ".000000"`)
    }
  }
}

/** core/v1 Event validation: the event lives in its object's namespace ("default" for cluster-scoped objects). */
export function checkEventNamespace(event: Obj, namespace: string): void {
  const objectNs = event.involvedObject?.namespace ?? ''
  const ok = objectNs === '' ? namespace === 'default' || namespace === '' : objectNs === namespace
  if (!ok) throw invalid('Event', event.metadata?.name ?? '', 'involvedObject.namespace', `Invalid value: "${objectNs}": does not match event.namespace`)
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute']

/** Node validation that patches can trip: each taint needs a key and a known effect, unique per (key, effect). */
export function validateNode(node: Obj): void {
  const name = node.metadata?.name ?? ''
  const fail = (field: string, reason: string, message: string) => {
    throw new ApiError(422, 'Invalid', `Node "${name}" is invalid: ${field}: ${message}`, { name, kind: 'Node', causes: [{ reason, message, field }] })
  }
  const seen = new Set<string>()
  const taints: Obj[] = node.spec?.taints ?? []
  taints.forEach((taint, i) => {
    // The real server reports taint fields under "metadata.taints" (sic).
    if (!taint?.key) fail(`metadata.taints[${i}].key`, 'FieldValueRequired', 'Required value')
    if (!taint.effect) fail(`metadata.taints[${i}].effect`, 'FieldValueRequired', 'Required value')
    if (!TAINT_EFFECTS.includes(taint.effect)) {
      fail(`metadata.taints[${i}].effect`, 'FieldValueNotSupported', `Unsupported value: "${taint.effect}": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`)
    }
    const id = `${taint.key}:${taint.effect}`
    if (seen.has(id)) fail(`spec.taints[${i}]`, 'FieldValueDuplicate', 'Duplicate value: taints must be unique by key and effect pair')
    seen.add(id)
  })
}

/** Validation on every write of the main resource (create, update, patch). */
export function validate(def: ResourceDef, obj: Obj): void {
  checkDecodable(def, obj)
  if (idOf(def) === 'nodes') validateNode(obj)
}

/** What the API server's defaulting and admission add to a new pod. */
export function defaultPod(pod: Obj): Obj {
  const spec = pod.spec ?? {}
  const containers = (spec.containers ?? []).map((c: Obj) => ({
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: /:[^/]+$/.test(c.image ?? '') && !String(c.image).endsWith(':latest') ? 'IfNotPresent' : 'Always',
    ...c,
  }))
  const tolerations: Obj[] = [...(spec.tolerations ?? [])]
  // DefaultTolerationSeconds admission: tolerate not-ready and unreachable nodes for 300 s.
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((t) => t.key === key || (t.operator === 'Exists' && !t.key && (!t.effect || t.effect === 'NoExecute')))) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 })
    }
  }
  const defaulted: Obj = {
    ...pod,
    metadata: { ...pod.metadata, generation: 1 },
    spec: {
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      securityContext: {},
      schedulerName: 'default-scheduler',
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      ...spec,
      containers,
      tolerations,
    },
  }
  defaulted.status = { phase: 'Pending', qosClass: qosClass(defaulted.spec) }
  return defaulted
}

/** Defaults and initial status per kind on create (after validation), as the registry strategies set them. */
export function defaultsOnCreate(store: Store, def: ResourceDef, obj: Obj): Obj {
  switch (idOf(def)) {
    case 'namespaces':
      return {
        ...obj,
        metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name } },
        spec: { finalizers: ['kubernetes'], ...obj.spec },
        status: { phase: 'Active' },
      }
    case 'nodes': {
      validateNode(obj)
      const status = obj.status ?? {}
      const nodeInfo = { machineID: '', systemUUID: '', bootID: '', kernelVersion: '', osImage: '', containerRuntimeVersion: '', kubeletVersion: '', kubeProxyVersion: '', operatingSystem: '', architecture: '', ...status.nodeInfo }
      return { ...obj, status: { ...status, daemonEndpoints: status.daemonEndpoints ?? { kubeletEndpoint: { Port: 0 } }, nodeInfo } }
    }
    case 'pods':
      return defaultPod(obj)
    case 'deployments.apps':
    case 'replicasets.apps':
    case 'statefulsets.apps': {
      const replicas = obj.spec?.replicas ?? 1
      return { ...obj, spec: { replicas, ...obj.spec }, status: { observedGeneration: 1, replicas, readyReplicas: replicas, availableReplicas: replicas } }
    }
    case 'daemonsets.apps': {
      const n = store.collection('nodes').objects.size
      return { ...obj, status: { observedGeneration: 1, currentNumberScheduled: n, desiredNumberScheduled: n, numberReady: n, numberAvailable: n, numberMisscheduled: 0, updatedNumberScheduled: n } }
    }
    case PDBS:
      return { ...obj, status: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 } }
    default:
      return obj
  }
}
