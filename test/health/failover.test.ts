// Two replicas of the service as real processes (`node --import tsx src/server.ts`, KUBE_MODE=kubeconfig)
// against one simulated cluster, with a real Alertmanager and a webhook receiver. The leader is
// killed with SIGKILL (no release): the other replica takes over within the lease duration plus a
// retry, and no alert is lost or doubled, neither in Alertmanager nor at the webhook.
import t from 'tap'
import { createServer } from 'node:http'
import { startBackend } from '../helpers/backend.js'
import { createNode, waitFor } from '../helpers/fixtures.js'
import { apiAt, startProcess, type Proc } from '../helpers/process.js'
import { moreHealthChecks } from '../helpers/service.js'
import { startAlertmanager } from '../helpers/alertmanager.js'
import { setReadyThroughStatus } from '../helpers/node-status.js'
import type { WebhookMessage } from '../../src/health/alerts.js'
import { LEADER_LEASE_NAME } from '../../src/kube/permissions.js'

type Replica = Proc & { name: string }

t.test('SIGKILL of the leader: takeover within lease + retry, no alert lost or doubled', async (t) => {
  const am = await startAlertmanager()
  t.teardown(() => am.stop())
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  for (const name of ['w1', 'w2', 'w3']) await createNode(b.clients, { name, cpu: '4', memory: '8Gi' })

  const hooks: WebhookMessage[] = []
  const receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => { body += d })
    req.on('end', () => { hooks.push(JSON.parse(body) as WebhookMessage); res.writeHead(200).end() })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => receiver.close(() => r())))
  const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/`

  const start = async (name: string): Promise<Replica> => ({
    name,
    ...await startProcess(t, b, name, {
      ALERTMANAGER_URL: am.url, ALERT_WEBHOOK_URL: hookUrl, HEALTH_GRACE_SECONDS: '2', HEALTH_CHECK_INTERVAL_MS: '1000', PUBLIC_URL: 'https://streamspace.example.com',
    }),
  })
  const health = async (r: Replica) => (await (await apiAt(r.url, '/cluster/health')).json()) as { leader: { identity: string | null; is_self: boolean }; last_check: string | null }
  const ours = async () => (await am.alerts()).filter((a) => a.labels.service === 'streamspace-node-manager')
  const firing = (node: string) => hooks.filter((h) => h.status === 'firing' && h.alerts[0].labels.node === node).length
  const resolved = (node: string) => hooks.filter((h) => h.status === 'resolved' && h.alerts[0].labels.node === node).length

  const replicas = [await start('replica-1'), await start('replica-2')]
  await waitFor(async () => (await Promise.all(replicas.map(health))).some((h) => h.leader.is_self), 20_000, 'a leader')
  const states = await Promise.all(replicas.map(health))
  t.equal(states.filter((h) => h.leader.is_self).length, 1, 'exactly one leader')
  const leader = replicas[states.findIndex((h) => h.leader.is_self)]
  const other = replicas.find((r) => r !== leader)!

  await setReadyThroughStatus(b.clients, 'w1', 'False')
  await setReadyThroughStatus(b.clients, 'w3', 'False')
  await waitFor(() => firing('w1') === 1 && firing('w3') === 1, 10_000, 'w1 and w3 paged')
  await waitFor(async () => (await ours()).length === 2, 5000, 'w1 and w3 in Alertmanager')

  const before = await b.clients.coordination.readNamespacedLease({ name: LEADER_LEASE_NAME, namespace: 'streamspace' })
  const lastRenew = new Date(before.spec!.renewTime as unknown as string).getTime()
  leader.child.kill('SIGKILL')
  const killedAt = Date.now()
  // While nobody leads: w2 fails and w3 recovers. The new leader must page w2 and resolve w3.
  await setReadyThroughStatus(b.clients, 'w2', 'False')
  await setReadyThroughStatus(b.clients, 'w3', 'True')
  await waitFor(async () => (await health(other)).leader.is_self, 30_000, 'takeover')
  const tookOver = Date.now()
  const lease = await b.clients.coordination.readNamespacedLease({ name: LEADER_LEASE_NAME, namespace: 'streamspace' })
  t.equal(lease.spec?.holderIdentity, other.name, 'the Lease names the survivor')
  t.equal(lease.spec?.leaseTransitions, 1, 'one transition')
  const sinceKill = tookOver - killedAt
  const sinceRenew = new Date(lease.spec!.acquireTime as unknown as string).getTime() - lastRenew
  t.comment(`takeover ${sinceKill} ms after SIGKILL; Lease acquired ${sinceRenew} ms after the dead leader's last renewal`)
  // Expiry counts from when the survivor saw the last renewal (up to one retry after it), then its
  // next try comes at most one retry (2 s, +20% jitter) later: 15 s + 2 x 2.4 s at worst.
  t.ok(sinceRenew <= 15_000 + 2 * 2_400 + 500, `within the lease duration plus retries of the last renewal (${sinceRenew} ms)`)
  t.ok(sinceKill <= 15_000 + 2 * 2_400 + 500, `within the lease duration plus retries of the SIGKILL (${sinceKill} ms)`)
  t.ok(sinceRenew >= 15_000, `not before the lease expired (${sinceRenew} ms)`)

  await waitFor(() => firing('w2') === 1, 10_000, 'w2 paged by the new leader (not lost)')
  await waitFor(() => resolved('w3') === 1, 10_000, 'w3, which recovered while nobody led, resolved by the new leader (not lost)')
  await waitFor(async () => (await ours()).map((a) => a.labels.node).sort().join() === 'w1,w2', 10_000, 'w1 and w2 in Alertmanager, w3 resolved')
  await moreHealthChecks((p) => apiAt(other.url, p))
  t.equal(firing('w1'), 1, 'w1 was not paged again by the new leader')
  t.equal(firing('w2'), 1, 'w2 paged once')
  t.equal(firing('w3'), 1, 'w3 paged once')
  t.equal(resolved('w3'), 1, 'w3 resolved once')
  t.same((await ours()).map((a) => a.labels.node).sort(), ['w1', 'w2'], 'Alertmanager: one alert per open incident, none doubled')

  await setReadyThroughStatus(b.clients, 'w1', 'True')
  await waitFor(() => resolved('w1') === 1, 10_000, 'w1 resolved by the new leader')
  await waitFor(async () => (await ours()).length === 1, 10_000, 'w1 gone from Alertmanager')
  // Events are written in the background, after Alertmanager has heard: wait for the resolved one.
  const ourEvents = async () => (await b.clients.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=Node,involvedObject.name=w1' }))
    .items.map((e) => e.reason).filter((r) => r?.startsWith('StreamSpace')).sort()
  await waitFor(async () => (await ourEvents()).length >= 2, 15_000, 'the resolved Event on w1').catch(() => undefined)
  t.same(await ourEvents(), ['StreamSpaceNodeNotReady', 'StreamSpaceNodeNotReadyResolved'], 'one firing and one resolved Event on w1')
  other.child.kill('SIGTERM')
  await other.exited
  const released = await b.clients.coordination.readNamespacedLease({ name: LEADER_LEASE_NAME, namespace: 'streamspace' })
  t.equal(released.spec?.holderIdentity ?? '', '', 'SIGTERM releases the Lease')
})
