// Node routes' schemas: the answers are the nodes domain's own shapes (src/nodes/shapes.ts, one
// definition each), re-exported here beside the routes' params and queries.
import { Type } from 'typebox'
import { NODE_FIELD_SELECTOR_PATTERN, SELECTOR_PATTERN, checkedByDomain } from '../shared/patterns.js'

export {
  Quantity, Resources, Usage, TaintView, NodeView, NodeDetail, ClusterStats, UsageSample, NodeMetricsHistory,
} from '../nodes/shapes.js'

export const NodeParams = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253, description: 'Node name' }),
})

export const NodeListQuery = Type.Object({
  labelSelector: Type.Optional(Type.String({ pattern: SELECTOR_PATTERN, ...checkedByDomain('pattern'), description: 'Kubernetes label selector, e.g. "node-role.kubernetes.io/worker,zone in (a,b)"' })),
  ready: Type.Optional(Type.Boolean({ description: 'Only Ready (true) or not Ready (false) nodes' })),
  fieldSelector: Type.Optional(Type.String({ maxLength: 256, pattern: NODE_FIELD_SELECTOR_PATTERN, ...checkedByDomain('pattern'), description: 'Only spec.unschedulable, e.g. "spec.unschedulable=false" (=, ==, !=)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, description: 'At most this many nodes, from one snapshot; the next page\'s URL comes in the Link header (rel="next")' })),
  continue: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'The token of the next page, from the previous page\'s Link header' })),
})

export const MetricsQuery = Type.Object({
  window: Type.Optional(Type.String({ // Longer than 0s: one of the parts has a digit other than 0.
    pattern: '^(?:[0-9]*[1-9][0-9]*h(?:[0-9]+m)?(?:[0-9]+s)?|(?:[0-9]+h)?[0-9]*[1-9][0-9]*m(?:[0-9]+s)?|(?:[0-9]+h)?(?:[0-9]+m)?[0-9]*[1-9][0-9]*s)$',
    minLength: 2, default: '1h', description: 'How far back, as 90s, 30m, 1h, 1h30m' })),
})
