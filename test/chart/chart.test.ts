// The Helm chart, rendered by the real helm: lint, defaults and every optional feature, golden
// files, the values schema, the hardened pod, and RBAC exactly as src/kube/permissions.ts declares.
// Regenerate the golden files after a deliberate chart change: UPDATE_GOLDEN=1 npx tap test/chart/chart.test.ts
import t from 'tap'
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { Value } from 'typebox/value'
import { CHART, NAMESPACE, RELEASE, ciValues, find, helm, parseManifests, template, type K8sObject } from './helm.js'
import { chartRoles, LEADER_LEASE_NAME, NODE_EVENT_NAMESPACE, type RbacRule } from '../../src/kube/permissions.js'
import { loadConfig, PluginOptions } from '../../src/config.js'
import { RBAC_FILE, SCHEMA_FILE, renderRbacFile, renderSchemaFile } from '../../scripts/chart.js'

const EXISTING = ['--set', 'jwt.existingSecret=streamspace-secrets']
const VALUE_SETS = ['default', 'ha-gateway', 'all-features'] as const
const tmp = mkdtempSync(join(tmpdir(), 'chart-test-'))
function valuesFile(name: string, text: string): string {
  const file = join(tmp, `${name}.yaml`)
  writeFileSync(file, text)
  return file
}

t.test('helm lint --strict passes for every value set', async (t) => {
  for (const set of VALUE_SETS) {
    const res = helm(['lint', '--strict', CHART, '--namespace', NAMESPACE, '-f', ciValues(set)])
    t.equal(res.status, 0, `${set}: ${res.stdout}${res.stderr}`)
    t.match(res.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/)
  }
})

t.test('lint and template fail without a JWT secret, saying what to set', async (t) => {
  // helm lint reports a template's `fail` as information only; template and install stop on it.
  const lint = helm(['lint', '--strict', CHART])
  t.match(lint.stdout + lint.stderr, /Fail: a JWT secret is required/, 'lint shows the message')
  const res = helm(['template', RELEASE, CHART, '--namespace', NAMESPACE])
  t.not(res.status, 0, 'template fails')
  t.match(res.stderr, /a JWT secret is required: set jwt.existingSecret .* or jwt.secret/)
  const both = helm(['template', RELEASE, CHART, '-n', NAMESPACE, ...EXISTING, '--set', `jwt.secret=${'x'.repeat(32)}`])
  t.not(both.status, 0)
  t.match(both.stderr, /set jwt.existingSecret or jwt.secret, not both/)
})

/** The Secret and key behind JWT_SECRET_FILE: the volume mounted at its directory, and the item at its file name. */
function jwtSecretSource(pod: any): { secretName: string; key: string } | undefined {
  const c = pod.containers[0]
  const file: string | undefined = c.env.find((e: any) => e.name === 'JWT_SECRET_FILE')?.value
  if (!file) return undefined
  const mount = c.volumeMounts.find((m: any) => file.startsWith(`${m.mountPath}/`))
  const volume = pod.volumes.find((v: any) => v.name === mount?.name)?.secret
  const item = volume?.items?.find((i: any) => `${mount.mountPath}/${i.path}` === file)
  return item ? { secretName: volume.secretName, key: item.key } : undefined
}

t.test('defaults: the objects, all in the release namespace (Node Events\' Role in default), and a hardened pod', async (t) => {
  const { objects } = template(EXISTING)
  t.same(objects.map((o) => o.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Job', 'Role', 'Role', 'RoleBinding', 'RoleBinding', 'Service', 'ServiceAccount'].sort())
  t.equal(find(objects, 'Job').metadata.annotations?.['helm.sh/hook'], 'pre-delete', 'the only Job is the uninstall cleanup hook')
  for (const o of objects) {
    const nodeEvents = o.metadata.name.endsWith('-node-events')
    if (!o.kind.startsWith('Cluster')) t.equal(o.metadata.namespace, nodeEvents ? NODE_EVENT_NAMESPACE : 'streamspace', `${o.kind} ${o.metadata.name} in ${o.metadata.namespace}`)
    for (const l of ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/component', 'app.kubernetes.io/managed-by', 'helm.sh/chart']) {
      t.ok(o.metadata.labels?.[l], `${o.kind} has label ${l}`)
    }
  }
  const dep = find(objects, 'Deployment')
  const pod = dep.spec.template.spec
  const c = pod.containers[0]
  t.equal(c.image, 'ghcr.io/streamspace-dev/streamspace-node-manager:0.1.0', 'image tag is the appVersion')
  t.match(pod.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } })
  t.match(c.securityContext, { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } })
  t.ok(c.securityContext.runAsUser > 0, 'a non-root uid')
  t.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, 'resources set')
  t.equal(c.livenessProbe.httpGet.path, '/healthz')
  t.equal(c.readinessProbe.httpGet.path, '/readyz')
  // src/server.ts closes with grace within 10 s of SIGTERM.
  const serverSource = readFileSync(join(CHART, '../../src/server.ts'), 'utf8')
  const grace = Number(/closeWithGrace\(\{ delay: ([\d_]+)/.exec(serverSource)![1].replace(/_/g, '')) / 1000
  t.ok(pod.terminationGracePeriodSeconds > grace, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > shutdown grace ${grace} s`)
  t.match(c.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }], 'a writable /tmp on the read-only root')
  t.same(pod.volumes.find((v: any) => v.name === 'tmp'), { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } })
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e]))
  t.same(env.POD_NAME.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } })
  t.same(env.POD_NAMESPACE.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } })
  t.notOk(env.JWT_SECRET, 'the JWT secret is not an env var (it would never change without a restart)')
  t.same(jwtSecretSource(pod), { secretName: 'streamspace-secrets', key: 'jwt-secret' }, 'JWT_SECRET_FILE is the jwt-secret key of StreamSpace\'s Secret, mounted')
  t.equal(env.KUBE_MODE.value, 'in-cluster')
  t.equal(env.NODE_MANAGER_CONFIG.value, '/etc/streamspace-node-manager/config.json')
  t.equal(pod.serviceAccountName, find(objects, 'ServiceAccount').metadata.name)
  t.notOk(objects.some((o) => o.kind === 'Secret'), 'no Secret is made when an existing one is named')
  const cm = find(objects, 'ConfigMap')
  t.same(JSON.parse(cm.data['config.json']), Value.Default(PluginOptions, {}), 'the seed options ConfigMap holds the service defaults')
})

t.test('values.yaml: a comment on every key (inside Kubernetes objects such as probes, the object\'s key)', async (t) => {
  const lines = readFileSync(join(CHART, 'values.yaml'), 'utf8').split('\n')
  const passthrough = /^(\s*)(updateStrategy|podSecurityContext|securityContext|livenessProbe|readinessProbe|startupProbe|resources|nodeSelector):/
  let skipDeeperThan = -1
  const missing: string[] = []
  lines.forEach((line, i) => {
    const key = /^(\s*)([A-Za-z][\w.-]*):/.exec(line)
    if (!key) return
    const indent = key[1].length
    if (skipDeeperThan >= 0 && indent > skipDeeperThan) return
    skipDeeperThan = passthrough.test(line) ? indent : -1
    if (!/^\s*#/.test(lines[i - 1] ?? '')) missing.push(`${i + 1}: ${line.trim()}`)
  })
  t.same(missing, [], 'keys without a comment line above')
})

t.test('the chart\'s appVersion (the default image tag) is the package version', async (t) => {
  const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'))
  const pkg = JSON.parse(readFileSync(join(CHART, '../../package.json'), 'utf8'))
  t.equal(chart.appVersion, pkg.version)
})

t.test('values.yaml config defaults are the service defaults', async (t) => {
  const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8'))
  t.same(values.config, Value.Default(PluginOptions, {}))
})

t.test('every optional feature on', async (t) => {
  const { objects } = template(['-f', ciValues('all-features')])
  const kinds = objects.map((o) => o.kind)
  for (const k of ['Ingress', 'HTTPRoute', 'ServiceMonitor', 'PrometheusRule', 'PodDisruptionBudget', 'NetworkPolicy']) t.ok(kinds.includes(k), `${k} rendered`)
  const svc = find(objects, 'Service')
  const ingress = find(objects, 'Ingress')
  const rule = ingress.spec.rules[0]
  t.equal(rule.host, 'streamspace.example.com')
  t.same(rule.http.paths.map((p: any) => [p.path, p.pathType, p.backend.service.name, p.backend.service.port.name]), [
    ['/api/plugins/streamspace-node-manager', 'Prefix', svc.metadata.name, 'http'],
    ['/api/v1/admin/nodes', 'Prefix', svc.metadata.name, 'http'],
  ])
  const route = find(objects, 'HTTPRoute')
  t.same(route.spec.rules[0].matches.map((m: any) => m.path.value), ['/api/plugins/streamspace-node-manager', '/api/v1/admin/nodes'])
  t.same(route.spec.rules[0].backendRefs, [{ name: svc.metadata.name, port: svc.spec.ports[0].port }])
  const noGateway = helm(['template', RELEASE, CHART, '-n', NAMESPACE, ...EXISTING, '--set', 'httpRoute.enabled=true'])
  t.not(noGateway.status, 0, 'an HTTPRoute attached to no Gateway is refused')
  t.match(noGateway.stderr, /httpRoute.parentRefs: name the Gateway/)
  const sm = find(objects, 'ServiceMonitor')
  t.equal(sm.metadata.namespace, 'monitoring')
  t.same(sm.spec.namespaceSelector, { matchNames: ['streamspace'] }, 'scrapes the service in its own namespace')
  t.match(sm.spec.endpoints[0], { port: 'http', path: '/metrics', interval: '15s' })
  t.same(sm.spec.selector.matchLabels, svc.spec.selector)
  const dep = find(objects, 'Deployment')
  t.equal(dep.spec.replicas, 2)
  t.equal(dep.spec.template.spec.containers[0].image, `registry.example.com/streamspace-dev/streamspace-node-manager@sha256:${'0'.repeat(64)}`, 'global.imageRegistry, and the digest pins the image')
  const env = Object.fromEntries(dep.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]))
  t.equal(env.ALERTMANAGER_URL, 'http://alertmanager-0.monitoring:9093,http://alertmanager-1.monitoring:9093')
  t.equal(env.SESSION_STORE_URL, 'redis://:$(SESSION_STORE_PASSWORD)@streamspace-redis:6379/0', 'the Redis password from its Secret goes into the URL')
  const np = find(objects, 'NetworkPolicy')
  t.same(np.spec.ingress[0].ports, [{ port: 'http', protocol: 'TCP' }])
  t.same(find(objects, 'PodDisruptionBudget').spec.minAvailable, 1)
})

t.test('the service accepts what the chart sets: every env var and the seed options file, with the values meant', async (t) => {
  const { objects } = template(['-f', ciValues('all-features')])
  const c = find(objects, 'Deployment').spec.template.spec.containers[0]
  const env: NodeJS.ProcessEnv = {}
  for (const e of c.env) {
    // As the kubelet does: $(NAME) in a value is a variable defined before it.
    if (e.value !== undefined) env[e.name] = (e.value as string).replace(/\$\(([A-Z_]+)\)/g, (all, name: string) => env[name] ?? all)
    else if (e.valueFrom?.fieldRef) env[e.name] = e.valueFrom.fieldRef.fieldPath === 'metadata.name' ? 'pod-a' : NAMESPACE
    else if (e.valueFrom?.secretKeyRef) env[e.name] = `secret-from-${e.valueFrom.secretKeyRef.name}-${'x'.repeat(32)}`
  }
  // The Secret mounted where JWT_SECRET_FILE points, as the kubelet would.
  const jwt = jwtSecretSource(find(objects, 'Deployment').spec.template.spec)
  t.ok(jwt, 'JWT_SECRET_FILE names a file of a mounted Secret')
  env.JWT_SECRET_FILE = valuesFile('jwt-secret', `secret-from-${jwt!.secretName}-${'x'.repeat(32)}`)
  // The ConfigMap mounted where NODE_MANAGER_CONFIG points.
  const mount = c.volumeMounts.find((m: any) => m.name === 'config').mountPath
  t.equal(env.NODE_MANAGER_CONFIG, `${mount}/config.json`)
  env.NODE_MANAGER_CONFIG = valuesFile('config.json', find(objects, 'ConfigMap', (o) => o.data?.['config.json'] !== undefined).data['config.json'])
  const config = loadConfig(env)
  const values = parseYaml(readFileSync(ciValues('all-features'), 'utf8'))
  t.same(config.options, { ...(Value.Default(PluginOptions, {}) as object), ...values.config }, 'seed options as in the values')
  t.match(config.service, {
    kubeMode: 'in-cluster', host: '0.0.0.0', port: 8080, logLevel: 'debug', podName: 'pod-a', podNamespace: NAMESPACE,
    jwtIssuer: 'streamspace-api', sessionLabelSelector: 'app=streamspace-session',
    alertmanagerUrl: values.alerting.alertmanagerUrls.join(','), alertWebhookUrl: values.alerting.webhookUrl,
    alertWebhookSecret: /^secret-from-streamspace-node-manager-webhook-/, jwtSecretFile: env.JWT_SECRET_FILE,
    healthGraceSeconds: 60, cordonedAlertMinutes: 120, publicUrl: 'https://streamspace.example.com',
    autoscalingProvider: 'cluster-api', sessionStoreUrl: `redis://:secret-from-streamspace-redis-${'x'.repeat(32)}@streamspace-redis:6379/0`,
  })
  const route = find(template(['-f', ciValues('ha-gateway')]).objects, 'Deployment').spec.template.spec.containers[0].env
  t.equal(route.find((e: any) => e.name === 'PUBLIC_URL')?.value, 'https://streamspace.example.com', 'publicUrl from the HTTPRoute host')
  const none = find(template(EXISTING).objects, 'Deployment').spec.template.spec.containers[0].env
  t.notOk(none.some((e: any) => e.name === 'PUBLIC_URL'), 'no public URL known: none set')
})

t.test('PrometheusRule: the chart\'s alert-rules file and additionalRules', async (t) => {
  const rulesFile = join(CHART, 'files/alert-rules.yaml')
  const extra = { name: 'extra', rules: [{ alert: 'X', expr: 'vector(1)' }] }
  const withExtra = valuesFile('extra-rules', `monitoring:\n  prometheusRules:\n    enabled: true\n    additionalRules:\n      - ${JSON.stringify(extra)}\n`)
  const rendered = find(template([...EXISTING, '-f', withExtra]).objects, 'PrometheusRule')
  const names = rendered.spec.groups.map((g: any) => g.name)
  if (existsSync(rulesFile)) {
    const fileGroups = parseYaml(readFileSync(rulesFile, 'utf8')).groups as { name: string }[]
    t.same(names, [...fileGroups.map((g) => g.name), 'extra'], 'the file\'s groups, then additionalRules')
    t.same(rendered.spec.groups.slice(0, fileGroups.length), fileGroups, 'the file\'s rules as they are (Prometheus templates untouched)')
  } else {
    t.same(names, ['extra'])
    const none = helm(['template', RELEASE, CHART, '-n', NAMESPACE, ...EXISTING, '--set', 'monitoring.prometheusRules.enabled=true'])
    t.not(none.status, 0, 'enabled with no rules at all fails')
    t.match(none.stderr, /there are no rules to install/)
  }
})

t.test('golden files of the rendered chart', async (t) => {
  for (const set of VALUE_SETS) {
    const { text } = template(['-f', ciValues(set)])
    const golden = join(import.meta.dirname, 'golden', `${set}.yaml`)
    if (process.env.UPDATE_GOLDEN) {
      // Writing is not testing: comparing with what was just written would always pass.
      writeFileSync(golden, text)
      t.fail(`UPDATE_GOLDEN: wrote ${golden} and compared nothing; run again without UPDATE_GOLDEN`)
      continue
    }
    t.ok(existsSync(golden), `${golden} exists (UPDATE_GOLDEN=1 writes it)`)
    if (existsSync(golden)) t.equal(text, readFileSync(golden, 'utf8'), `${set}: rendered output equals the golden file (after a deliberate change: UPDATE_GOLDEN=1)`)
  }
})

t.test('values that violate values.schema.json fail, naming the value', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['replicas not a number', 'replicas: three', /replicas/],
    ['unknown key (a typo)', 'replica: 3', /additional properties 'replica' not allowed|replica/],
    ['seed option out of range', 'config:\n  scaleUpThreshold: 200', /config.*scaleUpThreshold|scaleUpThreshold/],
    ['unknown strategy', 'config:\n  nodeSelectionStrategy: fastest', /nodeSelectionStrategy/],
    ['unknown seed option', 'config:\n  enableAutoscaling: true', /enableAutoscaling/],
    ['JWT secret too short', 'jwt:\n  secret: short', /jwt.*secret|secret/],
    ['grace not longer than the shutdown grace', 'terminationGracePeriodSeconds: 5', /terminationGracePeriodSeconds/],
    ['bad service type', 'service:\n  type: Public', /service.*type|type/],
    ['bad image digest', 'image:\n  digest: latest', /digest/],
  ]
  for (const [what, yaml, field] of cases) {
    const res = helm(['template', RELEASE, CHART, '-n', NAMESPACE, ...EXISTING, '-f', valuesFile(what.replace(/\W+/g, '-'), yaml + '\n')])
    t.not(res.status, 0, `${what}: refused`)
    t.match(res.stderr, /values don't meet the specifications of the schema/, `${what}: by the schema`)
    t.match(res.stderr, field, `${what}: names the value: ${res.stderr.trim().split('\n').slice(-2).join(' ')}`)
  }
  // Rules across fields, which the service also refuses at start.
  const minMax = helm(['template', RELEASE, CHART, '-n', NAMESPACE, ...EXISTING, '--set', 'config.minNodes=20,config.maxNodes=5'])
  t.not(minMax.status, 0)
  t.match(minMax.stderr, /config.minNodes \(20\) must be <= config.maxNodes \(5\)/)
  const thresholds = helm(['template', RELEASE, CHART, '-n', NAMESPACE, ...EXISTING, '--set', 'config.scaleDownThreshold=50,config.scaleUpThreshold=50'])
  t.match(thresholds.stderr, /config.scaleDownThreshold \(50\) must be below config.scaleUpThreshold \(50\)/)
  // And valid values pass: the schema is not refusing everything.
  t.equal(helm(['template', RELEASE, CHART, '-n', NAMESPACE, ...EXISTING, '--set', 'config.scaleUpThreshold=95']).status, 0)
})

t.test('namespace: the release namespace, as StreamSpace\'s chart; the deprecated value only when it agrees', async (t) => {
  const namespaced = (objects: K8sObject[]) => objects.filter((o) => !o.kind.startsWith('Cluster') && !o.metadata.name.endsWith('-node-events'))
  const tools = template(['-n', 'tools', ...EXISTING])
  t.same([...new Set(namespaced(tools.objects).map((o) => o.metadata.namespace))], ['tools'], 'helm install -n tools: every object in tools')
  const binding = tools.objects.find((o) => o.kind === 'ClusterRoleBinding')!
  t.equal(binding.subjects[0].namespace, 'tools', 'the ClusterRoleBinding names the ServiceAccount in tools')
  const agreed = template(['-n', 'streamspace', '--set', 'namespace=streamspace', ...EXISTING])
  t.same([...new Set(namespaced(agreed.objects).map((o) => o.metadata.namespace))], ['streamspace'], 'the deprecated namespace value naming the release namespace still works')
  const other = helm(['template', RELEASE, CHART, '-n', 'tools', '--set', 'namespace=streamspace', ...EXISTING])
  t.not(other.status, 0, 'the deprecated value naming another namespace is refused, not ignored')
  t.match(other.stderr, /namespace "streamspace" in the values is deprecated and differs from the release namespace "tools".*install with -n streamspace/)
})

t.test('jwt.secret: the chart keeps it in a Secret the pod reads', async (t) => {
  const secret = 'an-example-jwt-secret-of-at-least-32-characters'
  const { objects } = template(['--set', `jwt.secret=${secret}`])
  const s = find(objects, 'Secret')
  t.equal(Buffer.from(s.data['jwt-secret'], 'base64').toString(), secret)
  t.same(jwtSecretSource(find(objects, 'Deployment').spec.template.spec), { secretName: s.metadata.name, key: 'jwt-secret' })
})

t.test('RBAC is exactly what src/kube/permissions.ts declares for the enabled features', async (t) => {
  t.equal(readFileSync(RBAC_FILE, 'utf8'), renderRbacFile(), 'files/rbac.json is up to date (else: npm run rbac)')
  t.equal(readFileSync(SCHEMA_FILE, 'utf8'), renderSchemaFile(readFileSync(SCHEMA_FILE, 'utf8')), 'values.schema.json config is up to date (else: npm run chart)')
  const providerOf: Record<(typeof VALUE_SETS)[number], 'none' | 'cluster-api'> = { 'default': 'none', 'ha-gateway': 'none', 'all-features': 'cluster-api' }
  for (const set of VALUE_SETS) {
    const { objects } = template(['-f', ciValues(set)])
    const want = chartRoles({ autoscalingProvider: providerOf[set] })
    const sa = find(objects, 'ServiceAccount').metadata
    const roles = objects.filter((o) => o.kind === 'Role')
    const role = roles.find((r) => !r.metadata.name.endsWith('-node-events'))!
    const eventsRole = roles.find((r) => r.metadata.name.endsWith('-node-events'))!
    t.same(find(objects, 'ClusterRole').rules, want.clusterRole, `${set}: the ClusterRole grants exactly REQUIRED_PERMISSIONS for provider ${providerOf[set]}`)
    t.same(role.rules, want.role, `${set}: the Role grants exactly NAMESPACED_PERMISSIONS for provider ${providerOf[set]}`)
    t.equal(role.metadata.namespace, sa.namespace)
    t.same(eventsRole.rules, want.nodeEventsRole, `${set}: the Role in ${NODE_EVENT_NAMESPACE} grants exactly NODE_EVENT_PERMISSIONS`)
    t.equal(eventsRole.metadata.namespace, NODE_EVENT_NAMESPACE)
    const byRole = new Map([['ClusterRole', find(objects, 'ClusterRole')], ...roles.map((r) => [r.metadata.name, r] as [string, K8sObject])])
    for (const b of objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
      const target = b.kind === 'ClusterRoleBinding' ? byRole.get('ClusterRole')! : byRole.get(b.roleRef.name)!
      t.ok(target, `${set}: ${b.kind} ${b.metadata.name} refers to a rendered role`)
      t.same(b.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: target.kind, name: target.metadata.name }, `${set}: ${b.kind} ${b.metadata.name} refers to the ${target.kind}`)
      if (b.kind === 'RoleBinding') t.equal(b.metadata.namespace, target.metadata.namespace, `${set}: ${b.metadata.name} beside its Role`)
      t.same(b.subjects, [{ kind: 'ServiceAccount', name: sa.name, namespace: sa.namespace }], `${set}: ${b.kind} ${b.metadata.name} binds the chart's ServiceAccount`)
    }
    t.equal(find(objects, 'Deployment').spec.template.spec.containers[0].env.find((e: any) => e.name === 'AUTOSCALING_PROVIDER')?.value, providerOf[set], `${set}: the pod runs with the provider the RBAC was rendered for`)
  }
  // What the issue found granted by default: gone unless autoscaling.provider=cluster-api.
  const grants = (rules: RbacRule[], group: string, resource: string, verb: string) => rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb))
  const rendered = (provider: string) => {
    const objects = template([...EXISTING, '--set', `autoscaling.provider=${provider}`]).objects
    return { cluster: find(objects, 'ClusterRole').rules as RbacRule[], role: objects.find((o) => o.kind === 'Role' && !o.metadata.name.endsWith('-node-events'))!.rules as RbacRule[] }
  }
  const none = rendered('none'), capi = rendered('cluster-api')
  t.notOk(grants(none.role, 'apps', 'deployments', 'create'), 'defaults: no Deployment create (beside StreamSpace\'s Secrets)')
  t.notOk(grants(none.cluster, 'scheduling.k8s.io', 'priorityclasses', 'create'), 'defaults: no PriorityClass create')
  t.notOk(grants(none.cluster, 'cluster.x-k8s.io', 'machinedeployments', 'patch'), 'defaults: no MachineDeployment patch')
  t.ok(grants(capi.role, 'apps', 'deployments', 'create') && grants(capi.cluster, 'scheduling.k8s.io', 'priorityclasses', 'create') && grants(capi.cluster, 'cluster.x-k8s.io', 'machinedeployments', 'patch'), 'cluster-api: all three granted')
  for (const r of [none, capi]) t.notOk(r.cluster.some((x) => x.resources.includes('events')), 'Events are never granted cluster-wide')
  const bogus = helm(['template', RELEASE, CHART, '-n', NAMESPACE, ...EXISTING, '--set', 'autoscaling.provider=karpenter'])
  t.not(bogus.status, 0, 'an unknown provider is refused')
  t.match(bogus.stderr, /autoscaling.*provider/)
  // The templates render files/rbac.json, not a copy of their own: a rule added to the file shows
  // up in the ClusterRole, and then differs from what permissions.ts declares.
  const tampered = join(tmp, 'tampered-chart')
  cpSync(CHART, tampered, { recursive: true })
  const file = JSON.parse(readFileSync(join(tampered, 'files/rbac.json'), 'utf8'))
  file.autoscalingProvider.none.clusterRole.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] })
  writeFileSync(join(tampered, 'files/rbac.json'), JSON.stringify(file))
  const res = helm(['template', RELEASE, tampered, '-n', NAMESPACE, ...EXISTING])
  t.equal(res.status, 0, res.stderr)
  const tamperedRules = find(parseManifests(res.stdout), 'ClusterRole').rules as RbacRule[]
  t.ok(grants(tamperedRules, '', 'secrets', 'get'), 'the rule added to files/rbac.json is rendered')
  t.notSame(tamperedRules, chartRoles({ autoscalingProvider: 'none' }).clusterRole, 'and the comparison above would see it')
  t.ok(chartRoles({ autoscalingProvider: 'none' }).role.some((r) => r.resourceNames?.includes(LEADER_LEASE_NAME) && r.verbs.includes('update')), 'the Lease is updated by name only')
  t.notOk(chartRoles({ autoscalingProvider: 'none' }).role.some((r) => r.resources.includes('leases') && !r.resourceNames && r.verbs.some((v) => v !== 'create')), 'no unnamed Lease verb but create')
  const { objects } = template([...EXISTING, '--set', 'rbac.create=false'])
  t.notOk(objects.some((o) => /Role/.test(o.kind)), 'rbac.create=false renders no RBAC')
})

t.test('image: image.registry and global.imageRegistry, as StreamSpace\'s chart; the earlier full repository still works', async (t) => {
  const image = (...args: string[]) => find(template([...EXISTING, ...args]).objects, 'Deployment').spec.template.spec.containers[0].image
  t.equal(image(), 'ghcr.io/streamspace-dev/streamspace-node-manager:0.1.0', 'default: ghcr.io')
  t.equal(image('--set', 'image.registry=registry.local:5000'), 'registry.local:5000/streamspace-dev/streamspace-node-manager:0.1.0')
  t.equal(image('--set', 'image.registry=registry.local:5000', '--set', 'global.imageRegistry=mirror.example.com'), 'mirror.example.com/streamspace-dev/streamspace-node-manager:0.1.0', 'global.imageRegistry wins')
  t.equal(image('--set', 'image.repository=quay.io/acme/node-manager', '--set', 'image.tag=1.2.3'), 'quay.io/acme/node-manager:1.2.3', 'a repository with its registry host (the earlier form) is taken as it is')
})

t.test('monitoring.enabled switches the ServiceMonitor and PrometheusRule (off by default, as StreamSpace\'s chart)', async (t) => {
  const kinds = (...args: string[]) => template([...EXISTING, ...args]).objects.map((o) => o.kind).filter((k) => k === 'ServiceMonitor' || k === 'PrometheusRule').sort()
  t.same(kinds(), [], 'defaults: neither')
  t.same(kinds('--set', 'monitoring.enabled=true'), ['PrometheusRule', 'ServiceMonitor'], 'monitoring.enabled: both')
  t.same(kinds('--set', 'monitoring.enabled=true', '--set', 'monitoring.serviceMonitor.enabled=false'), ['PrometheusRule'], 'a part switched off on its own')
  t.same(kinds('--set', 'monitoring.serviceMonitor.enabled=true'), ['ServiceMonitor'], 'the earlier form (the part alone) still works')
  t.same(kinds('--set', 'monitoring.enabled=true', '--set', 'monitoring.grafanaDashboard.enabled=false'), ['PrometheusRule', 'ServiceMonitor'], 'monitoring.grafanaDashboard.enabled is a known value')
})

t.test('ingress.hosts[] and ingress.tls.enabled, as StreamSpace\'s chart; ingress.host and the tls list still work', async (t) => {
  const ingress = (...args: string[]) => find(template([...EXISTING, '--set', 'ingress.enabled=true', ...args]).objects, 'Ingress')
  const two = ingress('--set', 'ingress.hosts[0].host=a.example.com', '--set', 'ingress.hosts[1].host=b.example.com', '--set', 'ingress.tls.enabled=true')
  t.same(two.spec.rules.map((r: any) => [r.host, r.http.paths.map((p: any) => p.path)]), [
    ['a.example.com', ['/api/plugins/streamspace-node-manager', '/api/v1/admin/nodes']],
    ['b.example.com', ['/api/plugins/streamspace-node-manager', '/api/v1/admin/nodes']],
  ], 'the chart\'s paths on every host')
  t.same(two.spec.tls, [{ hosts: ['a.example.com', 'b.example.com'], secretName: `${RELEASE}-tls` }], 'tls.enabled: every host, <fullname>-tls')
  t.notOk(ingress().spec.tls, 'no TLS unless enabled')
  const old = valuesFile('old-ingress', 'ingress:\n  enabled: true\n  host: old.example.com\n  tls:\n    - secretName: old-tls\n      hosts: [old.example.com]\n')
  const earlier = find(template([...EXISTING, '-f', old]).objects, 'Ingress')
  t.same(earlier.spec.rules.map((r: any) => r.host), ['old.example.com'], 'deprecated ingress.host')
  t.same(earlier.spec.tls, [{ secretName: 'old-tls', hosts: ['old.example.com'] }], 'deprecated tls list')
  const env = find(template([...EXISTING, '-f', old]).objects, 'Deployment').spec.template.spec.containers[0].env
  t.equal(env.find((e: any) => e.name === 'PUBLIC_URL')?.value, 'https://old.example.com', 'publicUrl from the earlier form')
})

t.test('long answers: Ingress and HTTPRoute timeouts from drain.timeoutSeconds plus a margin, overridable; no buffering', async (t) => {
  const both = ['--set', 'ingress.enabled=true', '--set', 'httpRoute.enabled=true', '--set', 'httpRoute.parentRefs[0].name=gw']
  const render = (...args: string[]) => {
    const { objects } = template([...EXISTING, ...both, ...args])
    return { annotations: find(objects, 'Ingress').metadata.annotations!, request: find(objects, 'HTTPRoute').spec.rules[0].timeouts.request }
  }
  const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8'))
  const want = values.drain.timeoutSeconds + values.drain.proxyMarginSeconds
  t.ok(values.drain.timeoutSeconds >= 300, 'the default covers the service\'s default drain timeout (300 s)')
  const d = render()
  t.match(d.annotations, { 'nginx.ingress.kubernetes.io/proxy-read-timeout': String(want), 'nginx.ingress.kubernetes.io/proxy-send-timeout': String(want), 'nginx.ingress.kubernetes.io/proxy-buffering': 'off' }, `nginx-ingress waits ${want} s, does not buffer SSE`)
  t.ok(want > 60, 'longer than nginx-ingress\' 60 s default')
  t.equal(d.request, `${want}s`, 'HTTPRoute timeouts.request')
  const longer = render('--set', 'drain.timeoutSeconds=1800')
  t.equal(longer.annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'], String(1800 + values.drain.proxyMarginSeconds), 'follows drain.timeoutSeconds')
  t.equal(longer.request, `${1800 + values.drain.proxyMarginSeconds}s`)
  const own = render('--set', 'ingress.timeoutSeconds=3600', '--set', 'httpRoute.timeoutSeconds=7200')
  t.equal(own.annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'], '3600', 'ingress.timeoutSeconds overrides')
  t.equal(own.request, '7200s', 'httpRoute.timeoutSeconds overrides')
  const annotated = render('--set-string', 'ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/proxy-read-timeout=42')
  t.equal(annotated.annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'], '42', 'an annotation given in the values wins')
})

t.test('sessionStore: SESSION_STORE_URL for StreamSpace\'s Redis, the password from its Secret', async (t) => {
  const env = (...args: string[]) => find(template([...EXISTING, ...args]).objects, 'Deployment').spec.template.spec.containers[0].env as any[]
  t.notOk(env().some((e) => e.name.startsWith('SESSION_STORE')), 'defaults: none (no revocation check)')
  t.same(env('--set', 'sessionStore.url=rediss://redis.example.com:6380/2').filter((e) => e.name.startsWith('SESSION_STORE')), [{ name: 'SESSION_STORE_URL', value: 'rediss://redis.example.com:6380/2' }])
  const withSecret = env('--set', 'sessionStore.url=redis://streamspace-redis:6379', '--set', 'sessionStore.existingSecret=streamspace-secrets').filter((e) => e.name.startsWith('SESSION_STORE'))
  t.same(withSecret, [
    { name: 'SESSION_STORE_PASSWORD', valueFrom: { secretKeyRef: { name: 'streamspace-secrets', key: 'redis-password' } } },
    { name: 'SESSION_STORE_URL', value: 'redis://:$(SESSION_STORE_PASSWORD)@streamspace-redis:6379' },
  ], 'StreamSpace\'s key redis-password, defined before the URL that uses it')
  const noUrl = helm(['template', RELEASE, CHART, '-n', NAMESPACE, ...EXISTING, '--set', 'sessionStore.existingSecret=streamspace-secrets'])
  t.not(noUrl.status, 0)
  t.match(noUrl.stderr, /sessionStore.existingSecret needs sessionStore.url/)
  const twice = helm(['template', RELEASE, CHART, '-n', NAMESPACE, ...EXISTING, '--set', 'sessionStore.url=redis://:pw@r:6379', '--set', 'sessionStore.existingSecret=s'])
  t.not(twice.status, 0)
  t.match(twice.stderr, /sessionStore.url already holds credentials/)
  const bad = helm(['template', RELEASE, CHART, '-n', NAMESPACE, ...EXISTING, '--set', 'sessionStore.url=http://redis:6379'])
  t.match(bad.stderr, /sessionStore/, 'not a redis URL: refused by the schema, naming the value')
})
