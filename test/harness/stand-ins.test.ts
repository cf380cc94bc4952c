// The control-plane stand-ins of the real-API-server backend (kubelet, scheduler, session
// controller) never fail unseen: a refused call is reported naming the stand-in and what it did, an
// informer that cannot restart gives up and reports, and a backend whose stand-ins failed says so.
import t from 'tap'
import { KubeConfig, CoreV1Api, makeInformer } from '@kubernetes/client-node'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSim } from '../../src/sim/index.js'
import { NODE_MANAGER_USER } from '../helpers/apiserver.js'
import { backendSkip, startBackend } from '../helpers/backend.js'
import { createNode, grantClusterRole, waitFor } from '../helpers/fixtures.js'
import { MAX_INFORMER_FAILURES, startInformers, stopInformers } from '../helpers/informers.js'
import { FakeKubelet } from '../helpers/kubelet.js'

function kubeConfigFrom(file: string): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromFile(file)
  return kc
}

t.test('an informer whose restarts keep failing gives up and reports, naming itself', { skip: backendSkip('sim') }, async (t) => {
  const sim = await startSim({ nodes: 1 })
  const file = join(mkdtempSync(join(tmpdir(), 'stand-ins-')), 'kubeconfig')
  await sim.writeKubeconfig(file)
  const kc = kubeConfigFrom(file)
  const core = kc.makeApiClient(CoreV1Api)
  const nodes = makeInformer(kc, '/api/v1/nodes', () => core.listNode())
  const reported: Error[] = []
  let stopped = false
  await startInformers('test stand-in', { nodes }, () => stopped, (err) => reported.push(err))
  t.teardown(async () => { stopped = true; await stopInformers({ nodes }) })
  t.equal(nodes.list().length, 1, 'listed while the server ran')
  await sim.close()
  await waitFor(() => reported.length > 0, 30_000, 'the informer to give up')
  t.equal(reported.length, 1, 'reported once')
  t.match(reported[0].message, new RegExp(`^test stand-in: the nodes informer, ${MAX_INFORMER_FAILURES} times in a row \\(given up\\) failed`))
})

t.test('real API server: a refused call is reported; a backend whose stand-ins failed rejects at close', { skip: backendSkip('apiserver') }, async (t) => {
  const b = await startBackend('apiserver', { heartbeatSeconds: 1 })
  let closed = false
  t.teardown(() => (closed ? undefined : b.close().catch(() => undefined)))

  await t.test('a kubelet stand-in without the right to write Leases reports it', async (t) => {
    await grantClusterRole(b.kc, { name: 'watch-only', user: NODE_MANAGER_USER.name, rules: [{ apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['list', 'watch'] }] })
    const reported: Error[] = []
    const kubelet = new FakeKubelet(kubeConfigFrom(b.tokenKubeconfig!(NODE_MANAGER_USER.token)), { report: (err) => reported.push(err) })
    await kubelet.start()
    t.teardown(() => kubelet.stop())
    await createNode(b.clients, { name: 'sn1', cpu: '1', memory: '1Gi' })
    await waitFor(() => reported.length > 0, 15_000, 'a report from the watch-only kubelet')
    t.match(reported[0].message, /^kubelet stand-in: (registering|renewing) the Lease of node sn1 failed \(HTTP 403\)/)
    t.same(b.standInErrors, [], 'the backend\'s own stand-ins did fine')
  })

  await t.test('the API server goes away under the stand-ins: close() rejects naming their failures', async (t) => {
    await b.apiserver!.stop()
    await waitFor(() => b.standInErrors.length > 0, 30_000, 'a stand-in to report')
    closed = true
    await t.rejects(b.close(), { message: /^the stand-ins failed \d+ time\(s\): .*kubelet stand-in: / })
  })
})
