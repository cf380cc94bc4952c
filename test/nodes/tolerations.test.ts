import t from 'tap'
import { evictedByNoExecute, toleratesTaint } from '../../src/nodes/changes.js'

const taint = { key: 'maint', value: 'now', effect: 'NoExecute' }

t.test('Toleration.ToleratesTaint', async (t) => {
  const cases: [object, boolean][] = [
    [{ key: 'maint', operator: 'Equal', value: 'now', effect: 'NoExecute' }, true],
    [{ key: 'maint', value: 'now' }, true], // empty operator is Equal, empty effect matches all
    [{ key: 'maint', operator: 'Equal', value: 'later' }, false],
    [{ key: 'maint', operator: 'Exists' }, true],
    [{ key: 'maint', operator: 'Exists', effect: 'NoSchedule' }, false],
    [{ key: 'other', operator: 'Exists' }, false],
    [{ operator: 'Exists' }, true], // empty key with Exists tolerates everything
    [{ operator: 'Exists', effect: 'NoExecute' }, true],
    [{ key: 'maint', operator: 'Lt', value: 'now' }, false],
  ]
  for (const [tol, want] of cases) t.equal(toleratesTaint(tol, taint), want, JSON.stringify(tol))
  t.equal(toleratesTaint({ key: 'k', operator: 'Equal' }, { key: 'k', effect: 'NoExecute' }), true, 'no value on either side')
})

t.test('what the taint manager evicts', async (t) => {
  t.equal(evictedByNoExecute(undefined, taint), true, 'no tolerations: at once')
  t.equal(evictedByNoExecute([{ key: 'other', operator: 'Exists' }], taint), true, 'none matches: at once')
  t.equal(evictedByNoExecute([{ key: 'maint', operator: 'Exists' }], taint), false, 'tolerated forever')
  t.equal(evictedByNoExecute([{ key: 'maint', operator: 'Exists', tolerationSeconds: 30 }], taint), true, 'after 30 s')
  t.equal(evictedByNoExecute([{ key: 'maint', operator: 'Exists', tolerationSeconds: 30 }, { operator: 'Exists' }], taint), false, 'one unlimited match wins')
})
