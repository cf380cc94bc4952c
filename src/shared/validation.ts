// Kubernetes validation of label and taint keys, values and effects, with the API server's own
// rules and messages (k8s.io/apimachinery/pkg/util/validation: IsQualifiedName, IsValidLabelValue,
// IsDNS1123Subdomain; core validation of taint effects), and which keys Kubernetes manages.
// Pure and self-contained (it imports nothing: a layers rule), so the service (src/nodes/validation.ts
// turns a problem into a 400) and the admin UI in the browser (its dialogs say what is wrong before
// anything is sent) run this one code and answer in the same words.

export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const
export type TaintEffect = (typeof TAINT_EFFECTS)[number]

const QUALIFIED_NAME_MAX = 63
const LABEL_VALUE_MAX = 63
const DNS1123_SUBDOMAIN_MAX = 253

const qualifiedNameRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/
const dns1123SubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

const QUALIFIED_NAME_RULE = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
const LABEL_VALUE_RULE = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
const DNS1123_SUBDOMAIN_RULE = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"

/** Problems with a label or taint key (IsQualifiedName); empty when valid. */
export function qualifiedNameErrors(key: string): string[] {
  const errs: string[] = []
  const parts = key.split('/')
  let name: string
  if (parts.length === 1) {
    name = parts[0]
  } else if (parts.length === 2) {
    const prefix = parts[0]
    name = parts[1]
    if (prefix.length === 0) {
      errs.push('prefix part must be non-empty')
    } else {
      if (prefix.length > DNS1123_SUBDOMAIN_MAX) errs.push(`prefix part must be no more than ${DNS1123_SUBDOMAIN_MAX} characters`)
      if (!dns1123SubdomainRe.test(prefix)) errs.push(`prefix part ${DNS1123_SUBDOMAIN_RULE} (e.g. 'example.com')`)
    }
  } else {
    return [`a qualified name ${QUALIFIED_NAME_RULE} (e.g. 'MyName', 'my.name' or '123-abc'), with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`]
  }
  if (name.length === 0) errs.push('name part must be non-empty')
  else if (name.length > QUALIFIED_NAME_MAX) errs.push(`name part must be no more than ${QUALIFIED_NAME_MAX} characters`)
  if (name.length > 0 && !qualifiedNameRe.test(name)) errs.push(`name part ${QUALIFIED_NAME_RULE} (e.g. 'MyName', 'my.name' or '123-abc')`)
  return errs
}

/** Problems with a label or taint value (IsValidLabelValue); empty when valid. */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = []
  if (value.length > LABEL_VALUE_MAX) errs.push(`must be no more than ${LABEL_VALUE_MAX} characters`)
  if (!labelValueRe.test(value)) errs.push(`${LABEL_VALUE_RULE} (e.g. 'MyValue', 'my_value' or '12345')`)
  return errs
}

export function isTaintEffect(effect: string): effect is TaintEffect {
  return (TAINT_EFFECTS as readonly string[]).includes(effect)
}

/** Problems with a taint effect; empty when valid. */
export function taintEffectErrors(effect: string): string[] {
  return isTaintEffect(effect) ? [] : [`unsupported taint effect: must be one of ${TAINT_EFFECTS.join(', ')}`]
}

/** The one sentence for a field's problems, as the API's 400 says it. */
export function invalidValueMessage(field: string, value: string, rules: string[]): string {
  return `Invalid value for ${field} ${JSON.stringify(value)}: ${rules.join('; ')}`
}

const problem = (field: string, value: string, rules: string[]) => (rules.length ? invalidValueMessage(field, value, rules) : null)

/** The API's 400 message for this key, or null when it is valid. */
export const keyProblem = (key: string, field = 'key') => problem(field, key, qualifiedNameErrors(key))
/** The API's 400 message for this value, or null when it is valid. */
export const valueProblem = (value: string, field = 'value') => problem(field, value, labelValueErrors(value))
/** The API's 400 message for this taint effect, or null when it is valid. */
export const effectProblem = (effect: string, field = 'effect') => problem(field, effect, taintEffectErrors(effect))

/**
 * Keys under kubernetes.io/ and k8s.io/ (and their subdomains, e.g. topology.kubernetes.io/zone)
 * are set by the kubelet, the node controller and the cloud provider. Admin-owned exceptions:
 * node-role.kubernetes.io/ (roles) and node-restriction.kubernetes.io/ (which Kubernetes reserves
 * for admins: kubelets may not set it). The API refuses to change them without force.
 */
const ADMIN_PREFIXES = ['node-role.kubernetes.io', 'node-restriction.kubernetes.io']

export function isSystemManagedKey(key: string): boolean {
  const slash = key.indexOf('/')
  if (slash < 0) return false
  const prefix = key.slice(0, slash)
  if (ADMIN_PREFIXES.includes(prefix)) return false
  return ['kubernetes.io', 'k8s.io'].some((d) => prefix === d || prefix.endsWith('.' + d))
}
