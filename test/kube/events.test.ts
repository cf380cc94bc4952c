// Node Events this service records, read back by the field selectors the API server supports
// (involvedObject.kind, source = source.component), on both backends.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { createNode } from '../helpers/fixtures.js'
import { listOwnNodeEvents, recordNodeEvent } from '../../src/kube/events.js'

eachBackend(t, 'listOwnNodeEvents', async (t, b) => {
  const node = await createNode(b.clients, { name: 'ev-1', cpu: '2', memory: '4Gi' })
  await recordNodeEvent(b.clients, node, { reason: 'StreamSpaceNodeNotReady', message: 'ours', type: 'Warning' })
  await recordNodeEvent(b.clients, node, { reason: 'Other', message: 'someone else' }, { component: 'kubelet' })
  const ours = await listOwnNodeEvents(b.clients)
  t.same(ours.map((e) => [e.reason, e.involvedObject.name, e.source?.component]), [['StreamSpaceNodeNotReady', 'ev-1', 'streamspace-node-manager']], 'only ours, by source')
  t.same((await listOwnNodeEvents(b.clients, 'default', 'kubelet')).map((e) => e.reason), ['Other'])
})
