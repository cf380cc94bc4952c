// parseListPage (src/kube/raw.ts): a LIST's items parsed one by one from their own slices of the
// body must be exactly what JSON.parse of the whole body gives, whatever the strings hold; the
// continue token is read ahead of the items only when the metadata comes first.
import t, { type Test } from 'tap'
import { continueOf, parseListPage } from '../../src/kube/raw.js'

function check(t: Test, text: string, what: string) {
  const items: unknown[] = []
  const head = parseListPage<Record<string, unknown>>(Buffer.from(text), (i) => items.push(i))
  const whole = JSON.parse(text) as Record<string, unknown>
  const { items: wholeItems, ...rest } = whole
  t.same(items, wholeItems ?? [], `${what}: the items`)
  t.same(head, rest, `${what}: the other members`)
}

t.test('items parsed one by one equal the whole parse', async (t) => {
  const tricky = {
    metadata: { name: 'a"}]{[', labels: { 'x\\': 'back\\\\slash\\"', brace: '}}}', emoji: '✓ ünïcödé \u2028' } },
    spec: { list: [1, [2, [3, { deep: null }]], -1.5e3, true, false, null], empty: {}, none: [] },
  }
  check(t, JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '12', continue: 'abc' }, items: [tricky, { metadata: { name: 'b' } }, tricky] }), 'compact')
  check(t, JSON.stringify({ kind: 'NodeList', metadata: { resourceVersion: '1' }, items: [tricky, { a: 1 }] }, null, 2), 'indented')
  check(t, JSON.stringify({ items: [], metadata: { resourceVersion: '3' } }), 'no items, metadata after')
  check(t, ' {\n "metadata" : { "resourceVersion" : "4" } , "items" : [ { "a" : "\\\\" } , null , 7 ] , "n" : 12 }\n', 'whitespace, null and number items')
  check(t, '{}', 'empty object')
})

t.test('what is not a list object is parsed whole; broken JSON throws', async (t) => {
  const items: unknown[] = []
  t.same(parseListPage(Buffer.from('[1,2]'), (i) => items.push(i)), [1, 2])
  t.same(items, [])
  t.throws(() => parseListPage(Buffer.from('{"items":[{"a":"b}]}'), () => {}), SyntaxError, 'unterminated string')
  t.throws(() => parseListPage(Buffer.from('{"items":[{"a":1} {"b":2}]}'), () => {}), SyntaxError, 'missing comma')
  t.throws(() => parseListPage(Buffer.from('{"items":[{"a":1}'), () => {}), SyntaxError, 'unterminated list')
})

t.test('the continue token is read before the items when the metadata comes first', async (t) => {
  const page = (o: unknown) => Buffer.from(JSON.stringify(o))
  t.equal(continueOf(page({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '9', continue: 'abc' }, items: [{ a: '{"metadata":{"continue":"no"}}' }] })), 'abc')
  t.equal(continueOf(page({ kind: 'PodList', metadata: { resourceVersion: '9' }, items: [] })), '', 'last page')
  t.equal(continueOf(page({ kind: 'PodList', metadata: { resourceVersion: '9', continue: '' }, items: [] })), '', 'an empty token: last page')
  t.equal(continueOf(page({ items: [], metadata: { continue: 'late' } })), undefined, 'items first: not known before the parse')
  t.equal(continueOf(page({ kind: 'PodList' })), undefined, 'no metadata')
  t.equal(continueOf(Buffer.from(' {\n "kind" : "X" ,\n "metadata" : { "continue" : "w" } , "items" : [ ] }')), 'w', 'whitespace')
  t.equal(continueOf(Buffer.from('[1]')), undefined, 'not an object')
})
