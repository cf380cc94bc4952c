// Maintenance plans across two replicas (one leader), on each backend: a plan made on the follower
// is taken up by the leader, and the follower's event stream follows it to the end, both through
// the watch on the plans' ConfigMap. The replicas share a fake clock that nobody advances, so the
// slow resync (and any timer on that clock) never fires: only the watch can bring the news.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { ensureNamespace, waitFor } from '../helpers/fixtures.js'
import { FakeClock } from '../helpers/clock.js'
import { startService, type Service } from '../helpers/service.js'
import { call, endSession, node, NS, plan, sessionPod } from './helpers.js'

const isLeader = async (s: Service) => ((await (await s.api('/cluster/health')).json()) as { leader: { is_self: boolean } }).leader.is_self

eachBackend(t, 'a plan made on the follower: the leader runs it, the follower\'s events follow it', async (t, b) => {
  await ensureNamespace(b.clients, NS)
  const clock = new FakeClock(Date.now())
  const a = await startService(b.kc, { clock, env: { POD_NAME: 'replica-a' } })
  t.teardown(() => a.close())
  await waitFor(() => isLeader(a), 20_000, 'replica-a leads')
  const f = await startService(b.kc, { clock, env: { POD_NAME: 'replica-b' } })
  t.teardown(() => f.close())
  t.notOk(await isLeader(f), 'replica-b follows')

  await node(b, 'x1')
  await sessionPod(b, 'x1-s1', 'x1', 'alice')
  await waitFor(async () => ((await (await f.api('/nodes/x1')).json()) as { sessions?: number }).sessions === 1, 10_000, 'the follower sees the session')

  const created = await call(f, 'POST', '/maintenance', { nodes: ['x1'], reason: 'firmware', session_policy: 'wait', force: true, drain: { force: true, timeout_seconds: 60 } })
  t.equal(created.status, 201, created.body.message)
  const id = created.body.id
  t.notOk(f.app.maintenance.runsHere(id), 'not run on the follower')
  await waitFor(async () => (await plan(f, id)).nodes[0].state === 'waiting_for_sessions', 15_000, 'the leader took it up')
  t.ok(a.app.maintenance.runsHere(id), 'run on the leader')

  const res = await f.api(`/maintenance/${id}/events`)
  t.equal(res.status, 200)
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  const ended = (async () => {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      text += value
    }
  })()
  await endSession(b, 'x1-s1')
  await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error(`the follower's stream did not end; got: ${text}`)), 20_000))])
  const states = [...text.matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1]) as { state: string }).state)
  t.equal(states[0], 'running', 'first the plan as it stood')
  t.equal(states.at(-1), 'succeeded', `then its end, as the leader wrote it (${states.join(' -> ')})`)
  t.ok(states.length >= 2, 'each change the leader stored, as it came')
})
