// One definition per drain shape: the TypeBox schemas are the types (Static<>), and the status's
// `options` is a real schema (it was a loose object that took anything).
import t from 'tap'
import { Value } from 'typebox/value'
import { DrainOptions, DrainStatus, ResolvedDrainOptions } from '../../src/drain/shapes.js'
import { resolveOptions } from '../../src/drain/types.js'

const status = (options: unknown) => ({
  node: 'n1', phase: 'running', message: 'drain started', started_at: new Date(0).toISOString(), finished_at: null,
  options, cordoned: true, method: 'eviction', total: 0, evicted: [], pending: [], skipped: [], refused: [], errors: [],
  warnings: [], sessions_disrupted: 0, sessions_total: 0, duration_seconds: null,
})

t.test('resolved options (defaults applied) are what the status schema describes', async (t) => {
  const resolved = resolveOptions({})
  t.same(resolved, {
    grace_period_seconds: undefined, timeout_seconds: 300, force: false, ignore_daemonsets: true,
    delete_emptydir_data: false, disable_eviction: false, pod_selector: undefined, dry_run: false,
  })
  t.ok(Value.Check(ResolvedDrainOptions, JSON.parse(JSON.stringify(resolved))), 'defaults validate')
  t.ok(Value.Check(DrainStatus, status(JSON.parse(JSON.stringify(resolveOptions({ grace_period_seconds: 5, pod_selector: 'app=web', force: true }))))))
  t.ok(Value.Check(DrainStatus, status(null)), 'no drain yet: null')
})

t.test('the status schema refuses options that are not a drain\'s', async (t) => {
  t.notOk(Value.Check(DrainStatus, status({})), 'missing timeout_seconds and the flags')
  t.notOk(Value.Check(DrainStatus, status({ ...resolveOptions({}), timeout_seconds: 'soon' })), 'wrong type')
})

t.test('the request schema is strict: unknown options are refused', async (t) => {
  t.ok(Value.Check(DrainOptions, { grace_period_seconds: 10, wait: false }))
  t.notOk(Value.Check(DrainOptions, { gracePeriod: 10 }))
})
