// StreamSpace's admin Nodes page: the answers are the domain's shapes (src/nodes/streamspace-shape.ts),
// re-exported here beside the requests' bodies and params and StreamSpace's error shape.
import { Type } from 'typebox'
import { LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, checkedByDomain } from '../shared/patterns.js'
import { TAINT_EFFECTS } from '../shared/validation.js'

const key = Type.String({ minLength: 1, maxLength: 317, pattern: LABEL_KEY_PATTERN, ...checkedByDomain('pattern', 'maxLength') })
const value = Type.String({ maxLength: 63, pattern: LABEL_VALUE_PATTERN, ...checkedByDomain('pattern', 'maxLength') })

export { CompatResources, CompatUsage, CompatNodeInfo, CompatClusterStats } from '../nodes/streamspace-shape.js'

export const CompatError = Type.Object({ message: Type.String() }, { description: 'StreamSpace\'s error shape' })

export const CompatLabelBody = Type.Object({
  key,
  value,
}, { additionalProperties: false })

export const CompatTaintBody = Type.Object({
  key,
  value: Type.Optional(value),
  effect: Type.String({ enum: [...TAINT_EFFECTS], ...checkedByDomain('enum'), description: 'NoSchedule, PreferNoSchedule or NoExecute' }),
}, { additionalProperties: false })

export const CompatDrainBody = Type.Object({
  grace_period_seconds: Type.Optional(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false })

export const CompatNodeParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 253 }) })
/** StreamSpace's page puts the key into the path unencoded: "example.com/team" arrives as two segments. */
export const CompatKeyParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 253 }), '*': key })
