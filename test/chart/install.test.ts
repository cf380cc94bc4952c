// `helm install` of the chart into the real kube-apiserver of the test suite: every object is
// accepted by the real API server (its validation and admission, not just helm's rendering). Then
// the service runs with a token of the chart's ServiceAccount (TokenRequest API), so the chart's
// ClusterRole, Role and bindings are what let it read, label, cordon and dry-run a drain.
import t from 'tap'
import { KubernetesObjectApi } from '@kubernetes/client-node'
import { backendNames, startBackend } from '../helpers/backend.js'
import { crd } from '../helpers/crds.js'
import { createNode, createPod, createReplicaSet, ensureNamespace, kubeRequest } from '../helpers/fixtures.js'
import { startService, waitFor } from '../helpers/service.js'
import { kubeConfigFromFile } from '../../src/kube/client.js'
import { LEADER_LEASE_NAME, NODE_EVENT_NAMESPACE, permissionsFor, RUNTIME_CONFIG_NAME } from '../../src/kube/permissions.js'

import { CHART, NAMESPACE, RELEASE, ciValues, helm, parseManifests } from './helm.js'

// Stand-ins for the Prometheus Operator's and Gateway API's CRDs (kinds, groups, versions and
// scope as theirs, no field schema): the optional objects install too, in the right place.
const CRDS = [
  { group: 'monitoring.coreos.com', kind: 'ServiceMonitor', plural: 'servicemonitors' },
  { group: 'monitoring.coreos.com', kind: 'PrometheusRule', plural: 'prometheusrules' },
  { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', plural: 'httproutes' },
]

if (!backendNames().includes('apiserver')) {
  t.comment('TEST_BACKENDS leaves out the real API server: the chart install is proven only there')
} else {
  t.test('helm install on the real API server, then the service on the chart\'s ServiceAccount', async (t) => {
    const b = await startBackend('apiserver', { podTerminateSeconds: 1 })
    t.teardown(() => b.close())
    const kubeconfig = ['--kubeconfig', b.kubeconfigPath]

    for (const c of CRDS) {
      const res = await kubeRequest(b.kc, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd({
        ...c, version: 'v1',
        // A *.k8s.io group needs an approved API review, as the real Gateway API CRDs carry.
        annotations: c.group.endsWith('.k8s.io') ? { 'api-approved.kubernetes.io': 'https://github.com/kubernetes-sigs/gateway-api/pull/3328' } : {},
      }))
      t.equal(res.status, 201, `CRD ${c.kind}: ${res.status}`)
    }
    await waitEstablished(b.kc)
    await ensureNamespace(b.clients, 'monitoring') // the ServiceMonitor's namespace in all-features

    await t.test('every object of the chart, every optional feature on, is accepted', async (t) => {
      const install = helm(['install', RELEASE, CHART, '--namespace', NAMESPACE, '--create-namespace', '-f', ciValues('all-features'), ...kubeconfig, '--timeout', '2m'], { timeoutMs: 180_000 })
      t.equal(install.status, 0, `helm install${install.status === 0 ? '' : `: ${install.stdout}${install.stderr}`}`)
      t.match(install.stdout, /STATUS: deployed/)
      t.match(install.stdout, /kubectl -n streamspace rollout status deployment\/streamspace-node-manager/, 'NOTES say how to reach it')
      const manifest = helm(['get', 'manifest', RELEASE, '--namespace', NAMESPACE, ...kubeconfig])
      const objects = parseManifests(manifest.stdout)
      t.same([...new Set(objects.map((o) => o.kind))].sort(), ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'HTTPRoute', 'Ingress', 'NetworkPolicy', 'PodDisruptionBudget', 'PrometheusRule', 'Role', 'RoleBinding', 'Service', 'ServiceAccount', 'ServiceMonitor'].sort())
      const api = KubernetesObjectApi.makeApiClient(b.kc)
      for (const o of objects) {
        const stored = await api.read({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace } })
        t.equal(stored.metadata?.labels?.['app.kubernetes.io/instance'], RELEASE, `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name} is stored`)
      }
      // The API server kept the hardening as rendered (nothing dropped as unknown).
      const dep = await b.clients.apps.readNamespacedDeployment({ name: RELEASE, namespace: NAMESPACE })
      const sc = dep.spec!.template.spec!.containers[0].securityContext!
      t.match(sc, { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } })
    })

    await t.test('the chart\'s ServiceAccount token runs the service: read, label, cordon, drain dry run', async (t) => {
      const sa = RELEASE
      const tr = await kubeRequest(b.kc, 'POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${sa}/token`, {
        apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 3600 },
      })
      t.equal(tr.status, 201, `TokenRequest for the chart's ServiceAccount${tr.status === 201 ? '' : `: ${JSON.stringify(tr.body).slice(0, 300)}`}`)
      const saKc = kubeConfigFromFile(b.tokenKubeconfig!(tr.body.status.token))
      const review = await kubeRequest(saKc, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' })
      t.equal(review.body.status?.userInfo?.username, `system:serviceaccount:${NAMESPACE}:${sa}`, 'the token is the chart\'s ServiceAccount')

      await createNode(b.clients, { name: 'w1', cpu: '4', memory: '8Gi' })
      await ensureNamespace(b.clients, 'apps')
      await createReplicaSet(b.clients, { name: 'web', namespace: 'apps', labels: { app: 'web' } })
      await createPod(b.clients, { name: 'web-1', namespace: 'apps', node: 'w1', labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web' } })

      // Ready means the node and pod watch caches synced: list and watch are granted.
      const svc = await startService(saKc, { env: { POD_NAMESPACE: NAMESPACE } })
      t.teardown(() => svc.close())
      const ok = async (what: string, res: Response): Promise<any> => {
        const body = await res.json()
        t.equal(res.status, 200, `${what}: ${res.status} ${res.status === 200 ? '' : JSON.stringify(body)}`)
        t.equal(res.headers.get('warning'), null, `${what}: no warning (e.g. a refused audit Event)`)
        return body
      }
      const nodes = await ok('GET nodes', await svc.api('/nodes'))
      t.same(nodes.map((n: { name: string }) => n.name), ['w1'])
      const stats = await ok('GET nodes/stats', await svc.api('/nodes/stats'))
      t.equal(stats.total_pods, 1)
      await ok('GET nodes/w1', await svc.api('/nodes/w1'))

      const labelled = await ok('PUT label', await svc.api('/nodes/w1/labels', { method: 'PUT', json: { key: 'pool', value: 'gpu' } }))
      t.equal(labelled.labels.pool, 'gpu')
      const cordoned = await ok('POST cordon', await svc.api('/nodes/w1/cordon', { method: 'POST', json: {} }))
      t.equal(cordoned.unschedulable, true)
      const stored = await b.clients.core.readNode({ name: 'w1' })
      t.equal(stored.metadata!.labels!.pool, 'gpu', 'the label is on the node')
      t.equal(stored.spec!.unschedulable, true, 'the node is cordoned')
      const dry = await ok('POST drain dry run', await svc.api('/nodes/w1/drain', { method: 'POST', json: { dry_run: true } }))
      t.match(JSON.stringify(dry.would_evict), /web-1/, 'the dry run lists the pod it would evict')
      t.same(dry.refused ?? [], [])
      const events = await b.clients.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=w1' })
      t.ok(events.items.some((e) => e.reason === 'NodeLabeled') && events.items.some((e) => e.reason === 'NodeCordoned'), 'audit Events recorded')
      await ok('POST uncordon', await svc.api('/nodes/w1/uncordon', { method: 'POST', json: {} }))
      // Leader election through the chart's Role: the Lease in the chart's namespace is created and held.
      let health: any
      await waitFor(async () => {
        health = await (await svc.api('/cluster/health')).json()
        return health.leader?.is_self === true
      }, 20_000, `leadership (last: ${JSON.stringify(health?.leader)})`).catch((err) => t.fail(String(err)))
      t.equal(health.leader.error, undefined, 'no election error (e.g. a refused Lease)')
      const lease = await kubeRequest(b.kc, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${LEADER_LEASE_NAME}`)
      t.equal(lease.body.spec?.holderIdentity, health.leader.identity, 'the Lease names this replica')
    })

    await t.test('the Role: exactly NAMESPACED_PERMISSIONS (all-features: provider cluster-api), in the chart\'s namespace only', async (t) => {
      const tr = await kubeRequest(b.kc, 'POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${RELEASE}/token`, {
        apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 3600 },
      })
      const kc = kubeConfigFromFile(b.tokenKubeconfig!(tr.body.status.token))
      const can = async (namespace: string, group: string, resource: string, verb: string, name?: string): Promise<boolean> => {
        const res = await kubeRequest(kc, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { namespace, group, resource, verb, name } },
        })
        return res.body.status?.allowed === true
      }
      const { namespaced, nodeEvents } = permissionsFor({ autoscalingProvider: 'cluster-api' })
      const inEventNamespace = (resource: string, verb: string) => nodeEvents.some((r) => r.resources.includes(resource) && r.verbs.includes(verb))
      for (const rule of namespaced) {
        const [group, resource, name] = [rule.apiGroups[0], rule.resources[0], rule.resourceNames?.[0]]
        for (const verb of rule.verbs) {
          const what = `${verb} ${resource}${name ? `/${name}` : ''}`
          t.ok(await can(NAMESPACE, group, resource, verb, name), `${what} in ${NAMESPACE} (${rule.feature})`)
          // Node Events have their own Role in default: what it grants there is expected.
          if (!inEventNamespace(resource, verb)) t.notOk(await can('default', group, resource, verb, name), `not ${what} in default`)
        }
        if (name) t.notOk(await can(NAMESPACE, group, resource, rule.verbs.find((v) => v !== 'create')!, 'someone-else'), `${resource}: only ${name} by name`)
      }
      for (const rule of nodeEvents) for (const verb of rule.verbs) t.ok(await can(NODE_EVENT_NAMESPACE, '', rule.resources[0], verb), `${verb} ${rule.resources[0]} in ${NODE_EVENT_NAMESPACE} (${rule.feature})`)
      t.notOk(await can('kube-system', '', 'events', 'create'), 'no Events elsewhere')
      const declared = (resource: string) => namespaced.some((r) => r.resources.includes(resource))
      t.ok(declared('configmaps'), 'runtime configuration declares its ConfigMap')
      t.notOk(await can(NAMESPACE, '', 'configmaps', 'list'), 'ConfigMaps: no list of them all (only the runtime-config one, by name)')
      t.notOk(await can(NAMESPACE, 'coordination.k8s.io', 'leases', 'delete', LEADER_LEASE_NAME), 'no Lease delete')
      t.notOk(await can(NAMESPACE, '', 'secrets', 'get'), 'no Secrets')
      t.notOk(await can('', '', 'nodes', 'delete', 'w1'), 'no node delete')

      // The real calls behind leader election, with this token: the Lease the service holds.
      const lease = `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${LEADER_LEASE_NAME}`
      const read = await kubeRequest(kc, 'GET', lease)
      t.equal(read.status, 200, 'get the Lease')
      const update = await kubeRequest(kc, 'PUT', lease, { ...read.body, spec: { ...read.body.spec, holderIdentity: 'pod-b' } })
      t.equal(update.status, 200, 'update the Lease')
      t.equal((await kubeRequest(kc, 'DELETE', lease)).status, 403, 'delete the Lease: refused')
      t.equal((await kubeRequest(kc, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/someone-else`)).status, 403, 'another Lease: refused')

      // The real calls behind runtime configuration (src/kube/runtime-config.ts), with this token.
      const cms = `/api/v1/namespaces/${NAMESPACE}/configmaps`
      const mine = `${cms}/${RUNTIME_CONFIG_NAME}`
      await kubeRequest(b.kc, 'DELETE', mine)
      t.equal((await kubeRequest(kc, 'POST', cms, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: RUNTIME_CONFIG_NAME }, data: { 'options.json': '{}' } })).status, 201, 'create the runtime-config ConfigMap')
      const cm = await kubeRequest(kc, 'GET', mine)
      t.equal(cm.status, 200, 'get it')
      t.equal((await kubeRequest(kc, 'PUT', mine, { ...cm.body, data: { 'options.json': '{"minNodes":2}' } })).status, 200, 'update it')
      t.equal((await kubeRequest(kc, 'GET', `${cms}?fieldSelector=metadata.name%3D${RUNTIME_CONFIG_NAME}`)).status, 200, 'list it by name (the watch\'s fieldSelector)')
      t.equal((await kubeRequest(kc, 'GET', cms)).status, 403, 'list every ConfigMap: refused')
      t.equal((await kubeRequest(kc, 'PATCH', mine, { data: {} }, 'application/merge-patch+json')).status, 403, 'patch it: refused (not a verb it uses)')
      t.equal((await kubeRequest(kc, 'GET', `${cms}/kube-root-ca.crt`)).status, 403, 'another ConfigMap: refused')
    })

    await t.test('helm uninstall removes what it made', async (t) => {
      // --no-hooks: no kubelet runs the pre-delete cleanup Job here; test/chart/uninstall.test.ts runs it.
      const res = helm(['uninstall', RELEASE, '--namespace', NAMESPACE, ...kubeconfig, '--no-hooks', '--wait', '--timeout', '1m'], { timeoutMs: 90_000 })
      t.equal(res.status, 0, `helm uninstall${res.status === 0 ? '' : `: ${res.stdout}${res.stderr}`}`)
      const cr = await kubeRequest(b.kc, 'GET', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${RELEASE}`)
      t.equal(cr.status, 404, 'the ClusterRole is gone')
    })
  })
}

async function waitEstablished(kc: Parameters<typeof kubeRequest>[0]): Promise<void> {
  const deadline = Date.now() + 30_000
  for (const c of CRDS) {
    for (;;) {
      const res = await kubeRequest(kc, 'GET', `/apis/${c.group}/v1`)
      if (res.status === 200 && res.body.resources?.some((r: { name: string }) => r.name === c.plural)) break
      if (Date.now() > deadline) throw new Error(`CRD ${c.kind} not served after 30 s`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}
