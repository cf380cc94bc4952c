// Kubernetes label selectors (the string form kubectl takes: "a=b,c!=d,e in (f,g),!h,i"),
// parsed once and matched against label maps.

import { SELECTOR_PATTERN } from '../shared/patterns.js'

const SELECTOR = new RegExp(SELECTOR_PATTERN)

export type Requirement =
  | { key: string; op: 'in'; values: string[] }
  | { key: string; op: 'notin'; values: string[] }
  | { key: string; op: 'exists' }
  | { key: string; op: '!' }

export type Labels = Record<string, string> | undefined | null

export class SelectorError extends Error {}

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++
    else if (text[i] === ')') depth--
    else if (text[i] === ',' && depth === 0) {
      terms.push(text.slice(start, i))
      start = i + 1
    }
  }
  terms.push(text.slice(start))
  return terms.map((s) => s.trim()).filter((s) => s !== '')
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_./]*[a-z0-9A-Z])?)$/
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

function checkKey(key: string, term: string): string {
  if (!KEY.test(key)) throw new SelectorError(`invalid label key "${key}" in selector term "${term}"`)
  return key
}
function checkValue(value: string, term: string): string {
  if (value.length > 63 || !VALUE.test(value)) throw new SelectorError(`invalid label value "${value}" in selector term "${term}"`)
  return value
}

export function parseSelector(text: string | undefined): Requirement[] {
  if (!text) return []
  const requirements = splitTerms(text).map((term): Requirement => {
    let m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term)
    if (m) {
      const values = m[3].split(',').map((v) => checkValue(v.trim(), term))
      return { key: checkKey(m[1], term), op: m[2] as 'in' | 'notin', values }
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term)
    if (m) {
      const values = [checkValue(m[3], term)]
      return m[2] === '!=' ? { key: checkKey(m[1], term), op: 'notin', values } : { key: checkKey(m[1], term), op: 'in', values }
    }
    m = /^!\s*(\S+)$/.exec(term)
    if (m) return { key: checkKey(m[1], term), op: '!' }
    if (KEY.test(term)) return { key: term, op: 'exists' }
    throw new SelectorError(`invalid selector term "${term}"`)
  })
  // Every term parsed: what is left is the grammar the OpenAPI document gives (SELECTOR_PATTERN),
  // e.g. whitespace other than spaces.
  if (!SELECTOR.test(text)) throw new SelectorError(`invalid selector "${text}": terms are key, !key, key=value, key!=value, key in (v1,v2) or key notin (v1,v2), separated by commas and spaces`)
  return requirements
}

export function matches(requirements: Requirement[], labels: Labels): boolean {
  for (const r of requirements) {
    const v = labels?.[r.key]
    switch (r.op) {
      case 'in': if (v === undefined || !r.values.includes(v)) return false; break
      case 'notin': if (v !== undefined && r.values.includes(v)) return false; break
      case 'exists': if (v === undefined) return false; break
      case '!': if (v !== undefined) return false; break
    }
  }
  return true
}

/** The object form that PodDisruptionBudgets and workloads carry (matchLabels + matchExpressions). */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>
}

/**
 * Whether a LabelSelector object (as in a PodDisruptionBudget) selects these labels.
 * A missing selector selects nothing; an empty one selects everything (policy/v1 semantics).
 */
export function labelSelectorMatches(sel: LabelSelectorObject | undefined | null, labels: Labels): boolean {
  if (!sel) return false
  const reqs: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, v]) => ({ key, op: 'in' as const, values: [v] }))
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'In') reqs.push({ key: e.key, op: 'in', values: e.values ?? [] })
    else if (e.operator === 'NotIn') reqs.push({ key: e.key, op: 'notin', values: e.values ?? [] })
    else if (e.operator === 'Exists') reqs.push({ key: e.key, op: 'exists' })
    else if (e.operator === 'DoesNotExist') reqs.push({ key: e.key, op: '!' })
    else return false
  }
  return matches(reqs, labels)
}
