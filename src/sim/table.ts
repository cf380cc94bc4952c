// Server-side Table output (meta.k8s.io/v1), which kubectl get asks for with as=Table.
import type { PrinterColumn } from './crds.js'
import { apiVersionOf, type ResourceDef } from './kinds.js'
import type { Obj } from './store.js'

/** Age as kubectl prints it: 45s, 12m, 5h3m, 5d3h, 2y30d (apimachinery HumanDuration). */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 0) return '<invalid>'
  if (s < 120) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`
  if (m < 180) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`
  if (h < 48) return `${h}h`
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`
  if (h < 24 * 365 * 8) return `${Math.floor(h / 24 / 365)}y${Math.floor(h / 24) % 365}d`
  return `${Math.floor(h / 24 / 365)}y`
}

interface Column { name: string; type: string; format?: string; description: string; priority: number }

const col = (name: string, type = 'string', priority = 0, format?: string): Column => ({ name, type, ...(format ? { format } : {}), description: name, priority })

function age(obj: Obj, now: number): string {
  const t = Date.parse(obj.metadata?.creationTimestamp ?? '')
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t)
}

function nodeStatus(node: Obj): string {
  const ready = (node.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready')
  const parts = [ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown']
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled')
  return parts.join(',')
}

function nodeRoles(node: Obj): string {
  const roles: string[] = []
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.push(k.slice('node-role.kubernetes.io/'.length))
    else if (k === 'kubernetes.io/role') roles.push(String(v))
  }
  return roles.length ? roles.sort().join(',') : '<none>'
}

function podStatus(pod: Obj): string {
  if (pod.metadata?.deletionTimestamp) return 'Terminating'
  const phase = pod.status?.phase ?? 'Pending'
  if (phase === 'Succeeded') return 'Completed'
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) return cs.state.waiting.reason
  }
  return phase
}

const COLUMNS: Record<string, Column[]> = {
  nodes: [col('Name', 'string', 0, 'name'), col('Status'), col('Roles'), col('Age'), col('Version'), col('Internal-IP', 'string', 1), col('External-IP', 'string', 1), col('OS-Image', 'string', 1), col('Kernel-Version', 'string', 1), col('Container-Runtime', 'string', 1)],
  pods: [col('Name', 'string', 0, 'name'), col('Ready'), col('Status'), col('Restarts', 'string'), col('Age'), col('IP', 'string', 1), col('Node', 'string', 1), col('Nominated Node', 'string', 1), col('Readiness Gates', 'string', 1)],
  namespaces: [col('Name', 'string', 0, 'name'), col('Status'), col('Age')],
  poddisruptionbudgets: [col('Name', 'string', 0, 'name'), col('Min Available'), col('Max Unavailable'), col('Allowed Disruptions', 'integer'), col('Age')],
  daemonsets: [col('Name', 'string', 0, 'name'), col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), col('Up-to-date', 'integer'), col('Available', 'integer'), col('Node Selector'), col('Age')],
  replicasets: [col('Name', 'string', 0, 'name'), col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), col('Age')],
  deployments: [col('Name', 'string', 0, 'name'), col('Ready'), col('Up-to-date', 'integer'), col('Available', 'integer'), col('Age')],
  statefulsets: [col('Name', 'string', 0, 'name'), col('Ready'), col('Age')],
  configmaps: [col('Name', 'string', 0, 'name'), col('Data', 'integer'), col('Age')],
  leases: [col('Name', 'string', 0, 'name'), col('Holder'), col('Age')],
  events: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Message')],
  priorityclasses: [col('Name', 'string', 0, 'name'), col('Value', 'integer'), col('Global-Default', 'boolean'), col('Age'), col('PreemptionPolicy')],
  // Custom resources: the additionalPrinterColumns of their CRDs (test/helpers/crds.ts); missing values are null.
  machinedeployments: [col('Name', 'string', 0, 'name'), col('Cluster'), col('Replicas', 'integer'), col('Ready', 'integer'), col('Updated', 'integer'), col('Unavailable', 'integer'), col('Phase'), col('Age', 'date'), col('Version')],
  sessions: [col('Name', 'string', 0, 'name'), col('User'), col('Template'), col('State'), col('Phase'), col('Age', 'date')],
}

const NAME_DESCRIPTION = 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names'

/** A CRD's columns as the server's table convertor defines them: Name, then additionalPrinterColumns (priority 1: -o wide only). */
function crdColumns(columns: PrinterColumn[]): Column[] {
  return [
    { name: 'Name', type: 'string', format: 'name', description: NAME_DESCRIPTION, priority: 0 },
    ...columns.map((c) => ({
      name: c.name,
      type: c.type,
      ...(c.format ? { format: c.format } : {}),
      description: c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
      priority: c.priority ?? 0,
    })),
  ]
}

/** The value at a simple JSONPath (.a.b, .a[0], .a['b.c'], escaped dots), as CRD columns use them; undefined when missing. */
export function jsonPathValue(obj: unknown, path: string): unknown {
  let cur: any = obj
  for (const m of path.matchAll(/\.((?:\\.|[^.[\\])+)|\[(\d+)\]|\['([^']*)'\]/g)) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = cur[m[1] !== undefined ? m[1].replace(/\\\./g, '.') : m[2] ?? m[3]]
  }
  return cur
}

/** A CRD column's cell (apiextensions' cellForJSONValue): null when missing or of another type; dates as ages. */
function crdCell(column: PrinterColumn, obj: Obj, now: number): unknown {
  const v = jsonPathValue(obj, column.jsonPath)
  if (v === undefined || v === null) return null
  switch (column.type) {
    case 'string':
      return typeof v === 'object' ? JSON.stringify(v) : String(v)
    case 'integer':
      return typeof v === 'number' ? Math.trunc(v) : null
    case 'number':
      return typeof v === 'number' ? v : null
    case 'boolean':
      return typeof v === 'boolean' ? v : null
    case 'date': {
      if (typeof v !== 'string') return null
      const t = Date.parse(v)
      return Number.isNaN(t) ? '<invalid>' : humanDuration(now - t)
    }
    default:
      return null
  }
}

function cells(def: ResourceDef, obj: Obj, now: number): unknown[] {
  const name = obj.metadata?.name
  if (def.columns) return [name, ...def.columns.map((c) => crdCell(c, obj, now))]
  switch (def.plural) {
    case 'nodes': {
      const info = obj.status?.nodeInfo ?? {}
      const external = (obj.status?.addresses ?? []).find((a: Obj) => a.type === 'ExternalIP')?.address ?? '<none>'
      const internal = (obj.status?.addresses ?? []).find((a: Obj) => a.type === 'InternalIP')?.address ?? '<none>'
      return [name, nodeStatus(obj), nodeRoles(obj), age(obj, now), info.kubeletVersion ?? '', internal, external, info.osImage || '<unknown>', info.kernelVersion || '<unknown>', info.containerRuntimeVersion || '<unknown>']
    }
    case 'pods': {
      const statuses: Obj[] = obj.status?.containerStatuses ?? []
      const total = (obj.spec?.containers ?? []).length
      const ready = statuses.filter((c) => c.ready).length
      const restarts = statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0)
      return [name, `${ready}/${total}`, podStatus(obj), String(restarts), age(obj, now), obj.status?.podIP ?? '<none>', obj.spec?.nodeName ?? '<none>', '<none>', '<none>']
    }
    case 'namespaces':
      return [name, obj.status?.phase ?? 'Active', age(obj, now)]
    case 'poddisruptionbudgets':
      return [name, String(obj.spec?.minAvailable ?? 'N/A'), String(obj.spec?.maxUnavailable ?? 'N/A'), obj.status?.disruptionsAllowed ?? 0, age(obj, now)]
    case 'daemonsets': {
      const st = obj.status ?? {}
      const selector = Object.entries(obj.spec?.template?.spec?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>'
      return [name, st.desiredNumberScheduled ?? 0, st.currentNumberScheduled ?? 0, st.numberReady ?? 0, st.updatedNumberScheduled ?? 0, st.numberAvailable ?? 0, selector, age(obj, now)]
    }
    case 'replicasets':
      return [name, obj.spec?.replicas ?? 0, obj.status?.replicas ?? 0, obj.status?.readyReplicas ?? 0, age(obj, now)]
    case 'deployments':
      return [name, `${obj.status?.readyReplicas ?? 0}/${obj.spec?.replicas ?? 0}`, obj.status?.updatedReplicas ?? 0, obj.status?.availableReplicas ?? 0, age(obj, now)]
    case 'statefulsets':
      return [name, `${obj.status?.readyReplicas ?? 0}/${obj.spec?.replicas ?? 0}`, age(obj, now)]
    case 'configmaps':
      return [name, Object.keys(obj.data ?? {}).length + Object.keys(obj.binaryData ?? {}).length, age(obj, now)]
    case 'leases':
      return [name, obj.spec?.holderIdentity ?? '', age(obj, now)]
    case 'events': {
      const io = obj.involvedObject ?? obj.regarding ?? {}
      const last = Date.parse(obj.lastTimestamp ?? obj.eventTime ?? obj.metadata?.creationTimestamp ?? '')
      return [Number.isNaN(last) ? '<unknown>' : humanDuration(now - last), obj.type ?? '', obj.reason ?? '', `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`, obj.message ?? obj.note ?? '']
    }
    case 'priorityclasses':
      return [name, obj.value ?? 0, obj.globalDefault === true, age(obj, now), obj.preemptionPolicy ?? '']
    case 'machinedeployments': {
      const st = obj.status ?? {}
      return [name, obj.spec?.clusterName ?? null, st.replicas ?? null, st.readyReplicas ?? null, st.updatedReplicas ?? null, st.unavailableReplicas ?? null, st.phase ?? null, age(obj, now), obj.spec?.template?.spec?.version ?? null]
    }
    case 'sessions':
      return [name, obj.spec?.user ?? null, obj.spec?.template ?? null, obj.spec?.state ?? null, obj.status?.phase ?? null, age(obj, now)]
    default:
      return [name, age(obj, now)]
  }
}

export function toTable(def: ResourceDef, items: Obj[], listMeta: Obj, includeObject: string | undefined): Obj {
  const now = Date.now()
  const columns = def.columns ? crdColumns(def.columns) : COLUMNS[def.plural] ?? [col('Name', 'string', 0, 'name'), col('Age')]
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: columns,
    rows: items.map((obj) => ({
      cells: cells(def, obj, now),
      object: includeObject === 'None'
        ? undefined
        : includeObject === 'Object'
          ? { kind: def.kind, apiVersion: apiVersionOf(def), ...obj }
          : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata },
    })),
  }
}
