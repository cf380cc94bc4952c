// Autoscaling recommendations (`app.autoscaling`): the domain's Autoscaler over the watch caches
// and the live thresholds, evaluated every interval on the leader (from when it leads with synced
// caches until it stops: a gap restarts the stabilization windows). Each change of recommendation
// is a metric and a Kubernetes Event (about our leader Lease). Recommend only: nothing is scaled.
// A follower does not show a recommendation of its own making as if stabilized: it answers the
// same figures from its own caches (they watch the same cluster), marked computed_by "follower"
// and stabilized false; the leader's stabilized decisions are its Events.
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { Autoscaler, type Action, type Thresholds } from '../autoscaling/autoscaler.js'
import { recordEvent } from '../kube/events.js'
import { patchNodeAnnotations } from '../kube/node-patches.js'
import { isTerminated } from '../nodes/view.js'
import { SessionProtector } from '../autoscaling/protection.js'
import { ClusterApiProvider, PRIORITY_CLASS_VALUE } from '../autoscaling/cluster-api.js'
import * as capi from '../kube/cluster-api.js'
import { parseSelector } from '../kube/selector.js'
import { LEADER_LEASE_NAME, OVERPROVISIONING_NAME } from '../kube/permissions.js'
import type { AutoscalingStatus } from '../schemas/autoscaling.js'

export interface AutoscalingService {
  autoscaler: Autoscaler
  protector: SessionProtector
  /** Always there: with provider none it only removes what cluster-api made before. */
  clusterApi: ClusterApiProvider
  status(): AutoscalingStatus
}

declare module 'fastify' {
  interface FastifyInstance {
    autoscaling: AutoscalingService
  }
}

export interface AutoscalingPluginOptions {
  namespace: string
  start: boolean
}

const PREFIX = 'streamspace_node_manager_'
const ACTIONS: Action[] = ['scale_up', 'scale_down', 'none']

export default fp<AutoscalingPluginOptions>(async (app, opts) => {
  const service = app.settings.service
  const log = app.log.child({ component: 'autoscaling' })
  const thresholds = (): Thresholds => {
    const o = app.settings.options
    return { scale_up: o.scaleUpThreshold, scale_down: o.scaleDownThreshold, min_nodes: o.minNodes, max_nodes: o.maxNodes }
  }
  const changes = new Counter({
    name: `${PREFIX}autoscaling_recommendation_changes_total`, help: 'Autoscaling recommendation changes, by the action recommended',
    labelNames: ['action'] as const, registers: [app.metrics.registry],
  })
  const autoscaler = new Autoscaler({
    clock: app.clock,
    nodes: () => app.nodeFacts.all(),
    usage: (name) => {
      const u = app.cluster.metrics?.latest(name)
      return u ? { cpuMilli: u.cpuCores * 1000, memoryBytes: u.memoryBytes } : undefined
    },
    thresholds,
    intervalMs: () => service.autoscalingIntervalSeconds * 1000,
    scaleUpWindowMs: () => service.scaleUpStabilizationSeconds * 1000,
    scaleDownWindowMs: () => service.scaleDownStabilizationSeconds * 1000,
    active: () => app.cluster.synced,
    onChange: (next, prev) => {
      changes.inc({ action: next.action })
      log.info({ action: next.action, current: next.current_nodes, desired: next.desired_nodes, reason: next.reason }, 'autoscaling recommendation changed')
      // Fenced: a replica whose leadership may have passed writes no Event in the leader's name.
      if ((prev === undefined && next.action === 'none') || !app.health.stillLeading()) return
      recordEvent(app.kube, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: LEADER_LEASE_NAME, namespace: opts.namespace }, {
        reason: next.action === 'scale_up' ? 'ScaleUpRecommended' : next.action === 'scale_down' ? 'ScaleDownRecommended' : 'NoScalingRecommended',
        message: `${next.action}: ${next.current_nodes} -> ${next.desired_nodes} nodes: ${next.reason}`,
      }).catch((err: unknown) => log.warn({ err }, 'could not record the autoscaling Event'))
    },
  })
  new Gauge({
    name: `${PREFIX}autoscaling_recommendation`, help: '1 for the action the autoscaling recommendation currently says (scale_up, scale_down, none)',
    labelNames: ['action'] as const, registers: [app.metrics.registry],
    collect() {
      const cur = autoscaler.recommendation?.action
      for (const a of ACTIONS) this.set({ action: a }, cur === a ? 1 : 0)
    },
  })
  new Gauge({
    name: `${PREFIX}autoscaling_desired_nodes`, help: 'Nodes the autoscaling recommendation wants (clamped to [minNodes, maxNodes])',
    registers: [app.metrics.registry],
    collect() { const r = autoscaler.recommendation; if (r) this.set(r.desired_nodes) },
  })
  const status = (): AutoscalingStatus => {
    const t = thresholds()
    const leader = app.health.isLeader()
    const led = autoscaler.recommendation
    const view = leader || !app.cluster.synced ? undefined : autoscaler.preview()
    return {
      enabled: app.settings.options.enableAutoScaling,
      provider: service.autoscalingProvider,
      leader,
      thresholds: { ...t, scale_up_window_seconds: service.scaleUpStabilizationSeconds, scale_down_window_seconds: service.scaleDownStabilizationSeconds, interval_seconds: service.autoscalingIntervalSeconds },
      utilization: view?.utilization ?? (led ? autoscaler.lastUtilization ?? null : null),
      recommendation: view ? { ...view.recommendation, computed_by: 'follower' as const }
        : led ? { ...led, computed_by: 'leader' as const, stabilized: true } : null,
      history: autoscaler.changes,
      last_action: autoscaler.lastAction ?? null,
      cluster_api: service.autoscalingProvider === 'cluster-api' ? { ...clusterApi.state } : null,
    }
  }
  // Session protection, autoscaling enabled or not: the leader annotates nodes with session pods
  // (cluster-autoscaler's scale-down-disabled, Karpenter's do-not-disrupt) and removes only what it
  // added, on the watch caches' changes (debounced) and on a periodic resync.
  const protector = new SessionProtector({
    source: {
      nodes: () => app.cluster.nodes.values(),
      hasSessions: (name) => {
        for (const p of app.cluster.podsOn(name)) if (p.session && !isTerminated(p)) return true
        return false
      },
      podsVersionOf: (name) => app.cluster.podsVersionOf(name),
      onChange: (listener) => app.cluster.onChange(listener),
      synced: () => app.cluster.synced,
    },
    clock: app.clock,
    patch: async (name, annotations, resourceVersion) => { await patchNodeAnnotations(app.kube, name, annotations, resourceVersion) },
    debounceMs: () => service.sessionProtectionDebounceSeconds * 1000,
    resyncMs: () => service.sessionProtectionResyncSeconds * 1000,
    log,
  })
  // AUTOSCALING_PROVIDER=cluster-api: cluster-autoscaler's annotations on the selected
  // MachineDeployments and the overprovisioning Deployment, in step with the live options; disabled
  // (or provider none), the leader removes what it made and puts the annotations back.
  const overprovisioningName = OVERPROVISIONING_NAME
  try { parseSelector(service.clusterApiSelector) } catch (err) {
    throw new Error(`CLUSTER_API_SELECTOR is not a label selector (${JSON.stringify(service.clusterApiSelector)}): ${(err as Error).message}`, { cause: err })
  }
  const clusterApi = new ClusterApiProvider({
    clock: app.clock,
    selector: service.clusterApiSelector,
    options: () => {
      const o = app.settings.options
      return { enabled: o.enableAutoScaling && service.autoscalingProvider === 'cluster-api', minNodes: o.minNodes, maxNodes: o.maxNodes, scaleDownThreshold: o.scaleDownThreshold, scaleUpThreshold: o.scaleUpThreshold }
    },
    nodes: () => app.nodeFacts.all().filter((f) => f.ready && !f.unschedulable),
    intervalMs: () => service.autoscalingIntervalSeconds * 1000,
    stillLeading: () => app.health.stillLeading(),
    log,
    ops: {
      priorityClassName: overprovisioningName,
      listGroups: () => capi.listMachineDeployments(app.kube),
      patchGroup: (g, annotations) => capi.patchMachineDeploymentAnnotations(app.kube, g, annotations),
      ensurePriorityClass: () => capi.ensurePriorityClass(app.kube, { name: overprovisioningName, value: PRIORITY_CLASS_VALUE, description: 'StreamSpace overprovisioning pause pods: preempted by every real pod, so cluster-autoscaler adds nodes before sessions wait' }),
      deletePriorityClass: () => capi.deletePriorityClass(app.kube, overprovisioningName),
      readOverprovisioning: () => capi.readOverprovisioning(app.kube, opts.namespace, overprovisioningName),
      applyOverprovisioning: (size, exists) => capi.applyOverprovisioning(app.kube, { namespace: opts.namespace, name: overprovisioningName, priorityClassName: overprovisioningName, image: service.overprovisioningImage, ...size }, exists),
      deleteOverprovisioning: () => capi.deleteOverprovisioning(app.kube, opts.namespace, overprovisioningName),
    },
  })
  const unsubscribe = app.liveOptions.onChange((_next, changes) => {
    if (changes.some((c) => ['enableAutoScaling', 'minNodes', 'maxNodes', 'scaleUpThreshold', 'scaleDownThreshold'].includes(c.option))) clusterApi.kick()
  })
  app.decorate('autoscaling', { autoscaler, protector, clusterApi, status } satisfies AutoscalingService)
  // Provider none touches nothing of Cluster API: the chart grants it no rights there
  // (src/kube/permissions.ts), so switching cluster-api off is done before the provider changes.
  const clusterApiOn = service.autoscalingProvider === 'cluster-api'
  app.health.onLeadership(
    () => { if (opts.start) autoscaler.startLeading(); protector.startLeading(); if (clusterApiOn) clusterApi.startLeading() },
    () => Promise.all([autoscaler.stopLeading(), protector.stopLeading(), clusterApi.stopLeading()]).then(() => undefined),
  )
  app.addHook('preClose', async () => {
    unsubscribe()
    await Promise.all([autoscaler.stopLeading(), protector.stopLeading(), clusterApi.stopLeading()])
  })
}, { name: 'autoscaling', dependencies: ['kube', 'metrics', 'settings', 'health', 'selection'] })
