// The API's validation of label and taint keys, values and effects, repeated in the browser so a
// dialog says what is wrong before anything is sent, in the API's own words (src/nodes/validation.ts:
// Kubernetes' IsQualifiedName, IsValidLabelValue, taint effects, and the guard rail on keys
// Kubernetes manages). The UI imports only wire shapes from the service (a layers rule), so this is
// a copy; test/ui/validation.test.ts checks it answers exactly as the server's code on many inputs.

export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const

const QUALIFIED_NAME_MAX = 63
const LABEL_VALUE_MAX = 63
const DNS1123_SUBDOMAIN_MAX = 253
const qualifiedNameRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/
const dns1123SubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const QUALIFIED_NAME_RULE = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
const LABEL_VALUE_RULE = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
const DNS1123_SUBDOMAIN_RULE = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"

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

export function labelValueErrors(value: string): string[] {
  const errs: string[] = []
  if (value.length > LABEL_VALUE_MAX) errs.push(`must be no more than ${LABEL_VALUE_MAX} characters`)
  if (!labelValueRe.test(value)) errs.push(`${LABEL_VALUE_RULE} (e.g. 'MyValue', 'my_value' or '12345')`)
  return errs
}

const message = (field: string, value: string, rules: string[]) =>
  rules.length ? `Invalid value for ${field} ${JSON.stringify(value)}: ${rules.join('; ')}` : null

/** The API's 400 message for this key, or null when it is valid. */
export const keyProblem = (key: string, field = 'key') => message(field, key, qualifiedNameErrors(key))
export const valueProblem = (value: string, field = 'value') => message(field, value, labelValueErrors(value))
export const effectProblem = (effect: string, field = 'effect') =>
  message(field, effect, (TAINT_EFFECTS as readonly string[]).includes(effect) ? [] : [`unsupported taint effect: must be one of ${TAINT_EFFECTS.join(', ')}`])

const ADMIN_PREFIXES = ['node-role.kubernetes.io', 'node-restriction.kubernetes.io']

/** Keys under kubernetes.io/ and k8s.io/ (but node-role. and node-restriction.): the API wants force. */
export function isSystemManagedKey(key: string): boolean {
  const slash = key.indexOf('/')
  if (slash < 0) return false
  const prefix = key.slice(0, slash)
  if (ADMIN_PREFIXES.includes(prefix)) return false
  return ['kubernetes.io', 'k8s.io'].some((d) => prefix === d || prefix.endsWith('.' + d))
}
