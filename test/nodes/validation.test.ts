import t from 'tap'
import type { Failure } from '../../src/errors.js'
import {
  checkEffect, checkKey, checkNotSystemManaged, checkValue, isSystemManagedKey, labelValueErrors, qualifiedNameErrors,
} from '../../src/nodes/validation.js'

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

t.test('system-managed keys need force', async (t) => {
  for (const k of ['kubernetes.io/hostname', 'kubernetes.io/os', 'topology.kubernetes.io/zone', 'node.kubernetes.io/instance-type',
    'beta.kubernetes.io/arch', 'k8s.io/x', 'topology.k8s.io/region', 'failure-domain.beta.kubernetes.io/zone']) {
    t.ok(isSystemManagedKey(k), k)
  }
  for (const k of ['node-role.kubernetes.io/gpu', 'node-restriction.kubernetes.io/pool', 'example.com/team', 'team', 'notkubernetes.io/x', 'kubernetes.io.example.com/x']) {
    t.notOk(isSystemManagedKey(k), k)
  }
  t.throws(() => checkNotSystemManaged('kubernetes.io/hostname', false, 'label'), { kind: 'invalid', message: /set force=true/ })
  t.doesNotThrow(() => checkNotSystemManaged('kubernetes.io/hostname', true, 'label'))
})
