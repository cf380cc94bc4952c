// The chart's Grafana dashboard (files/dashboards/node-manager.json) against the metrics the service
// really exports: a real Prometheus (Debian's package) scrapes the service, built in-process against
// the simulated cluster, after a drain, a maintenance plan and a node going NotReady (an alert sent
// to a real Alertmanager); then every panel's PromQL, with the template variables resolved as
// Grafana would, runs through Prometheus' HTTP API and must answer with at least one series.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPod, ensureNamespace } from '../helpers/fixtures.js'
import { waitFor } from '../helpers/service.js'
import { startStack } from '../helpers/stack.js'
import { startPrometheus, type PrometheusServer } from '../helpers/prometheus.js'
import { startAlertmanager } from '../helpers/alertmanager.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const DASHBOARD_FILE = join(root, 'charts/streamspace-node-manager/files/dashboards/node-manager.json')

interface Target { expr: string; refId: string; datasource?: { uid?: string } }
interface Panel { type: string; title: string; datasource?: { uid?: string }; targets?: Target[]; panels?: Panel[] }
interface Variable { name: string; type: string; query?: string | { query: string }; includeAll?: boolean; allValue?: string }
interface Dashboard { panels: Panel[]; templating: { list: Variable[] } }

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard
/** Panels that query, also those inside collapsed rows. */
const queryPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row')

// Grafana's built-in intervals, as it sets them for the default range (1 h) with a short scrape
// interval: $__rate_interval is at least four scrapes; $__range the dashboard's time range.
const BUILTINS: Record<string, string> = { __rate_interval: '1m', __range: '1h', __interval: '15s' }

/** Replaces $name and ${name} with values[name]; throws on a variable the dashboard does not define. */
function substitute(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!
    const v = values[name] ?? BUILTINS[name]
    if (v === undefined) throw new Error(`${expr}: unknown variable $${name}`)
    return v
  })
}

const regexEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * Grafana's label_values(selector, label) through PromQL; the variable's value is every value found
 * as a regex alternation (what Grafana sends for several selected), or its allValue when none.
 */
async function resolveVariables(prom: PrometheusServer): Promise<{ values: Record<string, string>; found: Record<string, string[]> }> {
  const values: Record<string, string> = {}
  const found: Record<string, string[]> = {}
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue
    const q = typeof v.query === 'string' ? v.query : v.query!.query
    const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q)
    if (!m) throw new Error(`variable ${v.name}: not a label_values() query: ${q}`)
    const [, selector, label] = m
    const result = await prom.query(`group by (${label}) (${substitute(selector, values)})`)
    found[v.name] = result.map((r) => r.metric[label]).filter(Boolean).sort()
    values[v.name] = found[v.name].length ? found[v.name].map(regexEscape).join('|') : v.allValue ?? ''
  }
  return { values, found }
}

t.test('the dashboard\'s shape: every query uses the datasource variable and filters on $job and $namespace', async (t) => {
  const names = dashboard.templating.list.map((v) => v.name)
  t.same(names, ['datasource', 'namespace', 'job', 'node'], 'variables: datasource, namespace, job, node')
  t.ok(queryPanels.length >= 10, `${queryPanels.length} panels`)
  for (const p of queryPanels) {
    t.equal(p.datasource?.uid, '${datasource}', `${p.title}: panel datasource is the variable`)
    t.ok(p.targets?.length, `${p.title}: has queries`)
    for (const target of p.targets ?? []) {
      t.equal(target.datasource?.uid, '${datasource}', `${p.title} [${target.refId}]: datasource is the variable`)
      for (const [, name, matchers = ''] of target.expr.matchAll(/(streamspace_node_manager_\w+)(\{[^}]*\})?/g)) {
        t.ok(matchers.includes('job=~"$job"') && matchers.includes('namespace=~"$namespace"'), `${p.title} [${target.refId}]: ${name} filtered by $job and $namespace`)
      }
    }
  }
})

t.test('every panel query answers with series from a Prometheus scraping the service', async (t) => {
  const am = await startAlertmanager()
  t.teardown(() => am.stop())
  const { backend: b, service: svc } = await startStack(t, {
    nodes: ['dash-1', 'dash-2', 'dash-3', 'dash-4'].map((name) => ({ name, cpu: '4', memory: '8Gi' })),
    setup: async (b) => {
      await ensureNamespace(b.clients, 'apps')
      await ensureNamespace(b.clients, 'streamspace')
      // Something to evict on each node that is drained, and a session that keeps running on dash-3.
      await createPod(b.clients, { name: 'web-1', namespace: 'apps', node: 'dash-1', labels: { app: 'web' }, requests: { cpu: '500m', memory: '512Mi' }, terminationGracePeriodSeconds: 0 })
      await createPod(b.clients, { name: 'web-2', namespace: 'apps', node: 'dash-2', labels: { app: 'web' }, requests: { cpu: '500m', memory: '512Mi' }, terminationGracePeriodSeconds: 0 })
      await createPod(b.clients, {
        name: 'sess-1', namespace: 'streamspace', node: 'dash-3',
        labels: { app: 'streamspace-session', session: 'sess-1', user: 'ann', template: 'firefox' },
        requests: { cpu: '1', memory: '2Gi' }, terminationGracePeriodSeconds: 0,
      })
    },
    env: { ALERTMANAGER_URL: am.url, HEALTH_GRACE_SECONDS: '2', HEALTH_CHECK_INTERVAL_MS: '1000', POD_NAMESPACE: 'streamspace' },
  })
  await waitFor(() => svc.app.health.isLeader(), 30_000, 'leadership')
  const prom = await startPrometheus({ targets: [new URL(svc.url).host], scrapeIntervalSeconds: 2 })
  t.teardown(() => prom.stop())
  // Scraped once before anything happens, as a Prometheus that runs all along would have.
  await waitFor(async () => (await prom.query('up{job="streamspace-node-manager"} == 1')).length === 1, 30_000, 'a first scrape')

  // A drain, a maintenance plan (which drains too), a node NotReady long enough to page.
  const drain = await svc.api('/nodes/dash-1/drain', { method: 'POST', json: { force: true, timeout_seconds: 60 } })
  t.equal(drain.status, 200, `drain dash-1: ${await drain.text()}`)
  const created = await svc.api('/maintenance', { method: 'POST', json: { nodes: ['dash-2'], reason: 'dashboard test', drain: { force: true, timeout_seconds: 60 } } })
  const plan = await created.json() as { id: string; message?: string }
  t.equal(created.status, 201, `maintenance plan: ${plan.message ?? ''}`)
  await waitFor(async () => (await (await svc.api(`/maintenance/${plan.id}`)).json() as { state: string }).state === 'succeeded', 30_000, 'the plan succeeded')
  await b.setNodeReady('dash-4', false)
  await waitFor(() => (svc.app.health.alertsSent.get('alertmanager/success') ?? 0) >= 1, 30_000, 'an alert sent to Alertmanager')

  // The alert and both drains in Prometheus, then one scrape more: rate() needs two samples of
  // each series, also of those born with the activity (a route's first request).
  const drains = 'streamspace_node_manager_drains_total{outcome="succeeded"}'
  const sent = 'streamspace_node_manager_alerts_sent_total{receiver="alertmanager",result="success"}'
  const scrapedAt = async (selector: string) => (await prom.query(`timestamp(${selector})`))[0].value[1]
  await waitFor(async () => (await prom.query(`${drains} == 2`)).length === 1 && (await prom.query(`${sent} >= 1`)).length === 1, 60_000, 'the drains and the alert in Prometheus')
  const seen = Number(await scrapedAt(sent))
  await waitFor(async () => Number(await scrapedAt('up{job="streamspace-node-manager"}')) > seen, 30_000, 'one scrape more')

  const { values, found } = await resolveVariables(prom)
  t.same(found.job, ['streamspace-node-manager'], 'the job variable finds the scrape job')
  t.same(found.node, ['dash-1', 'dash-2', 'dash-3', 'dash-4'], 'the node variable finds every node')
  // A static scrape sets no namespace label (the Prometheus Operator does): the variable is All.
  t.equal(values.namespace, '.*', 'namespace: All')

  const lines: string[] = []
  for (const p of queryPanels) {
    for (const target of p.targets ?? []) {
      const expr = substitute(target.expr, values)
      const what = `${p.title} [${target.refId}]`
      try {
        const series = await prom.query(expr)
        lines.push(`${what}: ${series.length} series`)
        t.ok(series.length > 0, `${what} returns series`, { expr })
      } catch (err) {
        lines.push(`${what}: ERROR`)
        t.fail(`${what} fails in Prometheus: ${(err as Error).message}`, { expr })
      }
    }
  }
  t.comment(`panels and their series:\n${lines.join('\n')}`)

  // The counting panels (increase over the range) count the first event too: increase() sees a
  // counter's first sample only as its start, so each series must be there, at 0, before the first
  // event. Read at the time of the counter's last sample: no extrapolation past it.
  const at = async (expr: string, time: string) => {
    const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${time}`)
    const body = await res.json() as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } }
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`)
    return body.data.result
  }
  const panelValue = async (title: string, labels: Record<string, string>, time: string) => {
    const expr = substitute(queryPanels.find((p) => p.title === title)!.targets![0].expr, values)
    const series = (await at(expr, time)).filter((s) => Object.entries(labels).every(([k, v]) => s.metric[k] === v))
    return series.length === 1 ? Number(Number(series[0].value[1]).toFixed(6)) : undefined
  }
  t.equal(await panelValue('Drains by outcome', { outcome: 'succeeded' }, await scrapedAt(drains)), 2, 'Drains by outcome: succeeded 2 (dash-1 by hand, dash-2 by the plan)')
  const sentAt = await scrapedAt(sent)
  const sentTotal = Number((await at(sent, sentAt))[0].value[1])
  t.ok(sentTotal >= 1, `${sentTotal} alert notifications sent`)
  t.equal(await panelValue('Alert notifications by receiver and result', { receiver: 'alertmanager', result: 'success' }, sentAt), sentTotal, 'Alert notifications: every one sent, the first included')
})
