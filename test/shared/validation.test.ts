// Kubernetes' rules for label and taint keys, values and effects (src/shared/validation.ts), the
// one code the service and the admin UI run: verdicts at the boundaries, and the UI's one-line
// answers in the API's words.
import t from 'tap'
import {
  effectProblem, isSystemManagedKey, keyProblem, labelValueErrors, qualifiedNameErrors, TAINT_EFFECTS, taintEffectErrors, valueProblem,
} from '../../src/shared/validation.js'

const a63 = 'a'.repeat(63)
const sub253 = [...Array(4)].map(() => 'b'.repeat(62)).join('.') + '.c' // 4*62 + 3 dots + 2 = 253

t.test('label keys at the boundaries (IsQualifiedName)', async (t) => {
  t.equal(sub253.length, 253)
  const valid = [
    'a', 'A', '0', 'team', 'my.name', 'my_name', 'my-name', '123-abc', 'MyName', a63,
    'example.com/team', 'a/b', 'node-role.kubernetes.io/gpu', `${sub253}/x`, `example.com/${a63}`, 'x.y-z.io/A_b.C-d',
  ]
  const invalid: [string, RegExp][] = [
    ['', /name part must be non-empty/],
    ['a'.repeat(64), /name part must be no more than 63 characters/],
    ['-team', /name part must consist of alphanumeric/],
    ['team-', /name part must consist of alphanumeric/],
    ['_team', /name part must consist of alphanumeric/],
    ['te am', /name part must consist of alphanumeric/],
    ['team!', /name part must consist of alphanumeric/],
    ['/team', /prefix part must be non-empty/],
    ['example.com/', /name part must be non-empty/],
    ['Example.com/team', /prefix part a lowercase RFC 1123 subdomain/],
    ['example_com/team', /prefix part a lowercase RFC 1123 subdomain/],
    ['-example.com/team', /prefix part a lowercase RFC 1123 subdomain/],
    ['example..com/team', /prefix part a lowercase RFC 1123 subdomain/],
    [`${sub253}x/team`, /prefix part must be no more than 253 characters/],
    [`example.com/${'a'.repeat(64)}`, /name part must be no more than 63 characters/],
    ['a/b/c', /a qualified name must consist of/],
    ['é', /name part must consist of alphanumeric/],
  ]
  for (const k of valid) t.same(qualifiedNameErrors(k), [], `valid: ${k.length > 40 ? k.slice(0, 20) + '…(' + k.length + ')' : k}`)
  for (const [k, re] of invalid) {
    const errs = qualifiedNameErrors(k)
    t.ok(errs.length > 0, `invalid: ${JSON.stringify(k.length > 40 ? k.slice(0, 20) + '…(' + k.length + ')' : k)}`)
    t.match(errs.join('; '), re)
  }
})

t.test('label values at the boundaries (IsValidLabelValue)', async (t) => {
  for (const v of ['', 'a', '1', 'gpu', 'A-b_c.d', a63, 'v1.2.3']) t.same(labelValueErrors(v), [], `valid: ${JSON.stringify(v)}`)
  const invalid: [string, RegExp][] = [
    ['a'.repeat(64), /must be no more than 63 characters/],
    ['-gpu', /a valid label must be an empty string or consist of/],
    ['gpu.', /a valid label must be an empty string/],
    ['a/b', /a valid label must be an empty string/],
    ['a b', /a valid label must be an empty string/],
    ['a=b', /a valid label must be an empty string/],
  ]
  for (const [v, re] of invalid) t.match(labelValueErrors(v).join('; '), re, `invalid: ${JSON.stringify(v)}`)
})

t.test('taint effects', async (t) => {
  t.same([...TAINT_EFFECTS], ['NoSchedule', 'PreferNoSchedule', 'NoExecute'])
  for (const ok of TAINT_EFFECTS) t.same(taintEffectErrors(ok), [], ok)
  for (const bad of ['', 'noschedule', 'NoExecute ', 'Evict']) t.same(taintEffectErrors(bad), ['unsupported taint effect: must be one of NoSchedule, PreferNoSchedule, NoExecute'], JSON.stringify(bad))
})

t.test('the UI\'s answers: null when valid, else the API\'s sentence naming the field', async (t) => {
  t.equal(keyProblem('example.com/team'), null)
  t.equal(valueProblem(''), null)
  t.equal(effectProblem('NoExecute'), null)
  t.equal(keyProblem('bad key'), `Invalid value for key "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', 'my.name' or '123-abc')`)
  t.equal(keyProblem('/x', 'label'), 'Invalid value for label "/x": prefix part must be non-empty')
  t.equal(valueProblem('x'.repeat(64) + '!'), `Invalid value for value "${'x'.repeat(64)}!": must be no more than 63 characters; a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', 'my_value' or '12345')`)
  t.equal(effectProblem('Sometimes'), 'Invalid value for effect "Sometimes": unsupported taint effect: must be one of NoSchedule, PreferNoSchedule, NoExecute')
})

t.test('system-managed keys (kubernetes.io/, k8s.io/, but node-role. and node-restriction.)', async (t) => {
  for (const k of ['kubernetes.io/hostname', 'kubernetes.io/os', 'topology.kubernetes.io/zone', 'node.kubernetes.io/instance-type',
    'beta.kubernetes.io/arch', 'k8s.io/x', 'topology.k8s.io/region', 'failure-domain.beta.kubernetes.io/zone']) {
    t.ok(isSystemManagedKey(k), k)
  }
  for (const k of ['node-role.kubernetes.io/gpu', 'node-restriction.kubernetes.io/pool', 'example.com/team', 'team', 'notkubernetes.io/x', 'kubernetes.io.example.com/x']) {
    t.notOk(isSystemManagedKey(k), k)
  }
})
