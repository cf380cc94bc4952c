// Request and answer shapes of the node change routes: labels, taints, cordon. The Kubernetes
// rules for keys, values and effects are checked by the domain (src/nodes/validation.ts), which
// answers 400 with the API server's own wording; these schemas give the same rules as patterns for
// the OpenAPI document (route validation leaves them to the domain: src/kube/patterns.ts).
import { Type, type Static } from 'typebox'
import { NodeView } from './node.js'
import { LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, checkedByDomain } from '../shared/patterns.js'
import { TAINT_EFFECTS } from '../shared/validation.js'

const KEY_RULE = 'An optional DNS subdomain prefix (lowercase, at most 253 characters) and "/", then a name of 1-63 characters: alphanumeric at both ends, "-", "_" and "." inside. E.g. "example.com/team", "gpu".'
const VALUE_RULE = 'At most 63 characters: alphanumeric at both ends, "-", "_" and "." inside; may be empty.'
/** A label or taint key: up to 317 characters (a 253-character prefix, "/", a 63-character name). */
const keyRule = { pattern: LABEL_KEY_PATTERN, maxLength: 317, ...checkedByDomain('pattern', 'maxLength') }
const valueRule = { pattern: LABEL_VALUE_PATTERN, maxLength: 63, ...checkedByDomain('pattern', 'maxLength') }
const effectRule = { enum: [...TAINT_EFFECTS], ...checkedByDomain('enum') }
const FORCE_RULE = 'Keys under kubernetes.io/ and k8s.io/ (kubernetes.io/hostname, topology.kubernetes.io/zone, ...) are managed by the kubelet, the node controller and the cloud provider: changing them is refused (400) unless force is true. node-role.kubernetes.io/ and node-restriction.kubernetes.io/ are allowed without it.'

export const LabelKeyParams = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253, description: 'Node name' }),
  key: Type.String({ ...keyRule, description: `Label key, percent-encoded when it has a "/" (example.com%2Fteam). ${KEY_RULE}` }),
})

export const TaintKeyParams = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253, description: 'Node name' }),
  key: Type.String({ ...keyRule, description: `Taint key, percent-encoded when it has a "/". ${KEY_RULE}` }),
})

export const SetLabelBody = Type.Object({
  key: Type.String({ ...keyRule, description: `Label key. ${KEY_RULE}`, examples: ['example.com/pool'] }),
  value: Type.String({ ...valueRule, description: `Label value. ${VALUE_RULE}`, examples: ['gpu'] }),
  force: Type.Optional(Type.Boolean({ default: false, description: FORCE_RULE })),
}, { description: 'Sets the label, overwriting its value if it has one (kubectl label --overwrite).' })
export type SetLabelBody = Static<typeof SetLabelBody>

export const DeleteLabelQuery = Type.Object({
  force: Type.Optional(Type.Boolean({ default: false, description: `?force=true. ${FORCE_RULE}` })),
})
export type DeleteLabelQuery = Static<typeof DeleteLabelQuery>

export const SetTaintBody = Type.Object({
  key: Type.String({ ...keyRule, description: `Taint key. ${KEY_RULE}`, examples: ['dedicated'] }),
  value: Type.Optional(Type.String({ ...valueRule, description: `Taint value. ${VALUE_RULE}`, examples: ['gpu'] })),
  effect: Type.String({ ...effectRule, description: 'NoSchedule, PreferNoSchedule or NoExecute. NoExecute evicts the pods on the node that do not tolerate it.', examples: ['NoSchedule'] }),
  force: Type.Optional(Type.Boolean({ default: false, description: FORCE_RULE })),
}, { description: 'Adds the taint, or replaces the one with the same key and effect (kubectl taint --overwrite).' })
export type SetTaintBody = Static<typeof SetTaintBody>

export const DeleteTaintQuery = Type.Object({
  effect: Type.Optional(Type.String({ ...effectRule, description: 'Remove only the taint with this effect; without it, every taint with the key (as kubectl taint KEY-).' })),
  force: Type.Optional(Type.Boolean({ default: false, description: `?force=true. ${FORCE_RULE}` })),
})
export type DeleteTaintQuery = Static<typeof DeleteTaintQuery>

/** The answer to POST taints: the node after the change, and for NoExecute how many pods it evicts. */
export const TaintChangeResult = Type.Object({
  ...NodeView.properties,
  affected_pods: Type.Optional(Type.Integer({
    minimum: 0,
    description: 'NoExecute only: pods on the node this taint evicts: at once those that do not tolerate it, after tolerationSeconds those that tolerate it for a limited time.',
  })),
}, { $id: 'TaintChangeResult' })
export type TaintChangeResult = Static<typeof TaintChangeResult>

export const CordonBody = Type.Object({
  reason: Type.Optional(Type.String({ maxLength: 1024, description: 'Why the node is cordoned: kept in the annotation streamspace.io/cordon-reason until uncordon', examples: ['kernel upgrade, ticket OPS-1234'] })),
}, { additionalProperties: false, description: 'Optional: POST without a body cordons without a reason.' })
export type CordonBody = Static<typeof CordonBody>
