// readListPage (src/kube/raw.ts): a LIST's items parsed one by one from their own slices of the
// body must be exactly what JSON.parse of the whole body gives, whatever the strings hold, and with
// a field mask exactly the masked members of that; the continue token is read ahead of the items
// only when the metadata comes first.
import t, { type Test } from 'tap'
import { continueOf, PageBuffer, readListPage, type FieldMask } from '../../src/kube/raw.js'

function parseListPage<M>(buf: Buffer, onItem: (item: unknown) => void, fields?: FieldMask): M {
  const page = readListPage<M>(buf, fields)
  for (;;) {
    const r = page.next()
    if (r.done) return r.value
    onItem(r.value)
  }
}

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

/** The mask applied to a parsed value: what a masked parse must give. */
function cut(value: unknown, mask: FieldMask): unknown {
  if (mask === true) return value
  if (Array.isArray(value)) return value.map((v) => cut(v, mask))
  if (!value || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) if (k in mask) out[k] = cut(v, mask[k])
  return out
}

t.test('with a field mask, each item is exactly the masked part of its whole parse', async (t) => {
  const mask: FieldMask = {
    metadata: { name: true, namespace: true, labels: true },
    spec: { nodeName: true, containers: { resources: { requests: true } }, tolerations: true },
    status: { phase: true },
  }
  const items = [
    {
      metadata: { namespace: 'ns', name: 'a"}]{[\\', nam: 'prefix of name', names: 'longer', uid: 'u', labels: { 'x\\': 'back\\slash\\"', emoji: '✓ ünïcödé \u2028' }, managedFields: [{ f: { '{': '[' } }] },
      spec: { containers: [{ name: 'c', env: [{ name: 'X', value: '}' }], resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2' } } }, { name: 'd' }, { resources: null }], nodeName: 'n"1', tolerations: [{ key: 'k', operator: 'Exists' }] },
      status: { phase: 'Running', conditions: [{ type: 'Ready' }] },
    },
    { metadata: null, spec: 'not an object', status: [{ phase: 'in an array' }, 7] },
    { spec: { containers: { resources: { requests: { cpu: '1' } } } }, other: { metadata: { name: 'not at the top' } } },
    { metadata: { name: 'dup', name2: 1, labels: {} }, status: { phase: 1.5e3 } },
    {},
  ]
  const text = JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '5', continue: 'c' }, items })
  for (const [what, body] of [['compact', text], ['indented', JSON.stringify(JSON.parse(text), null, 2)]] as const) {
    const got: unknown[] = []
    const head = parseListPage<Record<string, unknown>>(Buffer.from(body), (i) => got.push(i), mask)
    t.same(got, items.map((i) => cut(i, mask)), `${what}: the items, masked`)
    t.same(head, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '5', continue: 'c' } }, `${what}: the other members whole`)
  }
  const got: unknown[] = []
  parseListPage(Buffer.from(' { "items" : [ { "metadata" : { "name" : "w" , "uid" : "x" } , "spec" : { } } ] } '), (i) => got.push(i), mask)
  t.same(got, [{ metadata: { name: 'w' }, spec: {} }], 'whitespace everywhere')
  t.throws(() => parseListPage(Buffer.from('{"items":[{"metadata":{"name":"a"}{"b":2}]}'), () => {}, mask), SyntaxError, 'missing comma inside an item')
  t.throws(() => parseListPage(Buffer.from('{"items":[{"metadata":{"name":"a}}]}'), () => {}, mask), SyntaxError, 'unterminated string')
  t.throws(() => parseListPage(Buffer.from('{"items":[{"metadata":{"name" "a"}}]}'), () => {}, mask), SyntaxError, 'missing colon')
})

t.test('a PageBuffer gathers chunks into one page and is reused for the next', async (t) => {
  const pages = new PageBuffer()
  const chunks = [Buffer.from('a'), Buffer.alloc(1000, 'b'), Buffer.alloc(0), Buffer.alloc(70_000, 'c'), Buffer.from('d')]
  pages.reset()
  for (const c of chunks) pages.append(c)
  t.ok(pages.bytes().equals(Buffer.concat(chunks)), 'the chunks in order')
  pages.reset()
  pages.append(Buffer.from('next'))
  t.equal(pages.bytes().toString(), 'next', 'the next page alone')
})
