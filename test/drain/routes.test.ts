// The drain over HTTP: the seed's shape, error bodies, 202 + status, SSE in order, auth.
import t from 'tap'
import { startService, makeToken, waitFor, type Service } from '../helpers/service.js'
import { eachBackend, type Backend } from '../helpers/backend.js'
import type { KubeClients } from '../../src/kube/client.js'
import { createNode, createPod, createReplicaSet, ensureNamespace, isCordoned, mixedNode } from './fixtures.js'
import { setHeaderOptions } from '@kubernetes/client-node'
import { recordNodeEvent } from '../../src/kube/events.js'

// The backend and service of the current eachBackend round (they run one after the other).
let backend: Backend
let c: KubeClients
let svc: Service

interface SseEvent { id?: number; event: string; data: any }

/** Reads an SSE stream to its end (or until `until` says stop), parsing each event. */
async function readSse(res: Response, until: (e: SseEvent) => boolean = () => false): Promise<SseEvent[]> {
  const events: SseEvent[] = []
  const decoder = new TextDecoder()
  let buf = ''
  const reader = res.body!.getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buf += decoder.decode(value, { stream: true })
    let i: number
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i)
      buf = buf.slice(i + 2)
      const e: SseEvent = { event: 'message', data: undefined }
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) e.id = Number(line.slice(4))
        else if (line.startsWith('event: ')) e.event = line.slice(7)
        else if (line.startsWith('data: ')) e.data = JSON.parse(line.slice(6))
      }
      if (block.startsWith(':')) continue
      events.push(e)
      if (until(e)) {
        await reader.cancel()
        return events
      }
    }
  }
  return events
}

eachBackend(t, 'drain over HTTP', async (t, b) => {
  backend = b
  c = b.clients
  svc = await startService(b.kc)

  await t.test('POST without a body: the seed\'s answer', async (t) => {
    const { ns } = await mixedNode(c, 'h-basic')
    const res = await svc.api('/nodes/h-basic/drain', { method: 'POST' })
    t.equal(res.status, 200)
    const body = await res.json()
    t.equal(body.message, 'Node drained successfully')
    t.equal(body.pods_deleted, 2)
    t.same(body.evicted.sort(), [`${ns}/web-0`, `${ns}/web-1`])
    t.equal(typeof body.duration_seconds, 'number')
    t.equal(body.sessions_disrupted, 0)
    t.equal(body.skipped.length, 2)

    const st = await (await svc.api('/nodes/h-basic/drain')).json()
    t.equal(st.phase, 'succeeded')
    t.same(st.evicted.sort(), body.evicted.sort())
    t.same(st.pending, [])
  })

  await t.test('422 lists each pod that blocks, as {statusCode, error, message, details}', async (t) => {
    const { ns } = await mixedNode(c, 'h-refuse', { unmanaged: true, emptyDir: true })
    const res = await svc.api('/nodes/h-refuse/drain', { method: 'POST', json: { grace_period_seconds: 5 } })
    t.equal(res.status, 422)
    const body = await res.json()
    t.equal(body.statusCode, 422)
    t.equal(body.error, 'Unprocessable Entity')
    t.match(body.message, /cannot delete Pods with local storage/)
    t.match(body.message, /cannot delete Pods that declare no controller/)
    t.same(body.details.refused.map((r: { pod: string }) => r.pod).sort(), [`${ns}/bare-h-refuse`, `${ns}/cache-h-refuse`])
  })

  await t.test('bad input: 400 naming the field; unknown node: 404; auth', async (t) => {
    await createNode(c, 'h-input')
    let res = await svc.api('/nodes/h-input/drain', { method: 'POST', json: { timeout_seconds: 'soon' } })
    t.equal(res.status, 400)
    t.match((await res.json()).message, /timeout_seconds/)
    res = await svc.api('/nodes/h-input/drain', { method: 'POST', json: { grace: 1 } })
    t.equal(res.status, 400)
    t.match((await res.json()).message, /grace/)
    res = await svc.api('/nodes/h-input/drain', { method: 'POST', json: { pod_selector: 'a in (' } })
    t.equal(res.status, 400)
    t.match((await res.json()).message, /pod_selector/)
    // One our parser lets through and the API server refuses (a key with two slashes): found before the cordon.
    res = await svc.api('/nodes/h-input/drain', { method: 'POST', json: { pod_selector: 'a/b/c=1' } })
    t.equal(res.status, 400)
    t.match((await res.json()).message, /^pod_selector: .*a\/b\/c/)
    t.equal((await svc.api('/nodes/nope/drain', { method: 'POST', json: {} })).status, 404)
    t.equal((await svc.api('/nodes/nope/drain')).status, 404)
    t.equal((await svc.api('/nodes/nope/drain/events')).status, 404)
    t.equal((await svc.api('/nodes/h-input/drain', { method: 'POST', token: null })).status, 401)
    t.equal((await svc.api('/nodes/h-input/drain', { method: 'POST', token: makeToken({ role: 'operator' }) })).status, 403)
    t.notOk(await isCordoned(c, 'h-input'), 'none of that touched the node')
    const st = await (await svc.api('/nodes/h-input/drain')).json()
    t.equal(st.phase, 'none')
  })

  await t.test('wait:false answers 202 at once; status and SSE follow the drain in order', async (t) => {
    const { ns } = await mixedNode(c, 'h-async', { pdb: { minAvailable: 2 } })
    const res = await svc.api('/nodes/h-async/drain', { method: 'POST', json: { wait: false, timeout_seconds: 30 } })
    t.equal(res.status, 202)
    const accepted = await res.json()
    t.match(accepted, { node: 'h-async', events_url: /\/nodes\/h-async\/drain\/events$/ })

    // A second drain of the same node while this one runs.
    const second = await svc.api('/nodes/h-async/drain', { method: 'POST', json: {} })
    t.equal(second.status, 409)

    const stream = await svc.api('/nodes/h-async/drain/events')
    t.equal(stream.status, 200)
    t.match(stream.headers.get('content-type'), /text\/event-stream/)
    const eventsP = readSse(stream)

    // Blocked by the PDB: the status says which PDB holds each pod.
    let st: any
    await waitFor(async () => {
      st = await (await svc.api('/nodes/h-async/drain')).json()
      return st.pending.length === 2 && st.pending.every((p: { pdb: string }) => p.pdb === 'web')
    }, 5000, 'both pods held by the PDB')
    t.equal(st.phase, 'running')
    t.same(st.pending.map((p: { pdb: string }) => p.pdb), ['web', 'web'])

    await c.policy.patchNamespacedPodDisruptionBudget({ namespace: ns, name: 'web', body: { spec: { minAvailable: 0 } } },
      setHeaderOptions('Content-Type', 'application/merge-patch+json'))
    const events = await eventsP
    const types = events.map((e) => e.event)
    t.equal(types[0], 'status', 'the current status first')
    t.equal(types.at(-1), 'finished', 'ends with finished')
    t.equal(events.at(-1)!.data.phase, 'succeeded')
    const ids = events.filter((e) => e.id !== undefined).map((e) => e.id!)
    t.same(ids, ids.map((_, i) => i + 1), 'every event, numbered 1, 2, 3, ... in order')
    const order = ['started', 'cordoned', 'planned', 'pod_blocked', 'pod_evicting', 'pod_evicted', 'finished']
    const firstIndex = order.map((type) => types.indexOf(type))
    t.ok(firstIndex.every((x) => x > 0), `every kind of step is there: ${types.join(' ')}`)
    t.same([...firstIndex].sort((a, b) => a - b), firstIndex, 'in the order a drain goes')
    for (const pod of [`${ns}/web-0`, `${ns}/web-1`]) {
      const evicting = events.findIndex((e) => e.event === 'pod_evicting' && e.data.pod === pod)
      const evicted = events.findIndex((e) => e.event === 'pod_evicted' && e.data.pod === pod)
      t.ok(evicting > 0 && evicted > evicting, `${pod}: evicting, then gone`)
    }
    t.equal(events.at(-1)!.data.evicted, 2)

    // A late subscriber gets the whole story; Last-Event-ID resumes after an id.
    const replay = await readSse(await svc.api('/nodes/h-async/drain/events'))
    t.same(replay.map((e) => e.event), types)
    const resumed = await readSse(await svc.api('/nodes/h-async/drain/events', { headers: { 'last-event-id': String(ids.at(-2)) } }))
    t.same(resumed.map((e) => e.event), ['status', 'finished'])
  })

  await t.test('504 body over HTTP', async (t) => {
    const { ns } = await mixedNode(c, 'h-stuck', { pdb: { maxUnavailable: 0 } })
    const res = await svc.api('/nodes/h-stuck/drain', { method: 'POST', json: { timeout_seconds: 1 } })
    t.equal(res.status, 504)
    const body = await res.json()
    t.equal(body.error, 'Gateway Timeout')
    t.same(body.details.pending.map((p: { pod: string; pdb: string }) => [p.pod, p.pdb]).sort(), [[`${ns}/web-0`, 'web'], [`${ns}/web-1`, 'web']])
  })

  await t.test('sessions in the result and the progress', async (t) => {
    await createNode(c, 'h-sess')
    await ensureNamespace(c, 'streamspace')
    const labels = { app: 'streamspace-session', session: 'x', user: 'bob', template: 'vscode' }
    const rs = await createReplicaSet(c, 'streamspace', 'sess-h', 1, labels)
    await createPod(c, { namespace: 'streamspace', name: 'sess-h-0', node: 'h-sess', owner: rs, labels })
    const dry = await (await svc.api('/nodes/h-sess/drain', { method: 'POST', json: { dry_run: true } })).json()
    t.equal(dry.sessions_disrupted, 1)
    t.same(dry.would_evict, [{ pod: 'streamspace/sess-h-0', reason: 'evict (StreamSpace session); no PodDisruptionBudget', pdb: null }])
    const r = await (await svc.api('/nodes/h-sess/drain', { method: 'POST', json: {} })).json()
    t.equal(r.sessions_disrupted, 1)
    const events = await readSse(await svc.api('/nodes/h-sess/drain/events'))
    t.equal(events.find((e) => e.event === 'planned')!.data.sessions_total, 1, 'progress says how many will be disrupted')
    t.equal(events.at(-1)!.data.sessions_disrupted, 1, 'and how many were')
    t.equal((await (await svc.api('/nodes/h-sess/drain')).json()).sessions_total, 1)
    const metrics = await (await fetch(`${svc.url}/metrics`)).text()
    t.match(metrics, /streamspace_node_manager_drains_total\{outcome="succeeded"\} [1-9]/)
    t.match(metrics, /streamspace_node_manager_drain_sessions_disrupted_total [1-9]/)
    t.match(metrics, /streamspace_node_manager_drains_running 0/)
  })

  await t.test('the replica that took the request stops mid-drain: the request hears it, the drain goes on in the cluster', async (t) => {
    // A drain is a NodeDrain object run by the leader (svc, started first): a replica that stops
    // answers its waiting request with 503, and the drain neither stops nor is marked interrupted.
    const { ns } = await mixedNode(c, 'h-stop', { pdb: { maxUnavailable: 0 } })
    const other = await startService(backend.kc)
    const pending = other.api('/nodes/h-stop/drain', { method: 'POST', json: {} })
    await waitFor(async () => (await (await other.api('/nodes/h-stop/drain')).json()).pending.some((p: { pdb: string | null }) => p.pdb), 5000, 'a pod held by the PDB')
    t.equal((await (await other.api('/nodes/h-stop/drain')).json()).phase, 'running')
    await other.close()
    // The waiting request is answered before the server closes: a dropped connection fails here.
    const res = await pending
    t.equal(res.status, 503)
    t.match((await res.json()).message, /the service is stopping: the drain of node h-stop goes on in the cluster/)
    t.ok(await isCordoned(c, 'h-stop'))
    const events = await c.core.listEventForAllNamespaces({ fieldSelector: 'involvedObject.name=h-stop' })
    const reasons = events.items.map((e) => `${e.type} ${e.reason}: ${e.message}`)
    t.ok(reasons.some((r) => r.startsWith('Normal NodeDrainStarted')), reasons.join('\n'))
    t.notOk(reasons.some((r) => r.includes('NodeDrainInterrupted')), 'not interrupted')
    const st = await (await svc.api('/nodes/h-stop/drain')).json()
    t.equal(st.phase, 'running', 'the leader still runs it')
    t.equal(st.cordoned, true)
    await c.policy.patchNamespacedPodDisruptionBudget({ namespace: ns, name: 'web', body: { spec: { maxUnavailable: 2 } } },
      setHeaderOptions('Content-Type', 'application/merge-patch+json'))
    let end: any
    await waitFor(async () => (end = await (await svc.api('/nodes/h-stop/drain')).json()).phase !== 'running', 10_000, 'the drain to end')
    t.equal(end.phase, 'succeeded', 'and finishes it')
    t.ok(end.started_at && end.finished_at)
  })

  await t.test('a drain whose service died without a word: the status says it was interrupted', async (t) => {
    await createNode(c, 'h-died')
    // What a killed service leaves behind: its start Event and nothing after.
    await recordNodeEvent(c, { metadata: { name: 'h-died' } }, { reason: 'NodeDrainStarted', message: 'Drain started by alice: node cordoned, evicting its pods' })
    const st = await (await svc.api('/nodes/h-died/drain')).json()
    t.equal(st.phase, 'interrupted')
    t.match(st.message, /service stopped during this drain without recording its outcome; node h-died left cordoned/)
    t.ok(st.started_at)
  })
  await svc.close()
})
