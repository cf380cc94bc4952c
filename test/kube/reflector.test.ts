// Long-lived watches: a quiet cluster must not cost relists. client-node 2.0.0 aborted healthy
// watches every 30 s (upstream issue 3020); 2.0.1 aborts after 30 s without data, so we ask for
// bookmarks and resume from the last resourceVersion. Over 40 quiet seconds: one LIST, events
// still arrive, never stale.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { createNode } from '../helpers/fixtures.js'
import { waitFor } from '../helpers/service.js'
import { Reflector } from '../../src/kube/reflector.js'

const quiet = { info() {}, warn() {} }

eachBackend(t, 'a quiet watch lives on without relisting', async (t, b) => {
  await createNode(b.clients, { name: 'q1', cpu: '1', memory: '1Gi' })
  const names = new Set<string>()
  const reflector = new Reflector<{ metadata?: { name?: string } }>({
    kc: b.kc, path: '/api/v1/nodes', log: quiet, transform: (raw) => raw,
    sink: {
      replace: (items) => { names.clear(); for (const n of items) names.add(n.metadata!.name!) },
      upsert: (n) => names.add(n.metadata!.name!),
      remove: (n) => names.delete(n.metadata!.name!),
    },
  })
  reflector.start()
  t.teardown(() => reflector.stop())
  await waitFor(() => reflector.synced, 10_000, 'synced')
  let stale = false
  const probe = setInterval(() => { stale ||= reflector.stale }, 100)
  await new Promise((r) => setTimeout(r, 40_000))
  clearInterval(probe)
  t.equal(reflector.lists, 1, 'no relist during 40 quiet seconds')
  t.notOk(stale, 'never stale')
  t.comment(`watch connections over 40 s: ${reflector.watches}`)
  if (b.name === 'sim') t.equal(reflector.watches, 1, 'bookmarks keep the one watch alive')
  await createNode(b.clients, { name: 'q2', cpu: '1', memory: '1Gi' })
  await waitFor(() => names.has('q2'), 10_000, 'event after the quiet time')
  t.same([...names].sort(), ['q1', 'q2'])
})
