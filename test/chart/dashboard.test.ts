// The Grafana dashboard ConfigMap, rendered by the real helm: present, labelled for the
// kube-prometheus-stack Grafana sidecar (grafana_dashboard: "1") and holding the dashboard file
// unchanged only when monitoring.enabled and monitoring.grafanaDashboard.enabled are both on.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CHART, NAMESPACE, RELEASE, helm, template, type K8sObject } from './helm.js'

const EXISTING = ['--set', 'jwt.existingSecret=streamspace-secrets']
const DASHBOARD_FILE = join(CHART, 'files/dashboards/node-manager.json')
const set = (monitoring: boolean, dashboard: boolean) => [
  ...EXISTING, '--set', `monitoring.enabled=${monitoring}`, '--set', `monitoring.grafanaDashboard.enabled=${dashboard}`,
]
const dashboards = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard !== undefined)

t.test('both switches on: one ConfigMap labelled grafana_dashboard "1" with the dashboard file as it is', async (t) => {
  const found = dashboards(template(set(true, true)).objects)
  t.equal(found.length, 1, 'one dashboard ConfigMap')
  const cm = found[0]
  t.equal(cm.metadata.name, `${RELEASE}-dashboard`)
  t.equal(cm.metadata.namespace, NAMESPACE, 'in the chart\'s namespace')
  t.equal(cm.metadata.labels?.grafana_dashboard, '1', 'the label is the string "1" (the sidecar matches it as such)')
  t.match(cm.metadata.labels, { 'app.kubernetes.io/name': 'streamspace-node-manager', 'app.kubernetes.io/instance': RELEASE, 'helm.sh/chart': /^streamspace-node-manager-/ })
  t.same(Object.keys(cm.data), ['node-manager.json'])
  const file = readFileSync(DASHBOARD_FILE, 'utf8')
  t.equal(cm.data['node-manager.json'], file.replace(/\n$/, ''), 'the file, byte for byte (Grafana legends like {{node}} not taken as Helm templates)')
  t.equal(JSON.parse(cm.data['node-manager.json']).uid, 'streamspace-node-manager', 'parses as the dashboard')
  const lint = helm(['lint', '--strict', CHART, '--namespace', NAMESPACE, ...set(true, true)])
  t.equal(lint.status, 0, `helm lint --strict: ${lint.stdout}${lint.stderr}`)
})

t.test('not rendered when either switch is off, nor by default', async (t) => {
  t.same(dashboards(template(set(true, false)).objects), [], 'monitoring on, dashboard off')
  t.same(dashboards(template(set(false, true)).objects), [], 'monitoring off, dashboard on')
  t.same(dashboards(template(set(false, false)).objects), [], 'both off')
  t.same(dashboards(template(EXISTING).objects), [], 'defaults')
})

t.test('the values schema refuses a switch that is not a boolean, naming it', async (t) => {
  for (const key of ['monitoring.enabled', 'monitoring.grafanaDashboard.enabled']) {
    const res = helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...EXISTING, '--set-string', `${key}=yes`])
    t.not(res.status, 0, `${key}=yes fails`)
    t.ok(res.stderr.includes(`at '/${key.replace(/\./g, '/')}': got string, want boolean`), `${key}: the message names it: ${res.stderr.trim()}`)
  }
})
