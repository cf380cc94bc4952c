// Node selection (`app.selection`): the domain's NodeSelector over the watch caches, with the live
// nodeSelectionStrategy. One per process, so round-robin rotates fairly within it.
import fp from 'fastify-plugin'
import { NodeSelector } from '../selection/select.js'

declare module 'fastify' {
  interface FastifyInstance {
    selection: NodeSelector
  }
}

export interface SelectionPluginOptions {
  /** Uniform in [0, 1) for the random strategy; default Math.random. */
  random?: () => number
}

export default fp<SelectionPluginOptions>(async (app, opts) => {
  app.decorate('selection', new NodeSelector({
    source: { readable: () => { app.nodes.readable() }, nodes: () => app.cluster.nodes.values(), podsOn: (name) => app.cluster.podsOn(name) },
    strategy: () => app.settings.options.nodeSelectionStrategy,
    random: opts.random,
  }))
}, { name: 'selection', dependencies: ['kube', 'nodes', 'settings'] })
