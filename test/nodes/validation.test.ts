// The domain's checks of label and taint fields (src/nodes/validation.ts): Failures of kind
// "invalid" naming the field and the rule, the same sentence the admin UI shows before sending
// (src/shared/validation.ts), and the guard rail on system-managed keys.
import t from 'tap'
import type { Failure } from '../../src/errors.js'
import { checkEffect, checkKey, checkNotSystemManaged, checkValue } from '../../src/nodes/validation.js'
import { effectProblem, keyProblem, valueProblem } from '../../src/shared/validation.js'

t.test('errors are 400s naming the field and the rule', async (t) => {
  const err = (fn: () => void) => { try { fn() } catch (e) { return e as Failure } throw new Error('no error') }
  const e1 = err(() => checkKey('-bad'))
  t.equal(e1.kind, 'invalid')
  t.match(e1.message, /^Invalid value for key "-bad": name part must consist/)
  t.match(e1.details, { problems: [{ field: 'key', value: '-bad', rule: /name part must consist/ }] })
  const e2 = err(() => checkValue('x'.repeat(64)))
  t.match(e2.message, /^Invalid value for value "x+": must be no more than 63 characters/)
  const e3 = err(() => checkEffect('NoSchedul'))
  t.match(e3.message, /Invalid value for effect "NoSchedul": unsupported taint effect: must be one of NoSchedule, PreferNoSchedule, NoExecute/)
  for (const ok of ['NoSchedule', 'PreferNoSchedule', 'NoExecute']) t.doesNotThrow(() => checkEffect(ok))
  for (const bad of ['', 'noschedule', 'NoExecute ', 'Evict']) t.throws(() => checkEffect(bad), { kind: 'invalid', message: /unsupported taint effect/ })
})

// What the UI's dialogs say before sending is what the API's 400 would say, on valid and invalid inputs.
const keys = [
  'team', 'example.com/team', 'bad key', '', '/x', 'a/', 'a/b/c', 'Example.com/x', '-x', 'x-', 'x'.repeat(63), 'x'.repeat(64),
  `${'a'.repeat(254)}/x`, 'node-role.kubernetes.io/worker', 'kubernetes.io/arch', 'topology.kubernetes.io/zone', 'k8s.io/x', 'sub.k8s.io/x',
  'node-restriction.kubernetes.io/pool', 'my_key.v1', '123', 'a..b', 'ünïcode',
]
const values = ['', 'v', 'gpu!', 'a b', 'x'.repeat(63), 'x'.repeat(64), '-v', 'v-', 'My_Value.1', 'ü']
const effects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute', 'Sometimes', '', 'noschedule']

const thrown = (fn: () => void): string | null => {
  try {
    fn()
    return null
  } catch (err) {
    return (err as Error).message
  }
}

t.test('the 400 says what the UI says', async (t) => {
  for (const k of keys) t.equal(thrown(() => checkKey(k)), keyProblem(k), `key ${JSON.stringify(k)}`)
  for (const k of keys) t.equal(thrown(() => checkKey(k, 'node_selector key')), keyProblem(k, 'node_selector key'), `key ${JSON.stringify(k)} as another field`)
  for (const v of values) t.equal(thrown(() => checkValue(v)), valueProblem(v), `value ${JSON.stringify(v)}`)
  for (const e of effects) t.equal(thrown(() => checkEffect(e)), effectProblem(e), `effect ${JSON.stringify(e)}`)
  t.ok(keys.some((k) => keyProblem(k) !== null) && keys.some((k) => keyProblem(k) === null), 'the inputs hold both valid and invalid keys')
})

t.test('system-managed keys need force', async (t) => {
  t.throws(() => checkNotSystemManaged('kubernetes.io/hostname', false, 'label'), { kind: 'invalid', message: /set force=true/ })
  t.doesNotThrow(() => checkNotSystemManaged('kubernetes.io/hostname', true, 'label'))
})
