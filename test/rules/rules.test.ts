// The alert rules as the chart ships them (charts/streamspace-node-manager/files/alert-rules.yaml):
// `promtool check rules` accepts them, `promtool test rules` passes the unit tests beside this file
// (test/rules/*.yaml), every rule is tested and labelled as Alertmanager routes expect, the tests
// catch a broken rule, and every metric a rule reads is one the service exports.
import t from 'tap'
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadYaml } from '@kubernetes/client-node'
import { startStack } from '../helpers/stack.js'
import { promtool } from '../helpers/prometheus.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const rulesFile = join(root, 'charts/streamspace-node-manager/files/alert-rules.yaml')
const unitTests = readdirSync(here).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(here, f))

interface Rule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const rules = (loadYaml<{ groups: { name: string; rules: Rule[] }[] }>(readFileSync(rulesFile, 'utf8'))).groups.flatMap((g) => g.rules)

t.test('promtool check rules', async (t) => {
  const r = promtool(['check', 'rules', rulesFile])
  t.equal(r.code, 0, `exit code\n${r.stdout}${r.stderr}`)
  t.match(r.stdout, `SUCCESS: ${rules.length} rules found`)
})

t.test('promtool test rules', async (t) => {
  t.ok(unitTests.length >= 3, `unit test files: ${unitTests.map((f) => f.slice(here.length + 1)).join(', ')}`)
  const r = promtool(['test', 'rules', ...unitTests])
  t.equal(r.code, 0, `exit code\n${r.stdout}${r.stderr}`)
  t.equal((r.stdout.match(/SUCCESS/g) ?? []).length, unitTests.length, 'every file passes')
})

t.test('every alert has severity, service, summary and description, and a unit test that sees it fire', async (t) => {
  const tested = new Set<string>()
  for (const file of unitTests) {
    const doc = loadYaml<{ tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] }>(readFileSync(file, 'utf8'))
    for (const test of doc.tests) for (const a of test.alert_rule_test ?? []) if (a.exp_alerts?.length) tested.add(a.alertname)
  }
  t.ok(rules.length >= 5)
  for (const r of rules) {
    t.ok(r.alert, `only alerting rules (${r.record ?? r.expr})`)
    t.match(r.labels, { severity: /^(critical|warning|info)$/, service: 'streamspace-node-manager' }, `${r.alert}: labels`)
    t.match(r.annotations, { summary: /\S/, description: /\S/ }, `${r.alert}: annotations`)
    t.ok(tested.has(r.alert!), `${r.alert}: a unit test expects it to fire`)
  }
  for (const name of ['StreamSpaceNodeNotReady', 'StreamSpaceNodeCondition', 'StreamSpaceDrainRunningTooLong', 'StreamSpaceNodeManagerCacheStale', 'StreamSpaceNodeManagerNoLeader']) {
    t.ok(rules.some((r) => r.alert === name), `${name} is there`)
  }
})

t.test('the unit tests catch a broken rule', async (t) => {
  // The same rules with the NotReady alert no longer aggregated per node (one alert per replica),
  // and the no-leader alert no longer firing when the series is absent.
  const dir = mkdtempSync(join(tmpdir(), 'rules-mutant-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const text = readFileSync(rulesFile, 'utf8')
  const mutants = {
    'per replica': text.replace('max by (node) (streamspace_node_manager_node_ready) == 0', 'streamspace_node_manager_node_ready == 0'),
    'absent leader': text.replace('(max(streamspace_node_manager_leader) or vector(0)) == 0', 'max(streamspace_node_manager_leader) == 0'),
    'shorter for': text.replace('for: 30m', 'for: 20m'),
  }
  for (const [what, mutant] of Object.entries(mutants)) {
    t.not(mutant, text, `${what}: the mutation applies`)
    const sub = join(dir, what.replace(/ /g, '-'))
    cpSync(here, join(sub, 'test/rules'), { recursive: true, filter: (f) => !f.endsWith('.ts') })
    const copy = join(sub, 'charts/streamspace-node-manager/files/alert-rules.yaml')
    cpSync(rulesFile, copy)
    writeFileSync(copy, mutant)
    const r = promtool(['test', 'rules', ...unitTests.map((f) => join(sub, 'test/rules', f.slice(here.length + 1)))])
    t.not(r.code, 0, `${what}: promtool test rules fails`)
    t.match(r.stdout + r.stderr, /FAILED/)
  }
})

t.test('every metric the rules read is exported by the service', async (t) => {
  const { service: svc } = await startStack(t, { nodes: [{ name: 'r1', cpu: '1', memory: '1Gi' }] })
  const text = await (await fetch(`${svc.url}/metrics`)).text()
  const families = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]))
  const used = new Set(rules.flatMap((r) => [...r.expr.matchAll(/\b(streamspace_node_manager_[a-z_]+)/g)].map((m) => m[1])))
  t.ok(used.size >= 8, `metrics used by the rules: ${[...used].join(', ')}`)
  for (const name of used) {
    const family = name.replace(/_(bucket|count|sum)$/, '')
    t.ok(families.has(family), `${name} is exported`)
  }
})
