// Which Eviction API version to speak, found through discovery as kubectl finds it.
import t from 'tap'
import type { KubeClients } from '../../src/kube/client.js'
import { evictionApiVersion } from '../../src/kube/pods.js'

const clientsWith = (resources: Array<Record<string, string>>) =>
  ({ core: { getAPIResources: async () => ({ groupVersion: 'v1', resources }) } }) as unknown as KubeClients

t.test('policy/v1 where the server offers it', async (t) => {
  t.equal(await evictionApiVersion(clientsWith([{ name: 'pods', kind: 'Pod' }, { name: 'pods/eviction', kind: 'Eviction', group: 'policy', version: 'v1' }])), 'policy/v1')
})

t.test('policy/v1beta1 on servers that only have that', async (t) => {
  t.equal(await evictionApiVersion(clientsWith([{ name: 'pods/eviction', kind: 'Eviction', group: 'policy', version: 'v1beta1' }])), 'policy/v1beta1')
})

t.test('an eviction subresource that names no group and version: delete, as kubectl does', async (t) => {
  // kubectl's CheckEvictionSupport returns an empty GroupVersion then, and drain deletes the pods.
  t.equal(await evictionApiVersion(clientsWith([{ name: 'pods/eviction', kind: 'Eviction' }])), undefined)
})

t.test('no eviction subresource: undefined, and the drain deletes', async (t) => {
  t.equal(await evictionApiVersion(clientsWith([{ name: 'pods', kind: 'Pod' }])), undefined)
})
