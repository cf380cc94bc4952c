// The service's own ConfigMaps (src/kube/configmap.ts): read when absent, create with our labels,
// replace only on the resourceVersion read (409 otherwise), merge keys in (creating it first when
// there is none, also when several writers race to create it), on both backends.
import t from 'tap'
import { eachBackend } from '../helpers/backend.js'
import { OwnConfigMap } from '../../src/kube/configmap.js'
import { isConflict } from '../../src/kube/errors.js'

const NS = 'default'

eachBackend(t, 'read, create, conditional replace', async (t, b) => {
  const cm = new OwnConfigMap(b.clients, NS, 'own-cm-1', 'testing')
  t.equal(await cm.read(), undefined, 'absent: undefined')
  const made = await cm.write(undefined, { a: '1' }, { 'example.com/by': 'alice' })
  t.same(made.metadata?.labels, { 'app.kubernetes.io/name': 'streamspace-node-manager', 'app.kubernetes.io/component': 'testing' })
  t.same(made.metadata?.annotations, { 'example.com/by': 'alice' })
  await t.rejects(cm.write(undefined, { a: '2' }), { name: 'KubeError', kind: 'conflict' }, 'creating it again: 409')
  const read = await cm.read()
  t.same(read?.data, { a: '1' })
  const replaced = await cm.write(read, { a: '2', b: '3' }, { 'example.com/at': 'now' })
  t.same(replaced.data, { a: '2', b: '3' })
  t.same(replaced.metadata?.annotations, { 'example.com/by': 'alice', 'example.com/at': 'now' }, 'annotations kept, the new ones over them')
  const stale = await cm.write(read, { a: 'stale' }).catch((err: unknown) => err)
  t.ok(isConflict(stale), 'a replace on an older resourceVersion: 409')
  t.same((await cm.read())?.data, { a: '2', b: '3' }, 'and nothing written')
  await t.rejects(new OwnConfigMap(b.clients, 'no-such-ns', 'x', 'testing').write(undefined, {}), { name: 'KubeError', kind: 'not_found' })
})

eachBackend(t, 'mergeData: creates when absent, keeps the other keys, races to create', async (t, b) => {
  const cm = new OwnConfigMap(b.clients, NS, 'own-cm-2', 'testing')
  await cm.mergeData({ 'a.json': '1' })
  await cm.mergeData({ 'b.json': '2' })
  await cm.mergeData({ 'a.json': '3' })
  const got = await cm.read()
  t.same(got?.data, { 'a.json': '3', 'b.json': '2' })
  t.equal(got?.metadata?.labels?.['app.kubernetes.io/component'], 'testing')

  const racing = new OwnConfigMap(b.clients, NS, 'own-cm-3', 'testing')
  await Promise.all([...Array(5)].map((_, i) => racing.mergeData({ [`k${i}`]: String(i) })))
  t.same((await racing.read())?.data, { k0: '0', k1: '1', k2: '2', k3: '3', k4: '4' }, 'every writer\'s key is there')
  await t.rejects(new OwnConfigMap(b.clients, 'no-such-ns', 'x', 'testing').mergeData({ a: '1' }), { name: 'KubeError' })
})
