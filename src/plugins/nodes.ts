// The nodes domain as routes reach it: the read model (`app.nodes`: views, stats, the prepared
// list and usage history, rendered from the kube plugin's watch caches) and what node changes
// need (`app.nodeChangeDeps`: the Kubernetes clients and the pods on a node, wired here so routes
// never touch the kube layer).
import fp from 'fastify-plugin'
import { NodeReadModel } from '../nodes/read-model.js'
import type { AuditSink, NodeChangeDeps } from '../nodes/changes.js'
import type { Log } from '../shared/log.js'

declare module 'fastify' {
  interface FastifyInstance {
    nodes: NodeReadModel
    nodeChangeDeps(audit: AuditSink, log?: Pick<Log, 'warn'>): NodeChangeDeps
  }
}

export interface NodesPluginOptions {
  /** Under watch churn, the node list is rebuilt at most this often. Default 100 ms. */
  rebuildIntervalMs?: number
}

export default fp<NodesPluginOptions>(async (app, opts) => {
  app.decorate('nodes', new NodeReadModel(app.cluster, { clock: app.clock, rebuildIntervalMs: opts.rebuildIntervalMs ?? 100 }))
  app.decorate('nodeChangeDeps', (audit: AuditSink, log?: Pick<Log, 'warn'>): NodeChangeDeps => ({
    clients: app.kube,
    podsOnNode: (node) => app.cluster.podsOn(node),
    audit,
    log,
  }))
}, { name: 'nodes', dependencies: ['kube'] })
