// The leader's duties (app.health.onLeadership) on the simulator. They start only once the caches
// they read have synced (client-go's WaitForCacheSync): before the first pod LIST ends,
// podsOnNode() is [] and a resumed plan would take a node's sessions for ended. A proxy in front of
// the simulator holds the service's pod LISTs for 3 s: the service leads at once, yet no duty starts
// before its pod cache has synced; one that closes while waiting starts none. And on close every
// duty has stopped before the Lease is released.
import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { startBackend } from '../helpers/backend.js'
import { createNode, createPod, waitFor } from '../helpers/fixtures.js'
import { startService, type Service } from '../helpers/service.js'
import { kubeconfigFor } from '../../src/sim/kubeconfig.js'
import { LEADER_LEASE_NAME } from '../../src/kube/permissions.js'
import { delayingProxy } from '../helpers/proxy.js'
import { startStack } from '../helpers/stack.js'

const POD_LIST_DELAY_MS = 3_000

const leads = async (svc: Service) => ((await (await svc.api('/cluster/health')).json()) as { leader: { is_self: boolean } }).leader.is_self

t.test('a new leader whose pod LIST is slow starts no duty before the pod cache has synced', async (t) => {
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  await createNode(b.clients, { name: 'w1', cpu: '4', memory: '8Gi' })
  await createPod(b.clients, { name: 'desktop-1', namespace: 'streamspace', node: 'w1', labels: { app: 'streamspace-session', session: 'desktop-1', user: 'alice' } })
  const proxy = await delayingProxy(b.sim!.url, POD_LIST_DELAY_MS)
  t.teardown(() => { proxy.server.closeAllConnections(); proxy.server.close() })
  const kc = new KubeConfig()
  kc.loadFromString(kubeconfigFor(proxy.url))

  const svc = await startService(kc, { waitReady: false, env: { POD_NAME: 'slow-lister', POD_NAMESPACE: 'streamspace' } })
  t.teardown(() => svc.close())
  const starts: { podCacheSynced: boolean; sessionPodsOnW1: number }[] = []
  svc.app.health.onLeadership(() => {
    starts.push({ podCacheSynced: svc.app.cluster.podReflector.synced, sessionPodsOnW1: svc.app.cluster.podsOnNode('w1').length })
  }, () => undefined)

  await waitFor(() => leads(svc), 10_000, 'the service leads')
  t.equal(svc.app.cluster.podReflector.synced, false, 'it leads while its pod LIST is still held')
  t.equal(svc.app.health.stillLeading(), true, 'and says so to its runners')
  t.same(starts, [], 'no duty started yet')
  t.equal(svc.app.health.monitor.isRunning, false, 'the health monitor has not started yet')
  await waitFor(() => starts.length > 0, 15_000, 'duties started')
  t.same(starts, [{ podCacheSynced: true, sessionPodsOnW1: 1 }], 'the duty started once the pod cache had synced, and saw the session pod')
  t.equal(await leads(svc), true, 'still the leader')
  t.equal(svc.app.health.monitor.isRunning, true, 'the health monitor runs')
})

t.test('a leader closed while waiting for its caches starts no duty', async (t) => {
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  await createNode(b.clients, { name: 'w1', cpu: '4', memory: '8Gi' })
  const proxy = await delayingProxy(b.sim!.url, POD_LIST_DELAY_MS)
  t.teardown(() => { proxy.server.closeAllConnections(); proxy.server.close() })
  const kc = new KubeConfig()
  kc.loadFromString(kubeconfigFor(proxy.url))

  const svc = await startService(kc, { waitReady: false, env: { POD_NAME: 'closing', POD_NAMESPACE: 'streamspace' } })
  let started = 0
  svc.app.health.onLeadership(() => { started++ }, () => undefined)
  await waitFor(() => leads(svc), 10_000, 'the service leads')
  t.equal(svc.app.health.monitor.isRunning, false, 'the health monitor waits for the caches')
  await svc.close()
  await new Promise((resolve) => setTimeout(resolve, POD_LIST_DELAY_MS + 500))
  t.equal(started, 0, 'nothing started')
})

t.test('on close, every leadership stop has finished before the Lease is released', async (t) => {
  // Closed by the test itself below; the stack's teardown close is then a no-op.
  const { backend: b, service: svc } = await startStack(t, { nodes: [{ name: 'w1', cpu: '4', memory: '8Gi' }], env: { POD_NAME: 'leaving', POD_NAMESPACE: 'streamspace' } })
  const holder = async () => (await b.clients.coordination.readNamespacedLease({ name: LEADER_LEASE_NAME, namespace: 'streamspace' })).spec?.holderIdentity ?? ''
  let running = false
  const holderWhenStopped: string[] = []
  svc.app.health.onLeadership(() => { running = true }, async () => {
    // A slow stop (a runner finishing its step): the Lease must still be ours meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 500))
    holderWhenStopped.push(await holder())
  })
  await waitFor(() => running, 10_000, 'duties running')
  await svc.close()
  t.equal(holderWhenStopped[0], 'leaving', 'the Lease was still held when the stop ended')
  t.equal(await holder(), '', 'released after')
})
