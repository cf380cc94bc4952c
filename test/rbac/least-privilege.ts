// Least privilege on a real kube-apiserver, shared by the files that prove it per feature set
// (least-privilege.test.ts: the chart's defaults; least-privilege-cluster-api.test.ts:
// autoscaling.provider=cluster-api). The service runs with a token bound only to the rules
// src/kube/permissions.ts renders for that feature set (ClusterRole, Role in its namespace, Role in
// "default" for Node Events). Every feature works; removing any one rule makes that feature fail
// with a clear 502/503 naming the missing permission (an audit Event: 200 with a Warning naming
// it), and nothing crashes. A rule no check proves must be in UNPROVEN with why, or the test fails.
// The output lists every rule proven.
import type { Test } from 'tap'
import { PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node'
import { startBackend, type Backend } from '../helpers/backend.js'
import { NODE_MANAGER_USER } from '../helpers/apiserver.js'
import { createDaemonSet, createMachineDeployment, createNode, createPDB, createPod, createReplicaSet, ensureNamespace } from '../helpers/fixtures.js'
import { startService, waitFor, type Service } from '../helpers/service.js'
import { kubeConfigFromFile } from '../../src/kube/client.js'
import { clusterRoleRules, LEADER_LEASE_NAME, NODE_EVENT_NAMESPACE, OVERPROVISIONING_NAME, permissionsFor, roleRules, RUNTIME_CONFIG_NAME, type FeatureSetPermissions, type FeatureSettings, type PermissionRule } from '../../src/kube/permissions.js'

const SERVICE_NAMESPACE = 'streamspace'

export interface FeatureSet {
  /** As the chart's values say it, e.g. "autoscaling.provider=cluster-api". */
  name: string
  settings: FeatureSettings
  /** Which of its rules this run removes in turn (the others are proven by another feature set's run). */
  prove(rule: PermissionRule): boolean
  /** Extra checks with every rule bound (e.g. what a setting must not touch). */
  withEveryRule?(t: Test, svc: Service): Promise<void>
}

export async function proveLeastPrivilege(t: Test, set: FeatureSet): Promise<void> {
  const b = await startBackend('apiserver', { podTerminateSeconds: 1, apiserver: { users: [NODE_MANAGER_USER] } })
  t.teardown(() => b.close())
  const kc = kubeConfigFromFile(b.tokenKubeconfig!(NODE_MANAGER_USER.token))
  await seed(b)
  backend = b
  const all = permissionsFor(set.settings)
  const env = { AUTOSCALING_PROVIDER: set.settings.autoscalingProvider }
  const without = (removed: PermissionRule): FeatureSetPermissions => ({
    cluster: all.cluster.filter((r) => r !== removed),
    namespaced: all.namespaced.filter((r) => r !== removed),
    nodeEvents: all.nodeEvents.filter((r) => r !== removed),
  })
  const rules = [...all.cluster, ...all.namespaced, ...all.nodeEvents]
  const checksOf = (rule: PermissionRule) => FEATURE_CHECKS.filter((c) => c.feature === rule.feature)

  await t.test(`${set.name}: with every rule it renders, every feature works`, async (t) => {
    await bindRoles(b, all)
    const svc = await startService(kc, { env })
    t.teardown(() => svc.close())
    for (const check of FEATURE_CHECKS.filter((c) => rules.some((r) => r.feature === c.feature))) {
      const res = await check.run(svc)
      t.ok(res.status < 300, `${check.feature}: ${res.status} ${res.status >= 300 ? await res.text() : ''}`)
      t.equal(res.headers.get('warning'), null, `${check.feature}: no warning`)
    }
    await set.withEveryRule?.(t, svc)
  })

  const proven: string[] = []
  for (const removed of rules.filter((r) => set.prove(r))) {
    const what = `"${removed.feature}" (${removed.verbs.join(',')} ${removed.resources.join(',')})`
    const checks = checksOf(removed)
    if (!checks.length) {
      const why = UNPROVEN[removed.feature]
      if (why) t.comment(`not proven here: ${what}: ${why}`)
      else t.fail(`${what} is neither proven by a feature check nor listed in UNPROVEN with why`)
      continue
    }
    await t.test(`${set.name}: without ${what}`, async (t) => {
      await bindRoles(b, without(removed))
      const svc = await startService(kc, { waitReady: false, env })
      t.teardown(() => svc.close())
      if (removed.feature.includes('cache') || removed.feature.includes('pod index')) {
        // The caches cannot sync: not ready, and reads say why.
        await waitFor(async () => /forbid/i.test(await (await svc.api('/nodes')).text()), 20_000, 'forbidden named')
      } else {
        await waitFor(async () => (await fetch(`${svc.url}/readyz`)).status === 200, 20_000, 'ready')
      }
      const named = new RegExp(`${removed.resources[0].split('/')[0]}.*forbidden|forbid.*${removed.resources[0].split('/')[0]}`, 'i')
      for (const check of checks) {
        let res = await check.run(svc)
        // /readyz waits for the node and pod caches; the NodeDrain informer may still be listing (503, "not read yet").
        if (check.read) await waitFor(async () => (res = await check.run(svc)).status !== 503, 20_000, `${check.feature}: the drains read from the cluster`)
        if (removed.feature.startsWith('audit events')) {
          // The change itself is made; the answer warns that its audit Event is missing, and why.
          t.equal(res.status, 200, 'the change is made')
          t.match(res.headers.get('warning') ?? '', named, `Warning header names the refused permission: ${res.headers.get('warning')}`)
          continue
        }
        const body = await res.json() as { message: string }
        if (check.read) {
          // A read answers from what the service knows, and says what it could not look at, and why.
          t.equal(res.status, 200, `${check.feature}: the read still answers`)
          t.match(body.message, named, `its message names the refused permission: ${body.message}`)
          continue
        }
        t.ok(res.status === 502 || res.status === 503, `${check.feature} fails with 502/503 (got ${res.status})`)
        t.match(body.message, named, `message names the refused resource: ${body.message}`)
      }
      t.equal((await fetch(`${svc.url}/healthz`)).status, 200, 'the service is still alive')
    })
    proven.push(what)
  }
  t.comment(`${set.name}: rules proven (each removed in turn, its feature failed naming it):\n${proven.map((p) => `  - ${p}`).join('\n')}`)
}

interface FeatureCheck {
  feature: string
  run(svc: Service): Promise<Response>
  /** A read that degrades (200, naming what it could not read) instead of failing. */
  read?: true
}

/** Rules no feature check proves yet, each with why. Any other rule without a check fails the test. */
export const UNPROVEN: Record<string, string> = {
  'node usage (metrics-server)': 'no metrics-server on this API server',
  'maintenance plans: import those of an earlier version': 'an upgrade path run once; test/maintenance/legacy-import.test.ts proves it with full rights',
  'alerts: NodeIncident objects': 'needs a node NotReady past the alert grace; test/health/incidents.test.ts proves the feature with full rights',
  'alerts: the leader writes their status': 'as above',
  'drains: NodeDrain objects': 'every drain check above needs it (a drain is a NodeDrain); proven as its own feature once the checks no longer leave w1 to the next one',
  'drains: the leader writes their status': 'as above; without it a drain stays unfinished and a later leader would run it again',
  'node selection: the round-robin cursor shared by the replicas': 'its failure is by design a fallback to the replica\'s own cursor (logged), not an error answer',
}

let drainCount = 0
const FEATURE_CHECKS: FeatureCheck[] = [
  { feature: 'node list and watch cache', run: (s) => s.api('/nodes') },
  { feature: 'pod index and drain pod list', run: (s) => s.api('/nodes/stats') },
  { feature: 'labels, taints, cordon and uncordon, session protection annotations', run: (s) => s.api('/nodes/w1/labels', { method: 'PUT', json: { key: 'pool', value: `p${Date.now()}` } }) },
  { feature: 'labels, taints, cordon and uncordon, session protection annotations', run: (s) => s.api('/nodes/w1/taints', { method: 'POST', json: { key: 'dedicated', value: `v${Date.now()}`, effect: 'PreferNoSchedule' } }) },
  { feature: 'audit events on nodes', run: (s) => s.api('/nodes/w1/labels', { method: 'PUT', json: { key: 'audited', value: `v${Date.now()}` } }) },
  { feature: 'drain: evict pods', run: (s) => drain(s, 'app=evictme') },
  { feature: 'drain: delete pods (disable_eviction)', run: (s) => drain(s, 'app=deleteme', { disable_eviction: true }) },
  { feature: 'drain: check DaemonSets of DaemonSet pods', run: (s) => drain(s, 'app=ds', { dry_run: true }) },
  // A real drain names the blocking PDB from the API server's 429 (no list needed); the dry run
  // lists the budgets to say which would hold each pod, so that is where the permission shows.
  { feature: 'drain: name the PodDisruptionBudget that blocks', run: (s) => drain(s, 'app=guarded', { dry_run: true }) },
  // A node without a NodeDrain (never drained since drains became objects): its drain Events answer.
  { feature: 'drain status after a restart (its Events read back)', run: (s) => s.api('/nodes/w-history/drain'), read: true },
  // Leader election: the service becomes leader (the Lease is deleted before each run, so it must be created).
  { feature: 'leader election: create the Lease', run: (s) => leader(s) },
  { feature: 'leader election: read and renew the Lease', run: (s) => leader(s) },
  // Runtime configuration: the ConfigMap is deleted before each run, so the PUT must create it; then
  // the watch (list/watch by name) must have read it back for GET to answer.
  { feature: 'runtime configuration: create its ConfigMap', run: (s) => config(s) },
  { feature: 'runtime configuration: watch its ConfigMap', run: (s) => config(s) },
  { feature: 'runtime configuration: read and update its ConfigMap', run: (s) => config(s) },
  // A PUT P/config records its audit Event beside the ConfigMap (the service's namespace).
  { feature: 'audit events on the runtime configuration and the Lease', run: (s) => s.api('/config', { method: 'PUT', json: { maxNodes: 10 + Math.floor(Math.random() * 900) } }) },
  // A plan whose session deadline has passed at once: the leader hibernates the Session on wh.
  { feature: 'maintenance: hibernate sessions at the deadline', run: (s) => hibernate(s) },
  // Maintenance plans are NodeMaintenance objects: made here, accepted and cancelled by the leader (this replica).
  { feature: 'maintenance plans: NodeMaintenance objects', run: (s) => plan(s) },
  { feature: 'maintenance plans: the leader writes their status', run: (s) => plan(s) },
  // cluster-api: enableAutoScaling on (annotations, PriorityClass, Deployment), then off (all removed).
  ...[
    'cluster-api autoscaling: node group annotations',
    'cluster-api autoscaling: create the overprovisioning PriorityClass',
    'cluster-api autoscaling: read and delete the overprovisioning PriorityClass',
    'cluster-api autoscaling: create the overprovisioning Deployment',
    'cluster-api autoscaling: read, size and delete the overprovisioning Deployment',
  ].map((feature) => ({ feature, run: clusterApi })),
]

/** 200 when enabling cluster-api autoscaling made everything and disabling removed it; else 503 with the provider's error. */
async function clusterApi(s: Service): Promise<Response> {
  const state = () => s.app.autoscaling.clusterApi.state
  const until = async (done: () => boolean): Promise<string | undefined> => {
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline) {
      if (done()) return state().error ?? undefined
      await new Promise((r) => setTimeout(r, 100))
    }
    return 'the cluster-api provider made no pass'
  }
  const fail = (message: string) => new Response(JSON.stringify({ message }), { status: 503 })
  // The headroom counts schedulable nodes: w1 may be left cordoned by a drain check.
  await backend!.clients.core.patchNode({ name: 'w1', body: { spec: { unschedulable: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
  await waitFor(() => !s.app.cluster.getNode('w1')?.spec?.unschedulable, 10_000, 'w1 schedulable in the cache')
  let res = await s.api('/config', { method: 'PUT', json: { enableAutoScaling: true } })
  if (res.status !== 200) return res
  let error = await until(() => state().enabled && (state().error !== null || state().overprovisioning !== null))
  if (error) return fail(error)
  if (state().machine_deployments.length !== 1) return fail(`machine_deployments: ${JSON.stringify(state().machine_deployments)}`)
  // A new scaleDownThreshold resizes the Deployment (a patch): each pause pod is capped at half of
  // it, which binds at the default thresholds (80/20: min(20, 10) = 10% of a node).
  const before = state().overprovisioning?.cpu
  res = await s.api('/config', { method: 'PUT', json: { scaleDownThreshold: s.app.settings.options.scaleDownThreshold === 10 ? 20 : 10 } })
  if (res.status !== 200) return res
  error = await until(() => state().error !== null || state().overprovisioning?.cpu !== before)
  if (error) return fail(error)
  res = await s.api('/config', { method: 'PUT', json: { enableAutoScaling: false } })
  if (res.status !== 200) return res
  error = await until(() => !state().enabled && (state().error !== null || state().overprovisioning === null))
  return error ? fail(error) : new Response('{}', { status: 200 })
}

/** 200 when PUT P/config persists a change and GET P/config serves it; else the failing answer. */
async function config(s: Service): Promise<Response> {
  const maxNodes = 10 + Math.floor(Math.random() * 900)
  const put = await s.api('/config', { method: 'PUT', json: { maxNodes } })
  if (put.status !== 200) return put
  // A second write goes through update (the first one created the ConfigMap).
  const again = await s.api('/config', { method: 'PUT', json: { maxNodes: maxNodes + 1 } })
  if (again.status !== 200) return again
  let last: Response | undefined
  const deadline = Date.now() + 5000
  while (Date.now() < deadline) {
    last = await s.api('/config')
    if (last.status !== 200) return last
    if ((await last.clone().json() as { maxNodes: number }).maxNodes === maxNodes + 1) return last
    await new Promise((r) => setTimeout(r, 100))
  }
  return new Response(JSON.stringify({ message: 'GET /config never showed the change' }), { status: 503 })
}

let backend: Backend | undefined

/** A plan that starts in an hour (so nothing is done), then cancelled so the node is free again. */
async function plan(s: Service): Promise<Response> {
  const res = await s.api('/maintenance', { method: 'POST', json: { nodes: ['w1'], reason: 'rbac check', start_at: new Date(Date.now() + 3_600_000).toISOString(), force: true } })
  if (res.status !== 201) return res
  const { id } = await res.json() as { id: string }
  const cancelled = await s.api(`/maintenance/${id}`, { method: 'DELETE' })
  return cancelled.status === 200 ? new Response('{}', { status: 201 }) : cancelled
}

/**
 * 200 when a plan with session_policy hibernate, past its deadline, set the Session on wh to
 * hibernated; else 503 with the plan's failure. The plan is then cancelled and the Session set back.
 */
async function hibernate(s: Service): Promise<Response> {
  const sessions = { group: 'stream.space', version: 'v1alpha1', namespace: SERVICE_NAMESPACE, plural: 'sessions', name: HIBERNATE_SESSION }
  const b = backend!
  await b.clients.custom.patchNamespacedCustomObject({ ...sessions, body: { spec: { state: 'running' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
  await waitFor(() => [...s.app.cluster.podsOn('wh')].some((p) => p.session), 10_000, 'the session pod in the cache')
  const now = Date.now()
  const res = await s.api('/maintenance', { method: 'POST', json: { nodes: ['wh'], reason: 'rbac check: hibernate', session_policy: 'hibernate', session_deadline: new Date(now + 1000).toISOString(), force: true } })
  if (res.status !== 201) return res
  const { id } = await res.json() as { id: string }
  let last: { state: string; nodes: { name: string; state: string; message?: string; sessions_hibernated: number }[] } | undefined
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const got = await s.api(`/maintenance/${id}`)
    if (got.status !== 200) return got
    last = await got.json() as typeof last
    const n = last!.nodes[0]
    if (n.sessions_hibernated > 0 || n.state === 'failed') break
    await new Promise((r) => setTimeout(r, 200))
  }
  await s.api(`/maintenance/${id}`, { method: 'DELETE' })
  const n = last?.nodes[0]
  if (n?.sessions_hibernated !== 1) return new Response(JSON.stringify({ message: n?.message ?? 'the plan hibernated nothing' }), { status: 503 })
  const stored = await b.clients.custom.getNamespacedCustomObject(sessions) as { spec: { state: string } }
  return new Response(JSON.stringify(stored), { status: stored.spec.state === 'hibernated' ? 200 : 503 })
}

const HIBERNATE_SESSION = 'desk-rbac'

/** 200 once GET /cluster/health says this replica leads; else 503 with the election's error. */
async function leader(s: Service): Promise<Response> {
  let last: { leader: { is_self: boolean; error?: string } } | undefined
  const deadline = Date.now() + 8000
  while (Date.now() < deadline) {
    const res = await s.api('/cluster/health')
    if (res.status !== 200) return res
    last = await res.json() as typeof last
    if (last!.leader.is_self) return new Response(JSON.stringify(last), { status: 200 })
    if (last!.leader.error) break
    await new Promise((r) => setTimeout(r, 200))
  }
  return new Response(JSON.stringify({ message: last?.leader.error ?? 'not leader' }), { status: 503 })
}

async function drain(s: Service, selector: string, extra: Record<string, unknown> = {}): Promise<Response> {
  drainCount++
  const res = await s.api('/nodes/w1/drain', { method: 'POST', json: { pod_selector: selector, force: true, delete_emptydir_data: true, ...extra } })
  // A PDB-held drain times out (504) by design; with the PDB list allowed, its body names the PDB.
  // The dry run answers 200 and names it in would_evict.
  if (selector === 'app=guarded' && (res.status === 504 || res.status === 200)) {
    const body = await res.json() as { details?: { pending?: { pdb: string | null }[] } }
    const named = JSON.stringify(body).includes('guard-pdb')
    return new Response(JSON.stringify(body), { status: named ? 200 : 503 })
  }
  return res
}

async function seed(b: Backend): Promise<void> {
  const c = b.clients
  await createNode(c, { name: 'w1', cpu: '4', memory: '8Gi' })
  await createNode(c, { name: 'w-history', cpu: '4', memory: '8Gi' })
  await ensureNamespace(c, 'apps')
  await createDaemonSet(c, { name: 'logs', namespace: 'apps', labels: { app: 'ds' } })
  await createPod(c, { name: 'ds-1', namespace: 'apps', node: 'w1', labels: { app: 'ds' }, owner: { kind: 'DaemonSet', name: 'logs' } })
  await createReplicaSet(c, { name: 'guarded', namespace: 'apps', labels: { app: 'guarded' } })
  await createPod(c, { name: 'guarded-1', namespace: 'apps', node: 'w1', labels: { app: 'guarded' }, owner: { kind: 'ReplicaSet', name: 'guarded' } })
  await createPDB(c, { name: 'guard-pdb', namespace: 'apps', selector: { app: 'guarded' }, minAvailable: 1 })
  await createMachineDeployment(c, { name: 'workers', namespace: 'apps', labels: { 'streamspace.io/autoscaling': 'enabled' } })
  // A StreamSpace session on its own node (the hibernate check's plan cordons that node only).
  await createNode(c, { name: 'wh', cpu: '4', memory: '8Gi' })
  await ensureNamespace(c, SERVICE_NAMESPACE)
  const labels = { app: 'streamspace-session', session: HIBERNATE_SESSION, user: 'ann', template: 'firefox' }
  await c.custom.createNamespacedCustomObject({
    group: 'stream.space', version: 'v1alpha1', namespace: SERVICE_NAMESPACE, plural: 'sessions',
    body: { apiVersion: 'stream.space/v1alpha1', kind: 'Session', metadata: { name: HIBERNATE_SESSION, namespace: SERVICE_NAMESPACE, labels }, spec: { user: 'ann', template: 'firefox', state: 'running' } },
  })
  await createPod(c, { name: `${HIBERNATE_SESSION}-pod`, namespace: SERVICE_NAMESPACE, node: 'wh', labels })
}

/** Fresh pods for the drains to act on, before each service run. */
async function refill(b: Backend): Promise<void> {
  const c = b.clients
  for (const app of ['evictme', 'deleteme']) {
    const name = `${app}-${drainCount}-${Date.now()}`
    await createPod(c, { name, namespace: 'apps', node: 'w1', labels: { app }, terminationGracePeriodSeconds: 0 })
  }
}

async function bindRoles(b: Backend, p: FeatureSetPermissions): Promise<void> {
  await refill(b)
  const kc: KubeConfig = b.kc
  const { AuthorizationV1Api, RbacAuthorizationV1Api } = await import('@kubernetes/client-node')
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api)
  const name = 'streamspace-node-manager'
  const subjects = [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: NODE_MANAGER_USER.name }]
  await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined)
  await rbac.deleteClusterRole({ name }).catch(() => undefined)
  await rbac.createClusterRole({ body: { metadata: { name }, rules: clusterRoleRules(p.cluster) } })
  await rbac.createClusterRoleBinding({ body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects } })
  await ensureNamespace(b.clients, SERVICE_NAMESPACE)
  await b.clients.coordination.deleteNamespacedLease({ name: LEADER_LEASE_NAME, namespace: SERVICE_NAMESPACE }).catch(() => undefined)
  await b.clients.core.deleteNamespacedConfigMap({ name: RUNTIME_CONFIG_NAME, namespace: SERVICE_NAMESPACE }).catch(() => undefined)
  // What a cluster-api check left (a failed one may leave it): each run starts without.
  await b.clients.apps.deleteNamespacedDeployment({ name: OVERPROVISIONING_NAME, namespace: SERVICE_NAMESPACE }).catch(() => undefined)
  await b.clients.scheduling.deletePriorityClass({ name: OVERPROVISIONING_NAME }).catch(() => undefined)
  // The Roles as the chart makes them: the service's namespace, and "default" for Node Events.
  const roles: [string, readonly PermissionRule[]][] = [[SERVICE_NAMESPACE, p.namespaced], [NODE_EVENT_NAMESPACE, p.nodeEvents]]
  for (const [namespace, rules] of roles) {
    await rbac.deleteNamespacedRoleBinding({ name, namespace }).catch(() => undefined)
    await rbac.deleteNamespacedRole({ name, namespace }).catch(() => undefined)
    await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules: roleRules(rules) } })
    await rbac.createNamespacedRoleBinding({ namespace, body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects } })
  }
  // The RBAC authorizer follows its own watch: wait until every binding is in force.
  const authz = kc.makeApiClient(AuthorizationV1Api)
  const probes: [string | undefined, PermissionRule | undefined][] = [[undefined, p.cluster[0]], [SERVICE_NAMESPACE, p.namespaced[0]], [NODE_EVENT_NAMESPACE, p.nodeEvents[0]]]
  await waitFor(async () => {
    for (const [namespace, r] of probes) {
      if (!r) continue
      const review = await authz.createSubjectAccessReview({
        body: { spec: { user: NODE_MANAGER_USER.name, resourceAttributes: { namespace, group: r.apiGroups[0], resource: r.resources[0], verb: r.verbs[0], name: r.resourceNames?.[0] } } },
      })
      if (review.status?.allowed !== true) return false
    }
    return true
  }, 10_000, 'bindings in force')
}
