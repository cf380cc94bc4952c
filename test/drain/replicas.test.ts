// Drains across two replicas (one leader), on each backend: a drain is a NodeDrain object named
// after its node, so every replica answers the same status and stream, one drain per node holds
// across replicas (the API server's name uniqueness), and "at most 3 running" is the cluster's.
import t, { type Test } from 'tap'
import { setHeaderOptions } from '@kubernetes/client-node'
import { eachBackend } from '../helpers/backend.js'
import { waitFor } from '../helpers/fixtures.js'
import { startService, type Service } from '../helpers/service.js'
import { isCordoned, mixedNode } from './fixtures.js'

const isLeader = async (s: Service) => ((await (await s.api('/cluster/health')).json()) as { leader: { is_self: boolean } }).leader.is_self
const status = async (s: Service, node: string) => (await (await s.api(`/nodes/${node}/drain`)).json()) as { phase: string; pending: Array<{ pod: string; pdb: string | null }>; evicted: string[]; started_at: string | null }

async function readSse(res: Response): Promise<Array<{ id?: number; event: string; data: any }>> {
  const text = await res.text()
  return text.split('\n\n').filter((b) => b.trim() && !b.startsWith(':')).map((block) => {
    const e: { id?: number; event: string; data: any } = { event: 'message', data: undefined }
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) e.id = Number(line.slice(4))
      else if (line.startsWith('event: ')) e.event = line.slice(7)
      else if (line.startsWith('data: ')) e.data = JSON.parse(line.slice(6))
    }
    return e
  })
}

async function twoReplicas(t: Test, kc: Parameters<typeof startService>[0]): Promise<[Service, Service]> {
  const a = await startService(kc, { env: { POD_NAME: 'replica-a' } })
  t.teardown(() => a.close())
  await waitFor(() => isLeader(a), 20_000, 'replica-a leads')
  const f = await startService(kc, { env: { POD_NAME: 'replica-b' } })
  t.teardown(() => f.close())
  t.notOk(await isLeader(f), 'replica-b follows')
  return [a, f]
}

const mergePatch = setHeaderOptions('Content-Type', 'application/merge-patch+json')

eachBackend(t, 'a drain started through one replica: the other answers the same status and streams it to the end', async (t, b) => {
  const [a, f] = await twoReplicas(t, b.kc)
  const { ns } = await mixedNode(b.clients, 'r-one', { pdb: { maxUnavailable: 0 } })
  await waitFor(async () => (await f.api('/nodes/r-one')).status === 200, 10_000, 'node seen')
  // Started through the follower: the leader runs it.
  const res = await f.api('/nodes/r-one/drain', { method: 'POST', json: { wait: false, timeout_seconds: 60 } })
  t.equal(res.status, 202)
  await waitFor(async () => (await status(a, 'r-one')).pending.some((p) => p.pdb === 'web'), 15_000, 'held by the PDB')
  await waitFor(async () => JSON.stringify(await status(a, 'r-one')) === JSON.stringify(await status(f, 'r-one')), 5_000, 'both replicas say the same')
  const onB = await status(f, 'r-one')
  t.equal(onB.phase, 'running', 'running, through the follower too (not "interrupted")')
  t.same(onB.pending.map((p) => p.pdb), ['web', 'web'])

  const stream = await f.api('/nodes/r-one/drain/events')
  t.equal(stream.status, 200)
  const eventsP = readSse(stream)
  await b.clients.policy.patchNamespacedPodDisruptionBudget({ namespace: ns, name: 'web', body: { spec: { maxUnavailable: 2 } } }, mergePatch)
  const events = await Promise.race([eventsP, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the follower\'s stream did not end')), 30_000))])
  const types = events.map((e) => e.event)
  t.equal(types[0], 'status', 'the status first')
  t.equal(types.at(-1), 'finished', `finished last (${types.join(' ')})`)
  t.equal(events.at(-1)!.data.phase, 'succeeded')
  for (const type of ['started', 'cordoned', 'planned', 'pod_blocked', 'pod_evicted']) t.ok(types.includes(type), `${type} streamed`)
  const ids = events.filter((e) => e.id !== undefined).map((e) => e.id!)
  t.same(ids, ids.map((_, i) => i + 1), 'numbered 1, 2, 3, ... in order')
  const endA = await status(a, 'r-one')
  const endB = await status(f, 'r-one')
  t.equal(endB.phase, 'succeeded')
  t.same(endB, endA, 'the same final status on both')
  t.equal(endB.evicted.length, 2)
})

eachBackend(t, 'two requests to drain one node at once, one to each replica: exactly one 409', async (t, b) => {
  const [a, f] = await twoReplicas(t, b.kc)
  await mixedNode(b.clients, 'r-race', { pdb: { maxUnavailable: 0 } })
  await waitFor(async () => (await a.api('/nodes/r-race')).status === 200 && (await f.api('/nodes/r-race')).status === 200, 10_000, 'node seen')
  for (let round = 0; round < 2; round++) {
    // Round 1 replaces the finished drain of round 0 (its NodeDrain is deleted and made again).
    const codes = (await Promise.all([a, f].map((s) => s.api('/nodes/r-race/drain', { method: 'POST', json: { wait: false, timeout_seconds: 1 } })))).map((r) => r.status).sort()
    t.same(codes, [202, 409], `round ${round}: one accepted, one conflict`)
    await waitFor(async () => (await status(f, 'r-race')).phase === 'timed_out', 20_000, 'the drain ended')
  }
  t.ok(await isCordoned(b.clients, 'r-race'))
})

eachBackend(t, 'at most 3 drains running across the replicas: the fourth is 429', async (t, b) => {
  const [a, f] = await twoReplicas(t, b.kc)
  const nodes = ['r-c1', 'r-c2', 'r-c3', 'r-c4']
  for (const n of nodes) await mixedNode(b.clients, n, { pdb: { maxUnavailable: 0 } })
  await waitFor(async () => (await f.api('/nodes/r-c4')).status === 200 && (await a.api('/nodes/r-c4')).status === 200, 10_000, 'nodes seen')
  const replicas = [a, f, a]
  for (const [i, n] of nodes.slice(0, 3).entries()) {
    t.equal((await replicas[i].api(`/nodes/${n}/drain`, { method: 'POST', json: { wait: false, timeout_seconds: 60 } })).status, 202)
  }
  // The follower sees the three through its informer.
  await waitFor(async () => (await Promise.all(nodes.slice(0, 3).map((n) => status(f, n)))).every((s) => s.phase === 'running' || s.phase === 'queued'), 10_000, 'three running')
  const res = await f.api('/nodes/r-c4/drain', { method: 'POST', json: { wait: false } })
  t.equal(res.status, 429)
  t.match((await res.json()).message, /3 drains are running \(at most 3 at once\)/)
  t.equal((await a.api('/nodes/r-c4/drain', { method: 'POST', json: { wait: false } })).status, 429, 'the leader says the same')
  t.equal((await status(f, 'r-c4')).phase, 'none')
})
