// What the API server does to an object before storing it: decoding checks, validation, and the
// defaults its registry strategies and admission plugins add on create. Pure functions of the
// object (and, for a few defaults, of what is stored).
import { randomBytes } from 'node:crypto'
import { idOf, type ResourceDef } from './kinds.js'
import { qosClass } from './objects.js'
import { pruneAndDefault, schemaCauses, unknownFields } from './schema.js'
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
  const id = idOf(def)
  if (id === 'nodes') validateNode(obj)
  else if (id === SESSIONS) validateSession(obj)
  else if (id === PRIORITY_CLASSES) validatePriorityClass(obj)
  else if (def.schema) {
    const causes = schemaCauses(def.schema, obj)
    if (causes.length) throw invalidCauses(def, obj.metadata?.name ?? '', causes)
  }
}

/** fieldValidation=Strict (kubectl's default when the server supports it): fields the schema would prune are a 400. */
export function checkFieldValidation(def: ResourceDef, obj: Obj, fieldValidation: string | undefined): void {
  if (fieldValidation !== 'Strict' || !def.schema) return
  const unknown = unknownFields(def.schema, obj)
  if (unknown.length) throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`)
}

export const SESSIONS = 'sessions.stream.space'
export const PRIORITY_CLASSES = 'priorityclasses.scheduling.k8s.io'
export const SESSION_STATES = ['running', 'hibernated', 'terminated']

interface Cause { reason: string; message: string; field: string }

function invalidCauses(def: ResourceDef, name: string, causes: Cause[]): ApiError {
  const qualified = def.group ? `${def.kind}.${def.group}` : def.kind
  const what = causes.length === 1 ? `${causes[0].field}: ${causes[0].message}` : `[${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}]`
  return new ApiError(422, 'Invalid', `${qualified} "${name}" is invalid: ${what}`, { name, ...(def.group ? { group: def.group } : {}), kind: def.kind, causes })
}

const SESSION_DEF = { kind: 'Session', group: 'stream.space' } as ResourceDef
const PRIORITY_CLASS_DEF = { kind: 'PriorityClass', group: 'scheduling.k8s.io' } as ResourceDef

/** The Session CRD's schema (test/helpers/crds.ts): spec.user and spec.template non-empty strings, spec.state an enum. */
function validateSession(obj: Obj): void {
  const spec = obj.spec
  if (spec === undefined || spec === null) return
  const causes: Cause[] = []
  for (const field of ['template', 'user']) {
    const v = spec[field]
    if (v === undefined) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `spec.${field}` })
    else if (typeof v !== 'string') causes.push({ reason: 'FieldValueTypeInvalid', message: `Invalid value: "${typeof v}": spec.${field} in body must be of type string: "${typeof v}"`, field: `spec.${field}` })
    else if (v.length < 1) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "": spec.${field} in body should be at least 1 chars long`, field: `spec.${field}` })
  }
  if (spec.state !== undefined && !SESSION_STATES.includes(spec.state)) {
    causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(spec.state)}: supported values: ${SESSION_STATES.map((x) => `"${x}"`).join(', ')}`, field: 'spec.state' })
  }
  // The server lists causes sorted by field.
  if (causes.length) throw invalidCauses(SESSION_DEF, obj.metadata?.name ?? '', causes.sort((a, b) => a.field.localeCompare(b.field)))
}

/** The largest value a PriorityClass not named system-* may have. */
const HIGHEST_USER_PRIORITY = 1_000_000_000
export const SYSTEM_PRIORITY_CLASSES: Record<string, { value: number; description: string }> = {
  'system-cluster-critical': { value: 2_000_000_000, description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.' },
  'system-node-critical': { value: 2_000_001_000, description: 'Used for system critical pods that must not be moved from their current node.' },
}

function validatePriorityClass(obj: Obj): void {
  const name = obj.metadata?.name ?? ''
  if (name.startsWith('system-')) {
    if (!SYSTEM_PRIORITY_CLASSES[name]) {
      throw invalidCauses(PRIORITY_CLASS_DEF, name, [{ reason: 'FieldValueForbidden', field: 'metadata.name', message: `Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: ${name} is not a known system priority class` }])
    }
  } else if (obj.value > HIGHEST_USER_PRIORITY) {
    throw invalidCauses(PRIORITY_CLASS_DEF, name, [{ reason: 'FieldValueForbidden', field: 'value', message: `Forbidden: maximum allowed value of a user defined priority is ${HIGHEST_USER_PRIORITY}` }])
  }
  if (obj.preemptionPolicy !== undefined && obj.preemptionPolicy !== 'Never' && obj.preemptionPolicy !== 'PreemptLowerPriority') {
    throw invalidCauses(PRIORITY_CLASS_DEF, name, [{ reason: 'FieldValueNotSupported', field: 'preemptionPolicy', message: `Unsupported value: ${JSON.stringify(obj.preemptionPolicy)}: supported values: "Never", "PreemptLowerPriority"` }])
  }
}

/** Checks on create beyond validation: admission (one global default PriorityClass). */
export function checkCreate(store: Store, def: ResourceDef, obj: Obj): void {
  const id = idOf(def)
  if (id === PRIORITY_CLASSES) {
    const withDefaults = defaultsOnWrite(def, obj)
    validate(def, withDefaults)
    if (obj.globalDefault === true) {
      for (const pc of store.collection(id).objects.values()) {
        if (pc.globalDefault === true) throw new ApiError(403, 'Forbidden', `priorityclasses.scheduling.k8s.io "${obj.metadata.name}" is forbidden: PriorityClass ${pc.metadata.name} is already marked as default. Only one default can exist`, { name: obj.metadata.name, group: 'scheduling.k8s.io', kind: 'priorityclasses' })
      }
    }
  } else if (id === SESSIONS) {
    validate(def, defaultsOnWrite(def, obj))
  } else if (def.schema) {
    // Validated as it will be stored: a status subresource's status is not taken on create.
    const { status: _s, ...rest } = obj
    validate(def, defaultsOnWrite(def, def.status ? rest : obj))
  }
}

/** Checks on update of the main resource: fields that may not change. */
export function checkUpdate(def: ResourceDef, old: Obj, next: Obj): void {
  if (idOf(def) === PRIORITY_CLASSES && next.value !== old.value) {
    throw invalidCauses(PRIORITY_CLASS_DEF, old.metadata.name, [{ reason: 'FieldValueForbidden', field: 'value', message: 'Forbidden: may not be changed in an update.' }])
  }
}

/** Defaults applied on every write (CRD schema pruning and defaults; PriorityClass defaulting). */
export function defaultsOnWrite(def: ResourceDef, obj: Obj): Obj {
  switch (idOf(def)) {
    case SESSIONS:
      return obj.spec && typeof obj.spec === 'object' && obj.spec.state === undefined ? { ...obj, spec: { ...obj.spec, state: 'running' } } : obj
    case PRIORITY_CLASSES: {
      // globalDefault is an omitempty bool: false is not stored (nor answered), as the API server does.
      const { globalDefault, ...rest } = obj
      return { ...rest, ...(globalDefault ? { globalDefault } : {}), value: obj.value ?? 0, preemptionPolicy: obj.preemptionPolicy ?? 'PreemptLowerPriority' }
    }
    default:
      return def.schema ? pruneAndDefault(def.schema, obj) : obj
  }
}

/** A label selector as the text form (matchLabels k=v and matchExpressions), as Scale.status.selector carries it. */
function selectorText(sel: Obj | undefined): string | undefined {
  if (!sel) return undefined
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`)
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${[...e.values].sort().join(',')})`)
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${[...e.values].sort().join(',')})`)
    else if (e.operator === 'Exists') parts.push(e.key)
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`)
  }
  return parts.sort().join(',')
}

/** The autoscaling/v1 Scale of an object: spec.replicas, status.replicas, and the selector (status.selector for custom resources). */
export function scaleOf(def: ResourceDef, obj: Obj): Obj {
  const m = obj.metadata
  const selector = def.custom ? obj.status?.selector : selectorText(obj.spec?.selector)
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0, ...(typeof selector === 'string' && selector ? { selector } : {}) },
  }
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
    default: {
      // A custom resource with a status subresource starts without status, whatever the body says.
      if (def.custom && def.status) {
        const { status: _s, ...rest } = obj
        return defaultsOnWrite(def, rest)
      }
      return defaultsOnWrite(def, obj)
    }
  }
}
