// The domain's checks of label and taint fields: Kubernetes' own rules (src/shared/validation.ts,
// which the admin UI runs too) turned into Failures of kind "invalid" that name the field and the
// rule, and the guard rail on keys Kubernetes manages.
import { invalid } from '../errors.js'
import {
  invalidValueMessage, isSystemManagedKey, labelValueErrors, qualifiedNameErrors, taintEffectErrors, type TaintEffect,
} from '../shared/validation.js'

export interface FieldProblem { field: string; value: string; rule: string }

function check(field: string, value: string, rules: string[]): void {
  if (!rules.length) return
  const problems: FieldProblem[] = rules.map((rule) => ({ field, value, rule }))
  throw invalid(invalidValueMessage(field, value, rules), { problems })
}

export function checkKey(key: string, field = 'key'): void {
  check(field, key, qualifiedNameErrors(key))
}

export function checkValue(value: string, field = 'value'): void {
  check(field, value, labelValueErrors(value))
}

export function checkEffect(effect: string, field = 'effect'): asserts effect is TaintEffect {
  check(field, effect, taintEffectErrors(effect))
}

/** The guard rail: refuse a system-managed key unless the admin says force. */
export function checkNotSystemManaged(key: string, force: boolean | undefined, what: 'label' | 'taint'): void {
  if (force || !isSystemManagedKey(key)) return
  throw invalid(`Refusing to change ${what} ${key}: keys under kubernetes.io/ and k8s.io/ are managed by the kubelet, the node controller or the cloud provider (node-role.kubernetes.io/ is allowed); set force=true to change it anyway`, {
    problems: [{ field: 'key', value: key, rule: 'system-managed key: requires force=true' }],
  })
}
