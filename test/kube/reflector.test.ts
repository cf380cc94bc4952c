// Long-lived watches: a quiet cluster must not cost relists or reconnects. client-node 2.0.1's Watch
// aborts after 30 s without data, while a real API server sends a bookmark only about once a
// minute; the simulator is set to that timing here (bookmarks every 60 s) so it cannot hide the
// problem. Over 75 quiet seconds: one LIST, one watch, no warning, events still arrive. The
// drain's pod watch (watchPodsOnNode) lives on the same way.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { createNode } from '../helpers/fixtures.js'
import { waitFor } from '../helpers/service.js'
import { Reflector } from '../../src/kube/reflector.js'
import { watchPodsOnNode } from '../../src/kube/pods.js'

eachBackend(t, 'a quiet watch lives on without relisting, at the real server\'s bookmark timing', async (t, b) => {
  await createNode(b.clients, { name: 'q1', cpu: '1', memory: '1Gi' })
  const warnings: string[] = []
  const log = { info() {}, warn(_obj: object, msg: string) { warnings.push(msg) } }
  const names = new Set<string>()
  const reflector = new Reflector<{ metadata?: { name?: string } }>({
    kc: b.kc, path: '/api/v1/nodes', log, transform: (raw) => raw,
    sink: {
      replace: (items) => { names.clear(); for (const n of items) names.add(n.metadata!.name!) },
      upsert: (n) => names.add(n.metadata!.name!),
      remove: (n) => names.delete(n.metadata!.name!),
    },
  })
  reflector.start()
  t.teardown(() => reflector.stop())
  await waitFor(() => reflector.synced, 10_000, 'synced')
  const list = await b.clients.core.listPodForAllNamespaces({ limit: 1 })
  let podWatchEnded: unknown = 'no'
  const stopPodWatch = await watchPodsOnNode(b.clients, 'q1', list.metadata!.resourceVersion!, () => {}, (err) => { podWatchEnded = err ?? 'ended' })
  t.teardown(stopPodWatch)
  let stale = false
  const probe = setInterval(() => { stale ||= reflector.stale }, 100)
  await new Promise((r) => setTimeout(r, 75_000))
  clearInterval(probe)
  t.equal(reflector.lists, 1, 'no relist during 75 quiet seconds')
  t.equal(reflector.watches, 1, 'one watch connection all along')
  t.equal(reflector.restarts, 0, 'no restart')
  t.notOk(stale, 'never stale')
  t.same(warnings, [], 'no warning logged')
  t.equal(podWatchEnded, 'no', 'the drain\'s pod watch is still open')
  await createNode(b.clients, { name: 'q2', cpu: '1', memory: '1Gi' })
  await waitFor(() => names.has('q2'), 10_000, 'event after the quiet time')
  t.same([...names].sort(), ['q1', 'q2'])
}, { bookmarkSeconds: 60 })
