// Alerts end to end with a real Alertmanager (Debian's package): a node made NotReady through the
// status subresource pages exactly once, within one check interval plus the grace, and resolves when
// Ready again; two replicas still page once; a webhook that fails three times gets the alert once,
// signed. The cluster is the simulator (src/sim) over HTTP; the service runs in-process.
import t from 'tap'
import { createServer, type IncomingMessage } from 'node:http'
import { waitFor } from '../helpers/fixtures.js'
import { startStack } from '../helpers/stack.js'
import { makeToken, moreHealthChecks, startService, type Service } from '../helpers/service.js'
import { startAlertmanager, type Alertmanager } from '../helpers/alertmanager.js'
import { fingerprint, type WebhookMessage } from '../../src/health/alerts.js'
import { LEADER_LEASE_NAME } from '../../src/kube/permissions.js'
import { setReadyThroughStatus } from '../helpers/node-status.js'
import { readmeReceiverCheck } from './readme-receiver.js'

const ENV = (am: Alertmanager, extra: Record<string, string> = {}) => ({
  ALERTMANAGER_URL: am.url,
  HEALTH_GRACE_SECONDS: '2',
  HEALTH_CHECK_INTERVAL_MS: '1000',
  POD_NAMESPACE: 'streamspace',
  PUBLIC_URL: 'https://streamspace.example.com',
  ...extra,
})

const ours = (alerts: Awaited<ReturnType<Alertmanager['alerts']>>) => alerts.filter((a) => a.labels.service === 'streamspace-node-manager')

t.test('alerts through a real Alertmanager', async (t) => {
  const am = await startAlertmanager()
  t.teardown(() => am.stop())
  const nodes = [{ name: 'w1', cpu: '4', memory: '8Gi' }, { name: 'w2', cpu: '4', memory: '8Gi' }]

  await t.test('NotReady through nodes/status: one alert within interval + grace; resolved when Ready', async (t) => {
    const { backend: b, service: svc } = await startStack(t, { nodes, env: ENV(am) })
    await waitFor(() => svc.app.health.isLeader(), 10_000, 'leader')
    t.same(ours(await am.alerts()), [], 'nothing while healthy')
    t.equal((await svc.api('/cluster/health', { token: null })).status, 401, 'no token: 401')
    t.equal((await svc.api('/cluster/health', { token: makeToken({ role: 'user' }) })).status, 403, 'not an admin: 403')
    const healthy = await (await svc.api('/cluster/health')).json() as { status: string; nodes: unknown[]; alerts: unknown[] }
    t.match(healthy, { status: 'healthy', nodes: [], alerts: [] })

    const changed = Date.now()
    await setReadyThroughStatus(b.clients, 'w1', 'False')
    await waitFor(async () => ours(await am.alerts()).length > 0, 10_000, 'alert in Alertmanager')
    const took = Date.now() - changed
    t.ok(took <= 1000 + 2000 + 1000, `alert in Alertmanager ${took} ms after the change (interval 1 s + grace 2 s, 1 s slack)`)
    t.ok(took >= 2000, `not before the grace (${took} ms)`)
    await moreHealthChecks((p) => svc.api(p))
    const alerts = ours(await am.alerts())
    t.equal(alerts.length, 1, 'exactly one alert')
    const a = alerts[0]
    t.same(a.labels, { alertname: 'StreamSpaceNodeNotReady', node: 'w1', condition: 'Ready', severity: 'critical', service: 'streamspace-node-manager' })
    t.equal(a.fingerprint, fingerprint(a.labels), 'our fingerprint is Alertmanager\'s')
    t.equal(a.generatorURL, 'https://streamspace.example.com/api/plugins/streamspace-node-manager/admin/nodes/w1')
    t.match(a.annotations.summary, /w1 is NotReady/)
    t.equal(a.status.state, 'active')
    const endsIn = Date.parse(a.endsAt) - Date.now()
    t.ok(endsIn > 200_000 && endsIn <= 240_000, `endsAt about now + 4 min (${endsIn} ms)`)

    const health = await (await svc.api('/cluster/health')).json() as { status: string; nodes: { name: string; phase: string; conditions: { type: string; reason: string }[] }[]; alerts: { node: string; state: string; paged: boolean }[]; leader: { is_self: boolean; identity: string }; last_check: string }
    t.equal(health.status, 'critical', 'half the nodes are not Ready')
    t.same(health.nodes.map((n) => [n.name, n.phase, n.conditions[0].type, n.conditions[0].reason]), [['w1', 'NotReady', 'Ready', 'KubeletNotReady']])
    t.match(health.alerts, [{ node: 'w1', state: 'firing', paged: true }])
    t.equal(health.leader.is_self, true)
    t.ok(health.last_check, 'last_check set')
    const events = await b.clients.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=Node,involvedObject.name=w1' })
    t.equal(events.items.filter((e) => e.reason === 'StreamSpaceNodeNotReady').length, 1, 'one Warning Event on the node')
    const lease = await b.clients.coordination.readNamespacedLease({ name: LEADER_LEASE_NAME, namespace: 'streamspace' })
    t.equal(lease.spec?.holderIdentity, health.leader.identity, 'the Lease in POD_NAMESPACE names the leader')

    await setReadyThroughStatus(b.clients, 'w1', 'True')
    await waitFor(async () => ours(await am.alerts()).length === 0, 5000, 'resolved in Alertmanager')
    const after = await (await svc.api('/cluster/health')).json() as typeof health & { alerts: { state: string; ends_at: string }[] }
    t.equal(after.status, 'healthy')
    t.match(after.alerts, [{ state: 'resolved' }], 'recently resolved alert listed')
    const metrics = await (await fetch(`${svc.url}/metrics`)).text()
    t.match(metrics, /streamspace_node_manager_leader 1/)
    t.match(metrics, /streamspace_node_manager_alerts_sent_total\{receiver="alertmanager",result="success"\} [1-9]/)
  })

  await t.test('two replicas against one cluster: one leader, exactly one alert', async (t) => {
    const { backend: b, service: r1 } = await startStack(t, { nodes, env: ENV(am, { POD_NAME: 'replica-1' }) })
    const r2 = await startService(b.kc, { env: ENV(am, { POD_NAME: 'replica-2' }) })
    t.teardown(() => r2.close())
    await waitFor(() => r1.app.health.isLeader() || r2.app.health.isLeader(), 10_000, 'a leader')
    // Both replicas have read the Lease: each names the same leader.
    const leaderSeenBy = async (s: Service) => ((await (await s.api('/cluster/health')).json()) as { leader: { identity: string | null } }).leader.identity
    await waitFor(async () => { const [a, c] = [await leaderSeenBy(r1), await leaderSeenBy(r2)]; return !!a && a === c }, 10_000, 'both replicas to name the same leader')
    t.equal(Number(r1.app.health.isLeader()) + Number(r2.app.health.isLeader()), 1, 'exactly one leader')
    const leader = r1.app.health.isLeader() ? r1 : r2
    const follower = leader === r1 ? r2 : r1
    const followerHealth = await (await follower.api('/cluster/health')).json() as { leader: { identity: string; is_self: boolean } }
    t.same(followerHealth.leader, { identity: leader === r1 ? 'replica-1' : 'replica-2', is_self: false }, 'the follower names the leader')

    await setReadyThroughStatus(b.clients, 'w2', 'False')
    await waitFor(async () => ours(await am.alerts()).length > 0, 10_000, 'alert')
    await moreHealthChecks((p) => leader.api(p))
    t.equal(ours(await am.alerts()).length, 1, 'exactly one alert in Alertmanager')
    const sent = (s: Service) => s.app.health.alertsSent.get('alertmanager/success') ?? 0
    t.ok(sent(leader) >= 1, 'the leader sent it')
    t.equal(sent(follower), 0, 'the follower sent nothing')
    const events = await b.clients.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=Node,involvedObject.name=w2' })
    t.equal(events.items.filter((e) => e.reason === 'StreamSpaceNodeNotReady').length, 1, 'one Event')

    // The leader stops (released Lease): the follower takes over at once and keeps the same alert.
    await leader.close()
    await waitFor(() => follower.app.health.isLeader(), 5000, 'follower takes over after a release')
    await moreHealthChecks((p) => follower.api(p))
    t.equal(ours(await am.alerts()).length, 1, 'still exactly one alert after the takeover')
    const events2 = await b.clients.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=Node,involvedObject.name=w2' })
    t.equal(events2.items.filter((e) => e.reason === 'StreamSpaceNodeNotReady').length, 1, 'the new leader did not page again')
    await setReadyThroughStatus(b.clients, 'w2', 'True')
    await waitFor(async () => ours(await am.alerts()).length === 0, 5000, 'the new leader resolves it')
  })

  await t.test('a webhook that fails three times, then succeeds, gets the alert once, signed', async (t) => {
    const secret = 'webhook-secret-for-tests'
    const received: { body: string; signature: string; delivery: string; status: number }[] = []
    const receiver = createServer((req: IncomingMessage, res) => {
      let body = ''
      req.on('data', (d) => { body += d })
      req.on('end', () => {
        const status = received.length < 3 ? 500 : 200
        received.push({ body, signature: String(req.headers['x-streamspace-signature'] ?? ''), delivery: String(req.headers['x-streamspace-delivery'] ?? ''), status })
        res.writeHead(status).end()
      })
    })
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()))
    t.teardown(() => new Promise<void>((r) => receiver.close(() => r())))
    const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`
    const { backend: b, service: svc } = await startStack(t, { nodes, env: ENV(am, { ALERT_WEBHOOK_URL: hookUrl, ALERT_WEBHOOK_SECRET: secret }) })
    await waitFor(() => svc.app.health.isLeader(), 10_000, 'leader')

    await setReadyThroughStatus(b.clients, 'w1', 'False')
    await waitFor(() => received.some((r) => r.status === 200), 20_000, 'webhook delivered')
    await moreHealthChecks((p) => svc.api(p))
    t.equal(received.length, 4, 'three failures, one success')
    t.equal(received.filter((r) => r.status === 200).length, 1, 'received once')
    t.ok(received.every((r) => r.body === received[0].body), 'each retry is the same message')
    t.ok(received[0].delivery && received.every((r) => r.delivery === received[0].delivery), 'the same X-StreamSpace-Delivery on every attempt')
    const ok = received[3]
    // Changed on purpose (issue 24, finding 4): t=<unix seconds>,v1=<HMAC of "<t>.<body>">, checked as the README shows.
    const verify = await readmeReceiverCheck()
    t.ok(received.every((r) => verify(secret, r.signature, r.body)), 'X-StreamSpace-Signature passes the README\'s receiver check')
    const msg = JSON.parse(ok.body) as WebhookMessage
    t.equal(msg.version, '4')
    t.equal(msg.status, 'firing')
    t.equal(msg.alerts.length, 1)
    t.match(msg.alerts[0], { status: 'firing', labels: { alertname: 'StreamSpaceNodeNotReady', node: 'w1' } })
    t.equal(msg.alerts[0].fingerprint, ours(await am.alerts())[0].fingerprint, 'the fingerprint Alertmanager gives the same alert')
    t.ok(msg.groupKey && msg.receiver && msg.externalURL === 'https://streamspace.example.com', 'groupKey, receiver, externalURL')
    t.equal(svc.app.health.alertsSent.get('webhook/failure'), 3)
    t.equal(svc.app.health.alertsSent.get('webhook/success'), 1)

    await setReadyThroughStatus(b.clients, 'w1', 'True')
    await waitFor(() => received.length === 5, 10_000, 'resolved delivered')
    t.equal((JSON.parse(received[4].body) as WebhookMessage).status, 'resolved')
  })
})
