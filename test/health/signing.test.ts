// Finding 4: the webhook signature covered the body only, so a captured request could be replayed
// at any time. Now it is Stripe's scheme (t=<unix seconds>,v1=<HMAC of "<t>.<body>">), checked here
// with the receiver's code from the README on requests the service's webhook queue really sent.
import t from 'tap'
import { createServer } from 'node:http'
import { FakeClock } from '../helpers/clock.js'
import { waitFor } from '../helpers/fixtures.js'
import { signWebhook, WebhookQueue, webhookMessage, type PostableAlert } from '../../src/health/alerts.js'
import { readmeReceiverCheck } from './readme-receiver.js'

const alert: PostableAlert = {
  labels: { alertname: 'StreamSpaceNodeNotReady', node: 'w1', condition: 'Ready', severity: 'critical', service: 'streamspace-node-manager' },
  annotations: { summary: 'Node w1 is NotReady', description: 'x' }, startsAt: '2026-01-01T00:00:00.000Z', endsAt: '2026-01-01T00:04:00.000Z', generatorURL: 'https://x/w1',
}

t.test('the README\'s receiver check: a good request passes; a replay with an old timestamp, a tampered body, a wrong secret fail', async (t) => {
  const verify = await readmeReceiverCheck()
  const secret = 'webhook-secret-for-tests'
  const got: { body: string; signature: string; delivery: string }[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => { body += d })
    req.on('end', () => {
      got.push({ body, signature: String(req.headers['x-streamspace-signature']), delivery: String(req.headers['x-streamspace-delivery']) })
      res.writeHead(verify(secret, req.headers['x-streamspace-signature'] as string, body) ? 200 : 401).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const clock = new FakeClock(Date.now())
  const q = new WebhookQueue({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, secret, clock })
  t.teardown(() => q.close())
  let delivered = false
  q.enqueue(webhookMessage(alert, 'firing', 'https://streamspace.example.com'), { id: 'w1.ready.1767225600000/firing', onDelivered: () => { delivered = true } })
  await waitFor(() => delivered, 5000, 'accepted by a receiver that checks the signature')
  const [req] = got
  t.match(req.signature, /^t=\d+,v1=[0-9a-f]{64}$/, 'X-StreamSpace-Signature: t=<unix seconds>,v1=<hex>')
  t.equal(req.delivery, 'w1.ready.1767225600000/firing', 'X-StreamSpace-Delivery')
  t.equal(verify(secret, req.signature, req.body), true, 'a good request passes')
  t.equal(verify(secret, req.signature, Buffer.from(req.body)), true, 'also as a Buffer')

  t.equal(verify(secret, req.signature, req.body, Date.now() + 6 * 60_000), false, 'replayed 6 minutes later: refused')
  t.equal(verify(secret, req.signature, req.body, Date.now() + 4 * 60_000), true, 'within the 5-minute tolerance: accepted')
  const old = signWebhook(secret, req.body, Math.floor(Date.now() / 1000) - 3600)
  t.equal(verify(secret, old, req.body), false, 'a correctly signed request from an hour ago: refused')
  t.equal(verify(secret, req.signature, req.body.replace('"firing"', '"resolved"')), false, 'a tampered body: refused')
  const t0 = /^t=(\d+)/.exec(req.signature)![1]
  t.equal(verify(secret, req.signature.replace(`t=${t0}`, `t=${Number(t0) + 1}`), req.body), false, 'a changed timestamp: refused')
  t.equal(verify('another-secret', req.signature, req.body), false, 'another secret: refused')
  t.equal(verify(secret, undefined, req.body), false, 'no header: refused')
  t.equal(verify(secret, 'sha256=' + req.signature.split('v1=')[1], req.body), false, 'the old body-only format: refused')
})
