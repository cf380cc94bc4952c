// Issue 24, finding 9: versions of the runtime-configuration ConfigMap are applied only in
// resourceVersion order. A late watch event (an older version arriving after our own write was
// observed) must not put the old options back, nor tell the listeners (the Cluster API provider is
// kicked by them and would push the old min/max).
import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { LiveOptions, loadConfig } from '../../src/config.js'
import { createKubeClients } from '../../src/kube/client.js'
import { OPTIONS_KEY, RuntimeConfig } from '../../src/kube/runtime-config.js'

function store() {
  const kc = new KubeConfig()
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' })
  const base = loadConfig({ JWT_SECRET: 'test-secret-that-is-at-least-32-characters-long' }).options
  const live = new LiveOptions(base)
  const silent = { info() {}, warn() {}, error() {}, debug() {} }
  const rc = new RuntimeConfig({ kc, clients: createKubeClients(kc), namespace: 'streamspace', base, live, log: silent as never })
  return { rc, live }
}
const cm = (rv: string, options: Record<string, unknown>) => ({ metadata: { name: 'streamspace-node-manager-config', resourceVersion: rv }, data: { [OPTIONS_KEY]: JSON.stringify(options) } })

t.test('a late, older version is not applied', async (t) => {
  const { rc, live } = store()
  const heard: unknown[] = []
  live.onChange((_next, changes) => heard.push(changes))
  rc.observe(cm('10', { minNodes: 2, maxNodes: 20 }), 'write')
  t.equal(live.current.maxNodes, 20)
  t.equal(heard.length, 1)
  rc.observe(cm('9', { minNodes: 1, maxNodes: 5 }), 'watch')
  t.equal(live.current.maxNodes, 20, 'the older version (rv 9) did not revert maxNodes')
  t.equal(live.current.minNodes, 2)
  t.equal(heard.length, 1, 'listeners (the Cluster API provider among them) heard nothing')
  t.equal(rc.resourceVersion, '10')
  rc.observe(cm('10', { minNodes: 2, maxNodes: 20 }), 'watch')
  t.equal(heard.length, 1, 'the same version again: nothing')
  rc.observe(cm('11', { minNodes: 3, maxNodes: 20 }), 'watch')
  t.equal(live.current.minNodes, 3, 'a newer one is')
  t.equal(rc.resourceVersion, '11')
  // Deleted (a list without it) at a newer version: back to the file values; a late event of the deleted object does not revive it.
  rc.observe(null, 'watch', '12')
  t.equal(live.current.minNodes, 1)
  rc.observe(cm('11', { minNodes: 3, maxNodes: 20 }), 'watch')
  t.equal(live.current.minNodes, 1, 'the deleted version stays deleted')
  rc.observe(cm('13', { minNodes: 4, maxNodes: 20 }), 'watch')
  t.equal(live.current.minNodes, 4, 'created again')
})

t.test('a broken options.json is remembered as the problem, the options in force kept', async (t) => {
  const { rc, live } = store()
  rc.observe(cm('5', { scaleUpThreshold: 70 }), 'watch')
  t.equal(rc.problem, undefined)
  rc.observe({ metadata: { name: 'x', resourceVersion: '6' }, data: { [OPTIONS_KEY]: '{"scaleUpThreshold": 75,' } }, 'watch')
  t.equal(live.current.scaleUpThreshold, 70, 'kept')
  t.match(rc.problem, /options\.json in ConfigMap streamspace\/streamspace-node-manager-config \(resourceVersion 6\) is not valid JSON/)
  rc.observe(cm('7', { scaleUpThreshold: 999 }), 'watch')
  t.match(rc.problem, /scaleUpThreshold must be a number from 50 to 95 \(got 999\)/)
  rc.observe(cm('8', { scaleUpThreshold: 75 }), 'watch')
  t.equal(rc.problem, undefined, 'fixed: no problem')
  t.equal(live.current.scaleUpThreshold, 75)
})
