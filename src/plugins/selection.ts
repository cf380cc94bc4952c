// Node selection (`app.selection`): the domain's NodeSelector over the watch caches, with the live
// nodeSelectionStrategy, and round-robin's cursor shared by every replica through a ConfigMap in
// the service's namespace (src/selection/cursor.ts). `app.nodeFacts`: every node's NodeFacts, kept
// between calls (src/selection/facts-index.ts), shared by selection, the fit check and autoscaling.
import fp from 'fastify-plugin'
import { NodeSelector } from '../selection/select.js'
import { ConfigMapCursor } from '../selection/cursor.js'
import { FactsIndex } from '../selection/facts-index.js'

declare module 'fastify' {
  interface FastifyInstance {
    selection: NodeSelector
    nodeFacts: FactsIndex
  }
}

export interface SelectionPluginOptions {
  /** Uniform in [0, 1) for the random strategy; default Math.random. */
  random?: () => number
  /** Where round-robin's cursor ConfigMap lives; default POD_NAMESPACE, else streamspace. */
  namespace?: string
}

export default fp<SelectionPluginOptions>(async (app, opts) => {
  const log = app.log.child({ component: 'selection' })
  const source = {
    readable: () => { app.nodes.readable() },
    nodes: () => app.cluster.nodes.values(),
    podsOn: (name: string) => app.cluster.podsOn(name),
    podsVersionOf: (name: string) => app.cluster.podsVersionOf(name),
    version: () => app.cluster.version,
    node: (name: string) => app.cluster.nodes.get(name),
    onChange: (listener: (name: string | undefined, usageOnly?: boolean) => void) => app.cluster.onViewInput(listener),
  }
  const facts = new FactsIndex(source)
  app.decorate('nodeFacts', facts)
  app.decorate('selection', new NodeSelector({
    source,
    facts,
    strategy: () => app.settings.options.nodeSelectionStrategy,
    random: opts.random,
    cursor: new ConfigMapCursor(app.kube, opts.namespace ?? app.settings.service.podNamespace ?? 'streamspace'),
    warn: (err) => log.warn({ err }, 'round-robin: the shared cursor failed, this replica\'s own is used'),
  }))
}, { name: 'selection', dependencies: ['kube', 'nodes', 'settings'] })
