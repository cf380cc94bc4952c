// The node read model (`app.nodes`): views, stats, the prepared list and usage history, rendered
// from the kube plugin's watch caches. Read routes answer from it.
import fp from 'fastify-plugin'
import { NodeReadModel } from '../nodes/read-model.js'

declare module 'fastify' {
  interface FastifyInstance {
    nodes: NodeReadModel
  }
}

export interface NodesPluginOptions {
  /** Under watch churn, the node list is rebuilt at most this often. Default 100 ms. */
  rebuildIntervalMs?: number
}

export default fp<NodesPluginOptions>(async (app, opts) => {
  app.decorate('nodes', new NodeReadModel(app.cluster, { clock: app.clock, rebuildIntervalMs: opts.rebuildIntervalMs ?? 100 }))
}, { name: 'nodes', dependencies: ['kube'] })
