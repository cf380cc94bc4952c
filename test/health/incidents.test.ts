// Incidents as NodeIncident objects against a real cluster (both backends), with the service in
// process: what was paged is remembered by the incidents, not by Events, so a change of leader
// (app.close(), what SIGTERM does) neither loses a webhook message nor pages twice. Issue 24,
// findings 1 and 2; each of these failed on the Event-marker design.
import t, { type Test } from 'tap'
import { createServer, type Server } from 'node:http'
import { eachBackend, type Backend } from '../helpers/backend.js'
import { createNode, ensureNamespace, waitFor } from '../helpers/fixtures.js'
import { moreHealthChecks, startService, type Service } from '../helpers/service.js'
import { startStack } from '../helpers/stack.js'
import type { WebhookMessage } from '../../src/health/alerts.js'
import type { IncidentObject } from '../../src/kube/incident-objects.js'
import { readmeReceiverCheck } from './readme-receiver.js'

const SECRET = 'webhook-secret-for-tests'

interface Received { status: number; delivery: string; message: WebhookMessage; signed: boolean }

/** A webhook receiver that answers `answer()` and keeps every request, checked with the README's code. */
async function receiver(t: Test, answer: () => number): Promise<{ url: string; got: Received[] }> {
  const verify = await readmeReceiverCheck()
  const got: Received[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => { body += d })
    req.on('end', () => {
      const status = answer()
      got.push({ status, delivery: String(req.headers['x-streamspace-delivery']), message: JSON.parse(body) as WebhookMessage, signed: verify(SECRET, req.headers['x-streamspace-signature'] as string, body) })
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections() }))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, got }
}

const env = (hook: string, name: string) => ({
  POD_NAME: name, POD_NAMESPACE: 'streamspace', ALERT_WEBHOOK_URL: hook, ALERT_WEBHOOK_SECRET: SECRET,
  HEALTH_GRACE_SECONDS: '2', HEALTH_CHECK_INTERVAL_MS: '1000', PUBLIC_URL: 'https://streamspace.example.com',
})

async function incidents(b: Backend): Promise<IncidentObject[]> {
  const list = await b.clients.custom.listClusterCustomObject({ group: 'nodes.stream.space', version: 'v1alpha1', plural: 'nodeincidents' }) as { items: IncidentObject[] }
  return list.items
}

const leads = async (s: Service) => s.app.health.isLeader()
const firingIds = (got: Received[]) => new Set(got.filter((r) => r.message.status === 'firing').map((r) => r.delivery))

eachBackend(t, 'a webhook down when the incident paged, the leader stopped, the receiver back: the next service delivers the firing message, one delivery id', async (t, b) => {
  await ensureNamespace(b.clients, 'streamspace')
  await createNode(b.clients, { name: 'w1', cpu: '4', memory: '8Gi' })
  let up = false
  const rx = await receiver(t, () => (up ? 200 : 503))
  const first = await startService(b.kc, { env: env(rx.url, 'replica-1') })
  let firstOpen = true
  t.teardown(() => (firstOpen ? first.close() : undefined))
  await waitFor(() => leads(first), 15_000, 'first leads')

  await b.setNodeReady('w1', false)
  await waitFor(() => rx.got.length >= 1, 15_000, 'the page reaches the receiver (503)')
  const [inc] = await incidents(b)
  t.match(inc, { spec: { node: 'w1', condition: 'Ready', alertname: 'StreamSpaceNodeNotReady' }, status: { state: 'firing', paged: true } }, 'the incident was written, paged')
  t.notOk(inc.status?.deliveries?.webhook?.firing, 'not delivered')
  await first.close() // SIGTERM: releases the Lease
  firstOpen = false
  const attempts = rx.got.length
  up = true

  const second = await startService(b.kc, { env: env(rx.url, 'replica-2') })
  t.teardown(() => second.close())
  await waitFor(() => rx.got.some((r) => r.status === 200), 20_000, 'delivered by the next service')
  await waitFor(async () => (await incidents(b))[0]?.status?.deliveries?.webhook?.firing !== undefined, 10_000, 'delivery recorded')
  await moreHealthChecks((p) => second.api(p))
  t.ok(attempts >= 1, `${attempts} refused attempt(s) before the stop`)
  const ids = firingIds(rx.got)
  t.equal(ids.size, 1, `one delivery id for the firing message: ${[...ids].join(', ')}`)
  t.equal([...ids][0], `${inc.metadata.name}/firing`, 'derived from the incident and the message kind')
  t.ok(rx.got.filter((r) => r.status === 200 && r.message.status === 'firing').length >= 1, 'received at least once')
  t.ok(rx.got.every((r) => r.signed), 'every attempt passes the README\'s signature check')
  t.match((await incidents(b))[0].status?.deliveries?.webhook?.firing, { result: 'delivered' })

  await b.setNodeReady('w1', true)
  await waitFor(() => rx.got.some((r) => r.message.status === 'resolved' && r.status === 200), 15_000, 'resolved delivered')
  t.same([...new Set(rx.got.filter((r) => r.message.status === 'resolved').map((r) => r.delivery))], [`${inc.metadata.name}/resolved`])
  const health = await (await second.api('/cluster/health')).json() as { alerts: { node: string; state: string; paged: boolean }[] }
  t.match(health.alerts, [{ node: 'w1', state: 'resolved', paged: true }], 'GET /cluster/health lists it from the incident')
})

eachBackend(t, 'Events gone (their TTL) and Ready False -> Unknown between two leaders: no second page, one incident, startsAt kept; followers list the same alerts', async (t, b) => {
  await ensureNamespace(b.clients, 'streamspace')
  await createNode(b.clients, { name: 'w1', cpu: '4', memory: '8Gi' })
  const rx = await receiver(t, () => 200)
  const first = await startService(b.kc, { env: env(rx.url, 'replica-1') })
  let firstOpen = true
  t.teardown(() => (firstOpen ? first.close() : undefined))
  await waitFor(() => leads(first), 15_000, 'first leads')
  await b.setNodeReady('w1', false)
  await waitFor(() => rx.got.some((r) => r.status === 200), 15_000, 'paged')
  const [inc] = await incidents(b)
  const follower = await startService(b.kc, { env: env(rx.url, 'replica-2') })
  t.teardown(() => follower.close())
  await waitFor(async () => ((await (await follower.api('/cluster/health')).json()) as { alerts: unknown[] }).alerts.length === 1, 10_000, 'the follower lists the alert')
  const seen = async (s: Service) => ((await (await s.api('/cluster/health')).json()) as { alerts: unknown[] }).alerts
  t.same(await seen(follower), await seen(first), 'leader and follower answer the same alerts')

  // The API server's --event-ttl (1 h) removes the Events; the kubelet stops reporting: Unknown.
  await waitFor(async () => (await b.clients.core.listNamespacedEvent({ namespace: 'default' })).items.some((e) => e.reason === 'StreamSpaceNodeNotReady'), 10_000, 'the firing Event')
  await b.clients.core.deleteCollectionNamespacedEvent({ namespace: 'default' })
  await first.close()
  firstOpen = false
  await b.setNodeReady('w1', 'Unknown')
  await waitFor(() => leads(follower), 15_000, 'the follower takes over')
  await moreHealthChecks((p) => follower.api(p))
  t.equal(firingIds(rx.got).size, 1, 'one firing message id in all')
  t.equal(rx.got.filter((r) => r.status === 200).length, 1, 'one page')
  const all = await incidents(b)
  t.equal(all.length, 1, 'one NodeIncident')
  t.equal(all[0].spec.startsAt, inc.spec.startsAt, 'startsAt unchanged')
  t.equal(all[0].status?.observed?.status, 'Unknown', 'the incident follows the condition')
  const events = await b.clients.core.listNamespacedEvent({ namespace: 'default' })
  t.equal(events.items.filter((e) => e.reason === 'StreamSpaceNodeNotReady').length, 0, 'no second firing Event')
})

t.test('Alertmanager answering 400 to the service: not retried, counted as dropped', async (t) => {
  const posts: string[] = []
  const am = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => { body += d })
    req.on('end', () => { posts.push(body); res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":400,"message":"bad alert"}') })
  })
  await new Promise<void>((r) => am.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => am.close(() => r())))
  const { backend: b, service: svc } = await startStack(t, {
    nodes: [{ name: 'w1', cpu: '4', memory: '8Gi' }],
    env: { POD_NAMESPACE: 'streamspace', ALERTMANAGER_URL: `http://127.0.0.1:${(am.address() as { port: number }).port}`, HEALTH_GRACE_SECONDS: '1', HEALTH_CHECK_INTERVAL_MS: '1000' },
  })
  await waitFor(() => svc.app.health.isLeader(), 15_000, 'leads')
  await b.setNodeReady('w1', false)
  await waitFor(() => posts.length >= 1, 15_000, 'posted')
  // A retry (backoff from 0.5 s) would come within the next two checks (1 s apart).
  await moreHealthChecks((p) => svc.api(p))
  t.equal(posts.length, 1, 'not retried (the next resend is a minute later)')
  const metrics = await (await fetch(`${svc.url}/metrics`)).text()
  t.match(metrics, /streamspace_node_manager_alerts_sent_total\{receiver="alertmanager",result="dropped"\} 1/)
  // Every result of a configured receiver is exported from the start; failure stays at 0.
  t.match(metrics, /streamspace_node_manager_alerts_sent_total\{receiver="alertmanager",result="failure"\} 0\n/)
  await waitFor(async () => (await incidents(b))[0]?.status?.deliveries?.[`alertmanager http://127.0.0.1:${(am.address() as { port: number }).port}`]?.firing?.result === 'dropped', 10_000, 'recorded as dropped in the incident')
})
