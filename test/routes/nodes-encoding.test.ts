// GET P/nodes compressed: the prepared list kept gzip- and brotli-compressed, chosen by
// Accept-Encoding (Vary), each representation with its own ETag that changes only when the list's
// bytes do; 304 answers each. Read with undici's request (no automatic decoding: the bytes on the wire).
import t from 'tap'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { request } from 'undici'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import { startService, makeToken, API_PREFIX, waitFor } from '../helpers/service.js'
import { encodedEtag, negotiateEncoding, noneMatch } from '../../src/routes/encoding.js'
import { kubeRequest } from '../helpers/fixtures.js'

t.test('Accept-Encoding negotiation', async (t) => {
  t.equal(negotiateEncoding(undefined), undefined, 'no header: identity')
  t.equal(negotiateEncoding(''), undefined)
  t.equal(negotiateEncoding('gzip'), 'gzip')
  t.equal(negotiateEncoding('gzip, deflate, br'), 'br', 'a tie goes to brotli')
  t.equal(negotiateEncoding('br;q=0.5, gzip;q=0.8'), 'gzip', 'the higher q wins')
  t.equal(negotiateEncoding('gzip;q=0, br;q=0'), undefined, 'q=0 refuses')
  t.equal(negotiateEncoding('identity'), undefined)
  t.equal(negotiateEncoding('deflate'), undefined, 'nothing offered')
  t.equal(negotiateEncoding('*'), 'br', '* stands for any')
  t.equal(negotiateEncoding('*;q=0.3, br;q=0'), 'gzip', '* for those not named')
  t.equal(negotiateEncoding(' GZIP ; Q=1 '), 'gzip', 'case and spaces')
  t.equal(encodedEtag('"abc"', 'gzip'), '"abc-gzip"')
  t.equal(encodedEtag('"abc"', undefined), '"abc"')
  t.ok(noneMatch('"x", "abc"', '"abc"'))
  t.ok(noneMatch('W/"abc"', '"abc"'), 'weak comparison')
  t.ok(noneMatch('*', '"abc"'))
  t.notOk(noneMatch('"abc-gzip"', '"abc"'), 'another representation\'s tag does not match')
  t.notOk(noneMatch(undefined, '"abc"'))
})

t.test('the node list compressed: same JSON, Vary, own ETags, 304, made once per change', async (t) => {
  // Seeded nodes are old (no AGE text changes each second) and without metrics.k8s.io no usage moves:
  // the list's bytes change only when the test changes something shown.
  const sim = await startSim({ nodes: 40, podsPerNode: 3, metrics: false })
  const kc = new KubeConfig()
  kc.loadFromString(sim.kubeconfig())
  const svc = await startService(kc)
  t.teardown(async () => { await svc.close(); await sim.close() })
  const auth = { authorization: `Bearer ${makeToken()}` }
  const get = async (headers: Record<string, string>, query = '') => {
    const res = await request(`${svc.url}${API_PREFIX}/nodes${query}`, { headers: { ...auth, ...headers } })
    const body = Buffer.from(await res.body.arrayBuffer())
    return { status: res.statusCode, headers: res.headers, body }
  }

  const plain = await get({})
  t.equal(plain.status, 200)
  t.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: identity')
  t.match(plain.headers.vary, /Accept-Encoding/i, 'Vary: Accept-Encoding')
  const list = JSON.parse(plain.body.toString()) as { name: string }[]
  t.equal(list.length, 40)
  const etag = plain.headers.etag as string

  for (const [encoding, decode] of [['gzip', gunzipSync], ['br', brotliDecompressSync]] as const) {
    const res = await get({ 'accept-encoding': encoding })
    t.equal(res.status, 200)
    t.equal(res.headers['content-encoding'], encoding, `${encoding}: Content-Encoding`)
    t.match(res.headers.vary, /Accept-Encoding/i)
    t.ok(res.body.length < plain.body.length / 3, `${encoding}: ${res.body.length} bytes for ${plain.body.length}`)
    t.ok(decode(res.body).equals(plain.body), `${encoding}: decodes to the same JSON bytes`)
    t.equal(res.headers.etag, encodedEtag(etag, encoding), `${encoding}: its own ETag`)
    t.equal(Number(res.headers['content-length']), res.body.length)

    const again = await get({ 'accept-encoding': encoding, 'if-none-match': res.headers.etag as string })
    t.equal(again.status, 304, `${encoding}: 304 to its own ETag`)
    t.equal(again.body.length, 0)
    t.equal(again.headers.etag, res.headers.etag)
    t.match(again.headers.vary, /Accept-Encoding/i, `${encoding}: Vary on the 304 too`)
    t.equal((await get({ 'if-none-match': res.headers.etag as string })).status, 200, `${encoding}: its ETag does not revalidate the identity list`)
  }
  t.equal((await get({ 'if-none-match': etag })).status, 304, 'identity 304 as before')
  t.equal((await get({ 'accept-encoding': 'gzip', 'if-none-match': etag })).status, 200, 'the identity ETag does not revalidate the gzip list')
  t.equal((await get({ 'accept-encoding': 'gzip;q=0' })).headers['content-encoding'], undefined, 'gzip;q=0: identity')
  const filtered = await get({ 'accept-encoding': 'gzip' }, '?ready=true')
  t.equal(filtered.headers['content-encoding'], undefined, 'a filtered list is rendered per request: not compressed')
  t.equal(filtered.headers.etag, undefined, 'and has no ETag')
  t.equal((JSON.parse(filtered.body.toString()) as unknown[]).length, 40)

  // Compressed once per change: the read model hands out the same buffers while the bytes stay.
  const reads = svc.app.nodes
  const prepared = reads.preparedList()
  const gz = await reads.encodedList(prepared, 'gzip')
  t.equal(await reads.encodedList(reads.preparedList(), 'gzip'), gz, 'the same compressed buffer for the same list')

  // Heartbeats: every node's status renewed (watch events, new cache versions), nothing shown changes.
  const version = svc.app.cluster.version
  sim.cluster.startHeartbeats(1)
  await waitFor(() => svc.app.cluster.version > version + 40, 15_000, 'heartbeats seen by the cache')
  await new Promise((r) => setTimeout(r, 150)) // past the list's rebuild interval
  const afterBeats = reads.preparedList()
  t.equal(afterBeats.etag, prepared.etag, 'heartbeats keep the ETag')
  t.equal(afterBeats, prepared, 'and the prepared list itself')
  t.equal(await reads.encodedList(afterBeats, 'gzip'), gz, 'so nothing is compressed again')
  t.equal((await get({ 'accept-encoding': 'gzip', 'if-none-match': encodedEtag(etag, 'gzip') })).status, 304, 'a polling client still gets 304')

  // A change that shows: new bytes, new ETags, new compressed bytes that decode to them.
  await kubeRequest(kc, 'PATCH', `/api/v1/nodes/${list[0].name}`, { metadata: { labels: { changed: 'yes' } } }, 'application/merge-patch+json')
  await waitFor(async () => (await get({ 'if-none-match': etag })).status === 200, 10_000, 'new list')
  const changedPlain = await get({})
  const changed = await get({ 'accept-encoding': 'gzip' })
  t.not(changed.headers.etag, encodedEtag(etag, 'gzip'), 'the gzip ETag changed with the bytes')
  t.equal(changed.headers.etag, encodedEtag(changedPlain.headers.etag as string, 'gzip'))
  t.ok(gunzipSync(changed.body).equals(changedPlain.body), 'the new compressed list decodes to the new JSON')
  t.match(changedPlain.body.toString(), /"changed":"yes"/)
})
