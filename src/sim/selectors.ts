// labelSelector and fieldSelector parsing and matching, with the syntax the API server accepts.
import { badRequest } from './status.js'

type Obj = Record<string, any>
export type Matcher = (obj: Obj) => boolean

interface Requirement { key: string; op: 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists'; values: string[] }

/** Split on commas that are not inside parentheses: "a in (x,y),b" -> ["a in (x,y)", "b"]. */
function splitTerms(text: string): string[] {
  const terms: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === ',' && depth === 0) {
      terms.push(text.slice(start, i))
      start = i + 1
    }
  }
  terms.push(text.slice(start))
  return terms.map((t) => t.trim()).filter((t) => t.length > 0)
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

function checkedRequirement(req: Requirement): Requirement {
  const slash = req.key.lastIndexOf('/')
  const name = slash >= 0 ? req.key.slice(slash + 1) : req.key
  const prefix = slash >= 0 ? req.key.slice(0, slash) : undefined
  if (!LABEL_NAME.test(name) || name.length > 63 || (prefix !== undefined && (!DNS_SUBDOMAIN.test(prefix) || prefix.length > 253))) {
    throw badRequest(`unable to parse requirement: key: Invalid value: "${req.key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`)
  }
  req.values.forEach((v, i) => {
    if (!LABEL_VALUE.test(v) || v.length > 63) {
      throw badRequest(`unable to parse requirement: values[${i}][${req.key}]: Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`)
    }
  })
  return req
}

function parseLabelRequirement(term: string): Requirement {
  let m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term)
  if (m) return checkedRequirement({ key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()) })
  m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term)
  if (m) return checkedRequirement({ key: m[1], op: m[2] === '!=' ? 'neq' : 'eq', values: [m[3]] })
  m = /^!\s*(\S+)$/.exec(term)
  if (m) return checkedRequirement({ key: m[1], op: 'notexists', values: [] })
  m = /^([^=!\s()]+)$/.exec(term)
  if (m) return checkedRequirement({ key: m[1], op: 'exists', values: [] })
  throw badRequest(`unable to parse requirement: found '${term}', expected: identifier`)
}

function requirementMatches(req: Requirement, value: string | undefined): boolean {
  switch (req.op) {
    case 'eq': return value === req.values[0]
    case 'neq': return value !== req.values[0]
    case 'in': return value !== undefined && req.values.includes(value)
    case 'notin': return value === undefined || !req.values.includes(value)
    case 'exists': return value !== undefined
    case 'notexists': return value === undefined
  }
}

export function parseLabelSelector(text: string | undefined): Matcher | undefined {
  if (!text) return undefined
  const reqs = splitTerms(text).map(parseLabelRequirement)
  if (reqs.length === 0) return undefined
  return (obj) => {
    const labels = obj.metadata?.labels ?? {}
    return reqs.every((r) => requirementMatches(r, labels[r.key]))
  }
}

/** Matcher for a structured LabelSelector ({matchLabels, matchExpressions}), as in PDBs. */
export function labelSelectorObjectMatcher(sel: Obj | undefined): Matcher {
  if (!sel) return () => false
  const reqs: Requirement[] = []
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, op: 'eq', values: [String(v)] })
  for (const e of sel.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: 'notexists' } as const)[e.operator as 'In']
    if (!op) throw badRequest(`invalid label selector operator "${e.operator}"`)
    reqs.push({ key: e.key, op, values: e.values ?? [] })
  }
  return (obj) => {
    const labels = obj.metadata?.labels ?? {}
    return reqs.every((r) => requirementMatches(r, labels[r.key]))
  }
}

export interface FieldRequirement { field: string; op: 'eq' | 'neq'; value: string }

/** Field labels each resource supports (as registered in kube-apiserver); others get 400. */
const FIELD_LABELS: Record<string, string[]> = {
  pods: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName'],
  nodes: ['spec.unschedulable'],
  namespaces: ['status.phase'],
  events: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
}

export function parseFieldSelector(text: string | undefined, resource?: string): FieldRequirement[] {
  if (!text) return []
  return splitTerms(text).map((term) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term)
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`)
    const field = m[1].trim()
    const supported = field === 'metadata.name' || field === 'metadata.namespace' || (resource !== undefined && (FIELD_LABELS[resource] ?? []).includes(field))
    if (resource !== undefined && !supported) throw badRequest(`field label not supported: ${field}`)
    return { field, op: m[2] === '!=' ? 'neq' : 'eq', value: m[3].trim() }
  })
}

function fieldValue(obj: Obj, path: string): string {
  // Events' field label "source" is source.component (kube-apiserver's event ToSelectableFields).
  if (path === 'source') path = 'source.component'
  let cur: any = obj
  for (const part of path.split('.')) {
    if (cur === undefined || cur === null) break
    cur = cur[part]
  }
  if (cur === undefined || cur === null) {
    // The server compares booleans such as spec.unschedulable as "false" when unset.
    return path === 'spec.unschedulable' || path === 'spec.hostNetwork' ? 'false' : ''
  }
  return String(cur)
}

export function fieldMatcher(reqs: FieldRequirement[]): Matcher | undefined {
  if (reqs.length === 0) return undefined
  return (obj) => reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === 'eq'))
}
