// The admin UI's copy of the API's validation (src/ui/validation.ts) answers exactly as the
// server's code (src/nodes/validation.ts): same verdicts, same words, on valid and invalid inputs.
import t from 'tap'
import * as server from '../../src/nodes/validation.js'
import * as ui from '../../src/ui/validation.js'

const keys = [
  'team', 'example.com/team', 'bad key', '', '/x', 'a/', 'a/b/c', 'Example.com/x', '-x', 'x-', 'x'.repeat(63), 'x'.repeat(64),
  `${'a'.repeat(254)}/x`, 'node-role.kubernetes.io/worker', 'kubernetes.io/arch', 'topology.kubernetes.io/zone', 'k8s.io/x', 'sub.k8s.io/x',
  'node-restriction.kubernetes.io/pool', 'my_key.v1', '123', 'a..b', 'ünïcode',
]
const values = ['', 'v', 'gpu!', 'a b', 'x'.repeat(63), 'x'.repeat(64), '-v', 'v-', 'My_Value.1', 'ü']
const effects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute', 'Sometimes', '', 'noschedule']

const serverMessage = (fn: () => void): string | null => {
  try {
    fn()
    return null
  } catch (err) {
    return (err as Error).message
  }
}

t.test('keys', async (t) => {
  for (const k of keys) {
    t.same(ui.qualifiedNameErrors(k), server.qualifiedNameErrors(k), `errors of ${JSON.stringify(k)}`)
    t.equal(ui.keyProblem(k), serverMessage(() => server.checkKey(k)), `message for ${JSON.stringify(k)}`)
    t.equal(ui.isSystemManagedKey(k), server.isSystemManagedKey(k), `system-managed ${JSON.stringify(k)}`)
  }
})

t.test('values and effects', async (t) => {
  for (const v of values) t.equal(ui.valueProblem(v), serverMessage(() => server.checkValue(v)), `value ${JSON.stringify(v)}`)
  for (const e of effects) t.equal(ui.effectProblem(e), serverMessage(() => server.checkEffect(e)), `effect ${JSON.stringify(e)}`)
  t.same([...ui.TAINT_EFFECTS], [...server.TAINT_EFFECTS])
})
