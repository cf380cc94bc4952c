// Node Events this service records, read back by the field selectors the API server supports
// (involvedObject.kind, source = source.component), on both backends.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { createNode } from '../helpers/fixtures.js'
import { listOwnNodeEvents, recordEvent, recordNodeEvent } from '../../src/kube/events.js'

eachBackend(t, 'listOwnNodeEvents', async (t, b) => {
  const node = await createNode(b.clients, { name: 'ev-1', cpu: '2', memory: '4Gi' })
  await recordNodeEvent(b.clients, node, { reason: 'StreamSpaceNodeNotReady', message: 'ours', type: 'Warning' })
  await recordNodeEvent(b.clients, node, { reason: 'Other', message: 'someone else' }, { component: 'kubelet' })
  const ours = await listOwnNodeEvents(b.clients)
  t.same(ours.map((e) => [e.reason, e.involvedObject.name, e.source?.component]), [['StreamSpaceNodeNotReady', 'ev-1', 'streamspace-node-manager']], 'only ours, by source')
  t.same((await listOwnNodeEvents(b.clients, 'default', 'kubelet')).map((e) => e.reason), ['Other'])
  const [e] = ours
  t.same([e.metadata?.namespace, e.involvedObject.namespace, e.involvedObject.uid], ['default', undefined, node.metadata?.uid], 'a Node Event lives in "default", about the node without a namespace')
})

eachBackend(t, 'recordEvent about a namespaced object lives in its namespace', async (t, b) => {
  const cm = await b.clients.core.createNamespacedConfigMap({ namespace: 'kube-public', body: { metadata: { name: 'ev-cm' } } })
  const made = await recordEvent(b.clients, { apiVersion: 'v1', kind: 'ConfigMap', name: 'ev-cm', namespace: 'kube-public', uid: cm.metadata?.uid }, { reason: 'Changed', message: 'x'.repeat(2000) })
  t.equal(made.metadata?.namespace, 'kube-public')
  const got = (await b.clients.core.listNamespacedEvent({ namespace: 'kube-public' })).items.filter((e) => e.reason === 'Changed')
  t.same(got.map((e) => [e.involvedObject.kind, e.involvedObject.name, e.involvedObject.namespace, e.involvedObject.uid, e.source?.component, e.message?.length]),
    [['ConfigMap', 'ev-cm', 'kube-public', cm.metadata?.uid, 'streamspace-node-manager', 1024]])
  await t.rejects(recordEvent(b.clients, { apiVersion: 'v1', kind: 'ConfigMap', name: 'ev-cm', namespace: 'no-such-ns' }, { reason: 'Changed', message: 'y' }),
    { name: 'KubeError', kind: 'not_found', message: /no-such-ns/ }, 'a refusal is a KubeError naming the namespace')
})
