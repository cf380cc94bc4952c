// The senders on their own, against real local HTTP servers: the webhook queue is bounded and never
// makes its caller wait; Alertmanager's outbox retries with backoff and coalesces resends.
import t from 'tap'
import { createServer, type Server } from 'node:http'
import { FakeClock } from '../helpers/clock.js'
import { waitFor } from '../helpers/fixtures.js'
import { AlertmanagerOutbox, fingerprint, signBody, WebhookQueue, webhookMessage, type PostableAlert } from '../../src/health/alerts.js'

const alert = (node: string, endsAt = '2026-01-01T00:04:00.000Z'): PostableAlert => ({
  labels: { alertname: 'StreamSpaceNodeNotReady', node, condition: 'Ready', severity: 'critical', service: 'streamspace-node-manager' },
  annotations: { summary: `Node ${node} is NotReady`, description: 'x' },
  startsAt: '2026-01-01T00:00:00.000Z', endsAt, generatorURL: `https://x/${node}`,
})

async function listen(handler: (body: string) => number): Promise<{ server: Server; url: string; bodies: string[] }> {
  const bodies: string[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => { body += d })
    req.on('end', () => { bodies.push(body); res.writeHead(handler(body)).end() })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, bodies }
}

t.test('webhook queue: a receiver that hangs never blocks the caller; the queue stays bounded', async (t) => {
  let arrived = 0
  const hang = createServer(() => { arrived++ }) // accepts, never answers
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => { hang.close(() => r()); hang.closeAllConnections() }))
  const counts: Record<string, number> = {}
  const q = new WebhookQueue({ url: `http://127.0.0.1:${(hang.address() as { port: number }).port}/`, clock: new FakeClock(), maxQueue: 5, timeoutMs: 60_000, count: (r, res, n) => { counts[`${r}/${res}`] = (counts[`${r}/${res}`] ?? 0) + n } })
  t.teardown(() => q.close())
  q.enqueue(webhookMessage(alert('first'), 'firing', 'x'))
  await waitFor(() => arrived === 1, 5000, 'first request in flight (and hanging)')
  const started = performance.now()
  for (let i = 0; i < 100; i++) q.enqueue(webhookMessage(alert(`n${i}`), 'firing', 'x'))
  const took = performance.now() - started
  // One request to this receiver takes the full timeout (60 s here): enqueue never waits for it.
  t.ok(took < 500, `100 enqueues while the receiver hangs took ${took.toFixed(1)} ms`)
  t.equal(q.size, 5, 'at most 5 waiting (the one in flight counts)')
  t.equal(q.dropped, 96, 'the oldest dropped, counted')
  t.equal(counts['webhook/dropped'], 96)
  t.equal(arrived, 1, 'one request at a time')
})

t.test('webhook queue: gives up after maxAttempts (counted), then delivers the next, signed', async (t) => {
  let fail = true
  const rx = await listen(() => (fail ? 503 : 200))
  t.teardown(() => new Promise<void>((r) => rx.server.close(() => r())))
  const clock = new FakeClock()
  const q = new WebhookQueue({ url: rx.url, secret: 's3cret', clock, maxAttempts: 3 })
  t.teardown(() => q.close())
  q.enqueue(webhookMessage(alert('a'), 'firing', 'x'))
  q.enqueue(webhookMessage(alert('b'), 'firing', 'x'))
  await waitFor(() => rx.bodies.length === 1, 5000, 'first attempt')
  await clock.tick(500)
  await waitFor(() => rx.bodies.length === 2, 5000, 'second attempt after 0.5 s')
  fail = false
  // third attempt of "a" fails? No: the receiver is back, so "a" is delivered on its third try.
  await clock.tick(1000)
  await waitFor(() => q.delivered === 2, 5000, 'both delivered')
  t.same(rx.bodies.map((b) => JSON.parse(b).alerts[0].labels.node), ['a', 'a', 'a', 'b'], 'in order, retried with backoff')
  t.equal(q.dropped, 0)

  fail = true
  q.enqueue(webhookMessage(alert('c'), 'firing', 'x'))
  await waitFor(() => rx.bodies.length === 5, 5000, 'c attempt 1')
  await clock.tick(500)
  await waitFor(() => rx.bodies.length === 6, 5000, 'c attempt 2')
  await clock.tick(1000)
  await waitFor(() => q.dropped === 1, 5000, 'c dropped after 3 attempts')
  t.equal(q.size, 0)
  t.equal(signBody('s3cret', rx.bodies[3]), 'sha256=' + (await import('node:crypto')).createHmac('sha256', 's3cret').update(rx.bodies[3]).digest('hex'))
})

t.test('Alertmanager outbox: failures retried with backoff; a newer version of an alert replaces the waiting one', async (t) => {
  let failures = 2
  const rx = await listen(() => (failures-- > 0 ? 500 : 200))
  t.teardown(() => new Promise<void>((r) => rx.server.close(() => r())))
  const clock = new FakeClock()
  const counts: Record<string, number> = {}
  const out = new AlertmanagerOutbox(rx.url, { clock, count: (r, res, n) => { counts[`${r}/${res}`] = (counts[`${r}/${res}`] ?? 0) + n } })
  t.teardown(() => out.close())
  out.put([alert('w1'), alert('w2')])
  await waitFor(() => rx.bodies.length === 1, 5000, 'first POST')
  out.put([alert('w1', '2026-01-01T00:05:00.000Z')]) // a resend while the first failed
  await clock.tick(500)
  await waitFor(() => rx.bodies.length === 2, 5000, 'retry after 0.5 s')
  await clock.tick(1000)
  await waitFor(() => rx.bodies.length === 3 && out.size === 0, 5000, 'retry after 1 s succeeds')
  const last = JSON.parse(rx.bodies[2]) as PostableAlert[]
  t.same(last.map((a) => [a.labels.node, a.endsAt]).sort(), [['w1', '2026-01-01T00:05:00.000Z'], ['w2', '2026-01-01T00:04:00.000Z']], 'one entry per alert, the newest')
  t.same(counts, { 'alertmanager/failure': 4, 'alertmanager/success': 2 })
  t.match(JSON.parse(rx.bodies[0])[0].labels, { alertname: 'StreamSpaceNodeNotReady' })
})

t.test('fingerprint is Prometheus\' label-set hash', async (t) => {
  // Alertmanager gave c354400f374dc574 for {alertname="X", node="w1"} (seen through its v2 API).
  t.equal(fingerprint({ node: 'w1', alertname: 'X' }), 'c354400f374dc574')
})
