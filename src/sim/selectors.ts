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

function parseLabelRequirement(term: string): Requirement {
  let m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term)
  if (m) return { key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()) }
  m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term)
  if (m) return { key: m[1], op: m[2] === '!=' ? 'neq' : 'eq', values: [m[3]] }
  m = /^!\s*(\S+)$/.exec(term)
  if (m) return { key: m[1], op: 'notexists', values: [] }
  m = /^([^=!\s()]+)$/.exec(term)
  if (m) return { key: m[1], op: 'exists', values: [] }
  throw badRequest(`unable to parse requirement: invalid label selector "${term}"`)
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

export function parseFieldSelector(text: string | undefined): FieldRequirement[] {
  if (!text) return []
  return splitTerms(text).map((term) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term)
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`)
    return { field: m[1].trim(), op: m[2] === '!=' ? 'neq' : 'eq', value: m[3].trim() }
  })
}

function fieldValue(obj: Obj, path: string): string {
  let cur: any = obj
  for (const part of path.split('.')) {
    if (cur === undefined || cur === null) break
    cur = cur[part]
  }
  if (cur === undefined || cur === null) {
    // The server compares booleans such as spec.unschedulable as "false" when unset.
    return path === 'spec.unschedulable' ? 'false' : ''
  }
  return String(cur)
}

export function fieldMatcher(reqs: FieldRequirement[]): Matcher | undefined {
  if (reqs.length === 0) return undefined
  return (obj) => reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === 'eq'))
}
