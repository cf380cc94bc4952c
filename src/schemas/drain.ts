// POST/GET P/nodes/:name/drain: options, result, status. The shapes are the drain's own
// (src/drain/shapes.ts, one definition each), re-exported here beside the route's params.
import { Type } from 'typebox'

export const DrainParams = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253, description: 'Node name' }),
})

export {
  DrainOptions, DrainResult, DrainPhase, DrainStatus, PendingPod, PodReason, PodError, ResolvedDrainOptions,
} from '../drain/shapes.js'

export const DrainAccepted = Type.Object({
  message: Type.String(),
  node: Type.String(),
  status_url: Type.String(),
  events_url: Type.String(),
}, { $id: 'DrainAccepted' })
