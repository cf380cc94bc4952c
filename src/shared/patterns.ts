// Kubernetes' syntax rules as JSON Schema patterns, for the OpenAPI document: what the service
// accepts is what the document says, so a client (or a fuzzer) that follows the document is not
// refused. Plain regular expressions that mean the same in ECMAScript (ajv) and Python (the
// contract fuzzer): no lookaround, no \s or \d (their Unicode sets differ), spaces only as " ".
// Pure data under src/shared: kube, the domain, the schemas and the UI may all read it.
// The domain checks the same rules with the API server's own wording (src/nodes/validation.ts,
// src/kube/selector.ts, src/kube/quantity.ts), so route validation leaves a field marked
// CHECKED_BY_DOMAIN to it (src/plugins/validation.ts) and its 400 names the rule.

/** Marks the keywords of a schema (pattern, enum, maxLength) that the domain checks with a clearer message. */
export const CHECKED_BY_DOMAIN = 'x-checked-by-domain'
export type DomainKeyword = 'pattern' | 'enum' | 'maxLength'
export const checkedByDomain = (...keywords: DomainKeyword[]) => ({ [CHECKED_BY_DOMAIN]: keywords })

const DNS_LABEL = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?'
const NAME = '[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?'
/** A label or taint key (IsQualifiedName): an optional DNS subdomain prefix and "/", then a name of 1-63. */
export const LABEL_KEY_PATTERN = `^(?:${DNS_LABEL}(?:[.]${DNS_LABEL})*/)?${NAME}$`
/** A label value (IsValidLabelValue): empty, or up to 63 characters. */
export const LABEL_VALUE_PATTERN = `^(?:${NAME})?$`

/** A selector's key is a qualified name, as a label key (the API server refuses "L/x" or "a/b/c"). */
const SEL_KEY = `(?:${DNS_LABEL}(?:[.]${DNS_LABEL})*/)?${NAME}`
const SEL_VALUE = `(?:${NAME})?`
const SEL_TERM = `(?:${SEL_KEY} *(?:==|=|!=) *${SEL_VALUE}|${SEL_KEY} +(?:in|notin) *[(] *${SEL_VALUE} *(?:, *${SEL_VALUE} *)*[)]|! *${SEL_KEY}|${SEL_KEY})`
/** A label selector as kubectl takes it ("a=b,c!=d,e in (f,g),!h,i"); empty terms are ignored. */
export const SELECTOR_PATTERN = `^ *(?:${SEL_TERM} *)?(?:, *(?:${SEL_TERM} *)?)*$`

/** A non-negative Kubernetes quantity ("500m", "2", "4Gi", "1e3"); empty means none. */
export const QUANTITY_PATTERN = '^(?:[+]?(?:[0-9]+(?:[.][0-9]*)?|[.][0-9]+)(?:Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]{1,2})?)?$'

// A node field selector as GET P/nodes serves it: spec.unschedulable compared with true or false,
// comma-separated terms that agree (the domain's parseFieldSelector reads the same).
const UNSCHEDULABLE_TRUE = String.raw`spec\.unschedulable\s*(?:==?\s*true|!=\s*false)`
const UNSCHEDULABLE_FALSE = String.raw`spec\.unschedulable\s*(?:==?\s*false|!=\s*true)`
export const NODE_FIELD_SELECTOR_PATTERN = String.raw`^\s*(?:${UNSCHEDULABLE_TRUE}(?:\s*,\s*${UNSCHEDULABLE_TRUE})*|${UNSCHEDULABLE_FALSE}(?:\s*,\s*${UNSCHEDULABLE_FALSE})*)?\s*$`
