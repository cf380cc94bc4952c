// StreamSpace's view of the nodes (`app.streamspaceNodes`), over the node read model and the
// watch caches, for the /api/v1/admin/nodes routes (routes/streamspace-compat.ts).
import fp from 'fastify-plugin'
import { StreamSpaceNodes } from '../nodes/streamspace-shape.js'

declare module 'fastify' {
  interface FastifyInstance {
    streamspaceNodes: StreamSpaceNodes
  }
}

export default fp(async (app) => {
  app.decorate('streamspaceNodes', new StreamSpaceNodes(app.nodes, app.cluster))
}, { name: 'streamspace-compat', dependencies: ['kube', 'nodes'] })
