// StreamSpace's admin Nodes page: the answers are the domain's shapes (src/nodes/streamspace-shape.ts),
// re-exported here beside the requests' bodies and params and StreamSpace's error shape.
import { Type, type Static, type TUnsafe } from 'typebox'
import { ERROR_MEANING } from './common.js'
import { LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, checkedByDomain } from '../shared/patterns.js'
import { TAINT_EFFECTS } from '../shared/validation.js'

const key = Type.String({ minLength: 1, maxLength: 317, pattern: LABEL_KEY_PATTERN, ...checkedByDomain('pattern', 'maxLength') })
const value = Type.String({ maxLength: 63, pattern: LABEL_VALUE_PATTERN, ...checkedByDomain('pattern', 'maxLength') })

export { CompatResources, CompatUsage, CompatNodeInfo, CompatClusterStats } from '../nodes/streamspace-shape.js'

export const CompatError = Type.Object({ message: Type.String() }, {
  $id: 'StreamSpaceError',
  description: 'StreamSpace\'s error shape: only the message (the status code says the rest)',
  examples: [{ message: 'Node worker-9 not found' }],
})

/** Error answers of a compat route by status, StreamSpace's {message} by reference (the same statuses as the P routes). */
export function compatErrorAnswers(statuses: Array<number | [number, string]> = []) {
  const out: Record<number, TUnsafe<Static<typeof CompatError>>> = {}
  for (const s of [...COMPAT_COMMON, [429, 'Too many changes by this user: the rate limit (the message says when to retry)'] as [number, string], ...statuses]) {
    const [status, description] = Array.isArray(s) ? s : [s, undefined]
    out[status] = Type.Unsafe<Static<typeof CompatError>>({ $ref: 'StreamSpaceError#', description: description ?? ERROR_MEANING[status] })
  }
  return out
}
/** As on the P routes (src/schemas/common.ts); 429 too (added above): the rate limit answers every change. */
const COMPAT_COMMON = [400, 401, 403, 413, 414, 415, 500, 502, 503]

export const CompatLabelBody = Type.Object({
  key,
  value,
}, { additionalProperties: false, examples: [{ key: 'example.com/pool', value: 'gpu' }] })

export const CompatTaintBody = Type.Object({
  key,
  value: Type.Optional(value),
  effect: Type.String({ enum: [...TAINT_EFFECTS], ...checkedByDomain('enum'), description: 'NoSchedule, PreferNoSchedule or NoExecute' }),
}, { additionalProperties: false, examples: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })

export const CompatDrainBody = Type.Object({
  grace_period_seconds: Type.Optional(Type.Integer({ minimum: 0, description: 'Passed to each eviction; default: each pod\'s own terminationGracePeriodSeconds' })),
}, { additionalProperties: false, examples: [{ grace_period_seconds: 30 }] })

const nodeName = Type.String({ minLength: 1, maxLength: 253, description: 'Node name' })
export const CompatNodeParams = Type.Object({ name: nodeName })
/**
 * StreamSpace's page puts the key into the path unencoded: "example.com/team" arrives as two
 * segments, so the route takes the rest of the path (Fastify's "*"); the OpenAPI document names it
 * `key` (src/plugins/swagger.ts).
 */
export const CompatKeyParams = Type.Object({
  name: nodeName,
  '*': Type.String({ ...key, description: 'Label or taint key: as it is ("example.com/team", the rest of the path) or percent-encoded (example.com%2Fteam)' }),
})
/** The path parameter's name in the OpenAPI document for the route's wildcard. */
export const WILDCARD_DOC_NAME = 'key'
