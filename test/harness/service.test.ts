// The service on each backend, through eachBackend: the shape every behaviour test takes.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace, waitFor, waitPodsRunning } from '../helpers/fixtures.js'
import { startService } from '../helpers/service.js'

interface NodeView { name: string; status: { ready: boolean; phase: string }; pods: number }

eachBackend(t, 'the service sees nodes, pods and readiness', async (t, b) => {
  await ensureNamespace(b.clients, 'streamspace')
  await createNode(b.clients, { name: 'w1', cpu: '4', memory: '8Gi' })
  await createNode(b.clients, { name: 'w2', cpu: '2', memory: '4Gi', labels: { pool: 'small' } })
  await createPod(b.clients, { name: 's1', namespace: 'streamspace', node: 'w1', labels: { app: 'streamspace-session' } })
  await waitPodsRunning(b.clients, 'streamspace', ['s1'])

  const svc = await startService(b.kc)
  t.teardown(() => svc.close())
  const nodes = async (): Promise<NodeView[]> => (await svc.api('/nodes')).json() as Promise<NodeView[]>

  await waitFor(async () => (await nodes()).find((n) => n.name === 'w1')?.pods === 1, 10_000, 'w1 to count its pod')
  const list = await nodes()
  t.same(list.map((n) => n.name).sort(), ['w1', 'w2'])
  t.match(list.find((n) => n.name === 'w2'), { status: { ready: true, phase: 'Ready' } })

  await b.setNodeReady('w2', false)
  await waitFor(async () => (await nodes()).find((n) => n.name === 'w2')?.status.phase === 'NotReady', 10_000, 'w2 NotReady in the service')
  t.pass('the service saw w2 go NotReady through its watch')
})
