// kubectl's filters, one by one and in order, without a cluster.
import t from 'tap'
import type { V1Pod } from '@kubernetes/client-node'
import { judgePod as judge, refusalText, MESSAGES, type FilterContext } from '../../src/drain/filters.js'
import { labelSelectorMatches } from '../../src/kube/selector.js'
import { resolveOptions, type DrainOptions } from '../../src/drain/types.js'

function pod(opts: { owner?: string; mirror?: boolean; emptyDir?: boolean; phase?: string } = {}): V1Pod {
  return {
    metadata: {
      name: 'p', namespace: 'ns',
      annotations: opts.mirror ? { 'kubernetes.io/config.mirror': 'x' } : undefined,
      ownerReferences: opts.owner ? [{ apiVersion: 'apps/v1', kind: opts.owner, name: 'owner', uid: 'u', controller: true }] : undefined,
    },
    spec: { containers: [], volumes: opts.emptyDir ? [{ name: 'scratch', emptyDir: {} }] : [] },
    status: { phase: opts.phase ?? 'Running' },
  }
}

/** The verdict alone; warnings are checked where they matter. */
async function judgePod(p: V1Pod, c: FilterContext) {
  const { warnings: _w, ...verdict } = await judge(p, c)
  return verdict
}

function ctx(options: DrainOptions = {}, ds: 'found' | 'not_found' | Error = 'found'): FilterContext {
  return {
    options: resolveOptions(options),
    daemonSetExists: async () => {
      if (ds instanceof Error) throw ds
      return ds
    },
  }
}

t.test('ReplicaSet pod: evicted', async (t) => {
  t.same(await judgePod(pod({ owner: 'ReplicaSet' }), ctx()), { delete: true, kind: 'okay' })
})

t.test('DaemonSet pods', async (t) => {
  t.same(await judgePod(pod({ owner: 'DaemonSet' }), ctx()), { delete: false, kind: 'warning', message: MESSAGES.daemonSetWarning }, 'skipped with ignore_daemonsets (default)')
  t.same(await judgePod(pod({ owner: 'DaemonSet' }), ctx({ ignore_daemonsets: false })), { delete: false, kind: 'error', message: MESSAGES.daemonSetFatal }, 'refused without it')
  const gone = await judgePod(pod({ owner: 'DaemonSet' }), ctx({}, 'not_found'))
  t.equal(gone.kind, 'error', 'DaemonSet gone: refused')
  t.match(gone.message, /daemonsets.apps "owner" not found/)
  t.same((await judgePod(pod({ owner: 'DaemonSet' }), ctx({ force: true }, 'not_found'))).delete, true, 'DaemonSet gone + force: deleted')
  await t.rejects(judgePod(pod({ owner: 'DaemonSet' }), ctx({}, new Error('forbidden'))), /forbidden/, 'lookup failure: the drain fails')
  t.equal((await judgePod(pod({ owner: 'DaemonSet', phase: 'Succeeded' }), ctx({ ignore_daemonsets: false }))).delete, true, 'finished DaemonSet pod: fine')
})

t.test('mirror pods are skipped', async (t) => {
  const v = await judgePod(pod({ mirror: true, owner: 'Node' }), ctx())
  t.equal(v.kind, 'skip')
  t.equal(v.delete, false)
  t.equal((await judgePod(pod({ mirror: true }), ctx())).kind, 'skip', 'before the unmanaged check')
})

t.test('emptyDir', async (t) => {
  t.same(await judgePod(pod({ owner: 'ReplicaSet', emptyDir: true }), ctx()), { delete: false, kind: 'error', message: MESSAGES.localStorageFatal })
  const j = await judge(pod({ owner: 'ReplicaSet', emptyDir: true }), ctx({ delete_emptydir_data: true }))
  t.equal(j.delete, true, 'evicted with delete_emptydir_data')
  t.same(j.warnings, [MESSAGES.localStorageWarning], 'the warning is kept although a later filter said okay')
  t.equal((await judgePod(pod({ owner: 'ReplicaSet', emptyDir: true, phase: 'Failed' }), ctx())).delete, true, 'finished: fine')
})

t.test('unmanaged pods', async (t) => {
  t.same(await judgePod(pod(), ctx()), { delete: false, kind: 'error', message: MESSAGES.unmanagedFatal })
  t.same(await judgePod(pod(), ctx({ force: true })), { delete: true, kind: 'warning', message: MESSAGES.unmanagedWarning })
  t.same((await judge(pod({ emptyDir: true }), ctx({ force: true, delete_emptydir_data: true }))).warnings, [MESSAGES.localStorageWarning, MESSAGES.unmanagedWarning])
  t.equal((await judgePod(pod({ phase: 'Succeeded' }), ctx())).delete, true, 'completed: fine')
  t.equal((await judgePod(pod({ emptyDir: true }), ctx())).message, MESSAGES.localStorageFatal, 'emptyDir reported before unmanaged (kubectl order)')
})

t.test('refusal text as kubectl words it', async (t) => {
  t.equal(refusalText(MESSAGES.unmanagedFatal), MESSAGES.unmanagedFatal)
  t.equal(refusalText(MESSAGES.localStorageFatal), `cannot delete ${MESSAGES.localStorageFatal}`)
})

t.test('PDB selectors', async (t) => {
  t.ok(labelSelectorMatches({ matchLabels: { app: 'web' } }, { app: 'web', x: 'y' }))
  t.notOk(labelSelectorMatches({ matchLabels: { app: 'web' } }, { app: 'db' }))
  t.ok(labelSelectorMatches({}, { app: 'db' }), 'empty selects all')
  t.notOk(labelSelectorMatches(undefined, { app: 'db' }), 'missing selects none')
  t.ok(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'old', operator: 'DoesNotExist' }] }, { tier: 'b' }))
  t.notOk(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['b'] }] }, { tier: 'b' }))
})
