// Patch semantics of the sim in isolation: JSON Patch, merge patch, strategic merge patch.
import t from 'tap'
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from '../../src/sim/patch.js'

const node = {
  metadata: { name: 'n', labels: { a: '1', b: '2' }, finalizers: ['x'] },
  spec: { taints: [{ key: 'k1', effect: 'NoSchedule' }, { key: 'k2', effect: 'NoExecute' }] },
  status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'DiskPressure', status: 'False' }] },
}

t.test('JSON Patch', async (t) => {
  const out = applyJsonPatch(node, [
    { op: 'add', path: '/spec/taints/-', value: { key: 'k3', effect: 'NoSchedule' } },
    { op: 'remove', path: '/spec/taints/0' },
    { op: 'copy', from: '/metadata/labels/a', path: '/metadata/labels/c' },
    { op: 'move', from: '/metadata/labels/b', path: '/metadata/labels/d' },
    { op: 'test', path: '/metadata/labels/d', value: '2' },
  ])
  t.same(out.spec.taints.map((x: any) => x.key), ['k2', 'k3'])
  t.same(out.metadata.labels, { a: '1', c: '1', d: '2' })
  t.same(node.spec.taints.length, 2, 'the input is not changed')
  t.throws(() => applyJsonPatch(node, [{ op: 'replace', path: '/metadata/labels/zz', value: 'x' }]), { code: 422 })
  t.throws(() => applyJsonPatch(node, [{ op: 'bogus', path: '/a' }]), { code: 422 })
})

t.test('merge patch', async (t) => {
  const out = applyMergePatch(node, { metadata: { labels: { a: null, e: '5' } }, spec: { taints: [{ key: 'only', effect: 'NoSchedule' }] } })
  t.same(out.metadata.labels, { b: '2', e: '5' })
  t.same(out.spec.taints, [{ key: 'only', effect: 'NoSchedule' }], 'lists are replaced')
  t.same(node.metadata.labels, { a: '1', b: '2' })
})

t.test('strategic merge patch', async (t) => {
  // Lists with a merge key merge by it; $patch: delete removes; atomic lists (taints) are replaced.
  let out = applyStrategicMergePatch(node, { status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'PIDPressure', status: 'False' }] } })
  t.same(out.status.conditions, [{ type: 'Ready', status: 'False' }, { type: 'DiskPressure', status: 'False' }, { type: 'PIDPressure', status: 'False' }])
  out = applyStrategicMergePatch(node, { status: { conditions: [{ type: 'DiskPressure', $patch: 'delete' }] } })
  t.same(out.status.conditions.map((c: any) => c.type), ['Ready'])
  out = applyStrategicMergePatch(node, { spec: { taints: [{ key: 'k9', effect: 'NoSchedule' }] } })
  t.same(out.spec.taints, [{ key: 'k9', effect: 'NoSchedule' }])
  out = applyStrategicMergePatch(node, { metadata: { finalizers: ['y'] } })
  t.same(out.metadata.finalizers, ['x', 'y'], 'primitive merge lists are unions')
  out = applyStrategicMergePatch(node, { metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] } })
  t.same(out.metadata.finalizers, [])
  out = applyStrategicMergePatch(node, { status: { $patch: 'replace', conditions: [] } })
  t.same(out.status, { conditions: [] })
  out = applyStrategicMergePatch(node, { status: { '$setElementOrder/conditions': [{ type: 'DiskPressure' }, { type: 'Ready' }], conditions: [{ type: 'Ready', status: 'Unknown' }] } })
  t.same(out.status.conditions, [{ type: 'DiskPressure', status: 'False' }, { type: 'Ready', status: 'Unknown' }])
  out = applyStrategicMergePatch(node, { spec: { $retainKeys: [], taints: null } })
  t.same(out.spec, {})
  t.same(node.status.conditions.length, 2, 'the input is not changed')
})
