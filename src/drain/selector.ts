// The object form of label selectors that PodDisruptionBudgets carry (matchLabels +
// matchExpressions), to say which PDB holds a pod. The string form is src/kube/selector.ts.
import { matches, type Labels, type Requirement } from '../kube/selector.js'

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
