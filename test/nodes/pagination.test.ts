// Paginated node lists (GET P/nodes?limit=N&continue=T, src/nodes/pages.ts): every node of the
// first page's snapshot exactly once across pages while nodes come and go, the 410 for a token
// whose snapshot is gone, limit with filters, and the unpaginated list as before.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { createNode } from '../helpers/fixtures.js'
import { makeToken, startService, waitFor, type Service } from '../helpers/service.js'
import { FakeClock } from '../helpers/clock.js'
import { encodeContinue, PagedSnapshots, parseFieldSelector } from '../../src/nodes/pages.js'
import { isFailure } from '../../src/errors.js'
import type { NodeView } from '../../src/schemas/node.js'
import { NODE_FIELD_SELECTOR_PATTERN } from '../../src/shared/patterns.js'

const name = (i: number) => `n${String(i).padStart(2, '0')}`

interface Page { status: number; names: string[]; body: string; next?: string; etag: string | null }

/** GET a list URL (path under P or a Link target, which carries P already). */
async function get(svc: Service, path: string, underPrefix = true): Promise<Page> {
  const res = underPrefix ? await svc.api(path) : await fetch(`${svc.url}${path}`, { headers: { authorization: `Bearer ${makeToken()}` } })
  const body = await res.text()
  const link = res.headers.get('link')
  const next = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined
  if (link && !next) throw new Error(`Link header not in RFC 8288 form: ${link}`)
  const names = res.status === 200 ? (JSON.parse(body) as NodeView[]).map((n) => n.name) : []
  return { status: res.status, names, body, next, etag: res.headers.get('etag') }
}

/** Every page of a list, following Link rel="next"; `between` runs before each next page. */
async function allPages(svc: Service, first: string, between?: (page: number) => Promise<void>): Promise<Page[]> {
  const pages = [await get(svc, first)]
  while (pages.at(-1)!.next) {
    await between?.(pages.length)
    pages.push(await get(svc, pages.at(-1)!.next!, false))
  }
  return pages
}

eachBackend(t, 'paginated node list', async (t, b) => {
  for (let i = 0; i < 20; i++) {
    await createNode(b.clients, {
      name: name(i), cpu: '4', memory: '16Gi',
      labels: { pool: i % 2 === 0 ? 'even' : 'odd' }, ready: i % 5 !== 0, unschedulable: i % 3 === 0,
      createdAgoSeconds: 10 * 86_400, // an AGE text ("10d") that stays while the test compares bytes
    })
  }
  // One usage sample at start, none during the test: the list's bytes change only when nodes do.
  const svc = await startService(b.kc, { env: { METRICS_POLL_SECONDS: '600' } })
  t.teardown(() => svc.close())
  const listed = async () => (await get(svc, '/nodes')).names
  await waitFor(async () => (await listed()).length === 20, 20_000, '20 nodes in the cache')

  await t.test('without limit the list is as before; its pages concatenate to the same bytes', async (t) => {
    // Compared when the whole list (its ETag) is the same before and after the pages: a heartbeat
    // in between (the real API server's node controller) would change the bytes, so try again then.
    let whole!: Page
    let pages!: Page[]
    await waitFor(async () => {
      whole = await get(svc, '/nodes')
      pages = await allPages(svc, '/nodes?limit=6')
      return (await get(svc, '/nodes')).etag === whole.etag
    }, 20_000, 'a list unchanged while it is paged')
    t.ok(whole.etag, 'ETag as before')
    t.equal(whole.next, undefined, 'no Link header without limit')
    t.equal(JSON.stringify(JSON.parse(whole.body)), whole.body, 'the whole list is JSON.stringify of its views, as before')
    t.same(pages.map((p) => p.names.length), [6, 6, 6, 2])
    t.equal(pages.at(-1)!.next, undefined, 'the last page has no next')
    const joined = `[${pages.map((p) => p.body.slice(1, -1)).join(',')}]`
    t.equal(joined, whole.body, 'pages carry the very bytes of the whole list')
    t.match(pages[0]!.next, /^\/api\/plugins\/streamspace-node-manager\/nodes\?limit=6&continue=/, 'next URL keeps the path and the query')
  })

  await t.test('every node exactly once across pages while nodes are added and removed', async (t) => {
    const before = await listed()
    const seen = new Set(before)
    let added = 0
    const pages = await allPages(svc, '/nodes?limit=4', async (page) => {
      // Between pages: one node the pages have not reached yet goes, one appears among them, and
      // one already returned goes; the service's cache has seen both before the next page.
      const ahead = before[page * 4 + 1]!
      const behind = before[page * 4 - 2]!
      const newcomer = `${before[page * 4 + 2]}-new`
      await b.clients.core.deleteNode({ name: ahead })
      await b.clients.core.deleteNode({ name: behind })
      await createNode(b.clients, { name: newcomer, cpu: '4', memory: '16Gi' })
      added++
      await waitFor(async () => {
        const now = new Set(await listed())
        return !now.has(ahead) && !now.has(behind) && now.has(newcomer)
      }, 20_000, `cache saw ${ahead} and ${behind} go, ${newcomer} come`)
      seen.delete(ahead); seen.delete(behind); seen.add(newcomer)
    })
    const names = pages.flatMap((p) => p.names)
    t.same(names, before, 'each node of the first page\'s snapshot once, in order; none added later, none dropped')
    t.ok(added >= 3, `changes happened between pages (${added} rounds)`)
    t.same(new Set(await listed()), seen, 'meanwhile the live list did change')
  })

  await t.test('limit with labelSelector, ready and fieldSelector', async (t) => {
    const all = JSON.parse((await get(svc, '/nodes')).body) as NodeView[]
    const want = all.filter((n) => n.labels.pool === 'even' && n.status.ready && !n.unschedulable).map((n) => n.name)
    t.ok(want.length >= 3, `the filter selects several nodes (${want.join(' ')})`)
    t.ok(want.length < all.length)
    const q = 'labelSelector=pool%3Deven&ready=true&fieldSelector=spec.unschedulable%3Dfalse'
    t.same((await get(svc, `/nodes?${q}`)).names, want, 'unpaginated filtered list')
    const pages = await allPages(svc, `/nodes?${q}&limit=2`)
    t.same(pages.flatMap((p) => p.names), want, 'the same nodes, 2 a page')
    t.ok(pages.every((p) => p.names.length <= 2))
    t.equal(pages.length, Math.ceil(want.length / 2), 'no empty last page: Link only while more match')
    t.match(pages[0]!.next, /labelSelector=pool%3Deven&ready=true&fieldSelector=spec.unschedulable%3Dfalse&limit=2&continue=/)
    const cordoned = (await get(svc, '/nodes?fieldSelector=spec.unschedulable!%3Dfalse&limit=100')).names
    t.same(cordoned, all.filter((n) => n.unschedulable).map((n) => n.name), 'fieldSelector != reads as Kubernetes does')
  })

  await t.test('bad input: 400 naming the parameter', async (t) => {
    for (const [query, word] of [
      ['limit=0', 'limit'], ['limit=abc', 'limit'], ['continue=not-a-token', 'continue'],
      ['fieldSelector=metadata.name%3Dn01', 'fieldSelector'], ['fieldSelector=spec.unschedulable%3Dmaybe', 'fieldSelector'],
    ] as const) {
      const res = await svc.api(`/nodes?${query}`)
      t.equal(res.status, 400, query)
      t.match((await res.json() as { message: string }).message, word, `${query}: the message names ${word}`)
    }
  })

  await t.test('410 when the snapshot of a continue token is gone', async (t) => {
    // A well-formed token of a snapshot this process never kept (another replica's, or from before a restart).
    const res = await svc.api(`/nodes?limit=5&continue=${encodeContinue({ snapshot: 'elsewhere.1', after: 'n03' })}`)
    t.equal(res.status, 410)
    const body = await res.json() as { statusCode: number; error: string; message: string }
    t.equal(body.statusCode, 410)
    t.equal(body.error, 'Gone')
    t.match(body.message, /continue token has expired.*without the continue parameter/)
  })
})

t.test('snapshots are kept for their TTL after the last page, and at most `max` at once', async (t) => {
  const clock = new FakeClock()
  const kept = new PagedSnapshots<string>(() => clock.now(), { ttlMs: 60_000, max: 2 })
  const gone = (id: string) => {
    let err: unknown
    try { kept.get(id) } catch (e) { err = e }
    t.ok(isFailure(err, 'gone'), `${id} is gone`)
  }
  const a = kept.newId()
  kept.keep(a, 'A')
  clock.advance(59_000)
  t.equal(kept.get(a), 'A', 'within the TTL')
  kept.keep(a, 'A') // the next page refreshes it
  clock.advance(59_000)
  t.equal(kept.get(a), 'A', 'the TTL counts from the last page')
  clock.advance(1_001)
  gone(a)
  const [x, y, z] = [kept.newId(), kept.newId(), kept.newId()]
  t.not(x, y, 'ids are unique')
  kept.keep(x, 'X'); kept.keep(y, 'Y'); kept.keep(x, 'X'); kept.keep(z, 'Z')
  gone(y)
  t.equal(kept.get(x), 'X', 'the least recently paged goes first')
  t.equal(kept.size, 2)
  const other = new PagedSnapshots<string>(() => clock.now())
  t.not(other.newId(), x, 'another process (replica, restart) names its snapshots differently')
})

t.test('fieldSelector: spec.unschedulable only, as the API server reads it', async (t) => {
  t.equal(parseFieldSelector(undefined), undefined)
  t.equal(parseFieldSelector('spec.unschedulable=true'), true)
  t.equal(parseFieldSelector('spec.unschedulable==false'), false)
  t.equal(parseFieldSelector('spec.unschedulable!=true'), false)
  t.equal(parseFieldSelector('spec.unschedulable=true,spec.unschedulable!=false'), true)
  t.throws(() => parseFieldSelector('spec.unschedulable=true,spec.unschedulable=false'), /contradictory/)
  t.throws(() => parseFieldSelector('status.phase=Running'), /field "status.phase" is not supported/)
  t.throws(() => parseFieldSelector('spec.unschedulable'), /not a term/)
})

// Found by schemathesis: the document allowed any fieldSelector and the service refused most with
// 400 ("schema-valid request rejected"). The documented pattern and the parser agree.
t.test('fieldSelector: the documented pattern accepts exactly what the service serves', async (t) => {
  const pattern = new RegExp(NODE_FIELD_SELECTOR_PATTERN)
  const samples = ['', ' ', 'spec.unschedulable=true', 'spec.unschedulable==false', ' spec.unschedulable != true ', 'spec.unschedulable=true,spec.unschedulable!=false',
    'spec.unschedulable=true,spec.unschedulable=false', 'metadata.name=a', 'spec.unschedulable=yes', '0'.repeat(200), 'spec.unschedulable', 'spec.unschedulable=true,']
  for (const s of samples) {
    let served = true
    try { parseFieldSelector(s) } catch { served = false }
    t.equal(pattern.test(s), served, `${JSON.stringify(s.length > 40 ? `${s.slice(0, 20)}...` : s)}: ${served ? 'served' : 'refused'} by both`)
  }
})
