// The reflector's failure branches, each injected at the simulated API server: an ERROR event other
// than 410 ("Too large resource version", 504, as a lagging API server's watch cache answers; a
// single kube-apiserver 1.33 instead holds such a watch open until the version arrives), a watch
// that the server closes at once, and repeated 410s. None may turn into a tight reconnect loop;
// while the cache cannot watch it says it is stale, and each restart is counted.
import t from 'tap'
import { KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node'
import { backendSkip, startBackend, type Backend } from '../helpers/backend.js'
import { createNode } from '../helpers/fixtures.js'
import { waitFor } from '../helpers/service.js'
import { Reflector, type RawObject, type ReflectorOptions } from '../../src/kube/reflector.js'
import { startSim } from '../../src/sim/index.js'
import { makeNode } from '../../src/sim/objects.js'

const quiet = { info() {}, warn() {} }
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)

function nodeReflector(b: Backend, extra: Partial<ReflectorOptions<RawObject>> = {}) {
  const names = new Set<string>()
  const reflector = new Reflector<RawObject>({
    kc: b.kc, path: '/api/v1/nodes', log: quiet, transform: (raw) => raw,
    sink: {
      replace: (items) => { names.clear(); for (const n of items) names.add(n.metadata!.name!) },
      upsert: (n) => names.add(n.metadata!.name!),
      remove: (n) => names.delete(n.metadata!.name!),
    },
    ...extra,
  })
  return { reflector, names }
}

// Skipped only when TEST_BACKENDS leaves out the sim: these faults (ERROR events, watches closed at
// once, 410 on every watch, a slow list page) are the simulator's injection.

t.test('an ERROR event other than 410 backs off, marks the cache stale and relists [sim]', { skip: backendSkip('sim') }, async (t) => {
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  await createNode(b.clients, { name: 'e1', cpu: '1', memory: '1Gi' })
  const { reflector, names } = nodeReflector(b, { watchTimeoutSeconds: 1 })
  reflector.start()
  t.teardown(() => reflector.stop())
  await waitFor(() => reflector.synced, 10_000, 'synced')
  let staleSeen = false
  const probe = setInterval(() => { staleSeen ||= reflector.stale }, 20)
  t.teardown(() => clearInterval(probe))
  // From now on every watch gets one ERROR event with a 504 "Too large resource version" Status.
  b.sim!.faults = { ...b.sim!.faults, watchErrorCode: 504 }
  const w0 = reflector.watches
  await new Promise((r) => setTimeout(r, 3000))
  const watches = reflector.watches - w0
  t.ok(watches >= 1 && watches <= 6, `no tight reconnect loop: ${watches} watch connections in 3 s`)
  t.ok(staleSeen && reflector.stale, 'stale while it cannot watch')
  t.ok(reflector.restarts >= 1, `restarts counted (${reflector.restarts})`)
  t.match(reflector.lastError ?? '', /Too large resource version/, 'the server\'s words kept as lastError')
  t.ok(reflector.lists >= 2, 'a too-large resourceVersion leads to a new list')
  b.sim!.faults = { ...b.sim!.faults, watchErrorCode: 0 }
  await waitFor(() => !reflector.stale, 15_000, 'fresh again once the watch holds')
  await createNode(b.clients, { name: 'e2', cpu: '1', memory: '1Gi' })
  await waitFor(() => names.has('e2'), 10_000, 'follows the cluster again')
})


t.test('a watch the server closes at once backs off [sim]', { skip: backendSkip('sim') }, async (t) => {
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  await createNode(b.clients, { name: 'c1', cpu: '1', memory: '1Gi' })
  // The simulator ends each watch normally after timeoutSeconds, which may be a fraction: at once.
  const { reflector } = nodeReflector(b, { watchTimeoutSeconds: 0.001 })
  reflector.start()
  t.teardown(() => reflector.stop())
  await waitFor(() => reflector.synced, 10_000, 'synced')
  const w0 = reflector.watches
  await new Promise((r) => setTimeout(r, 3000))
  const reconnects = reflector.watches - w0
  t.ok(reconnects <= 10, `${reconnects} reconnects in 3 s (backoff)`)
  t.ok(reflector.restarts >= 2, `restarts counted (${reflector.restarts})`)
  t.equal(reflector.lists, 1, 'no relist: each watch resumes from the last resourceVersion')
})

t.test('410 Gone on every watch does not relist in a tight loop [sim]', { skip: backendSkip('sim') }, async (t) => {
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  await createNode(b.clients, { name: 'g1', cpu: '1', memory: '1Gi' })
  const { reflector } = nodeReflector(b, { watchTimeoutSeconds: 0.001 })
  reflector.start()
  t.teardown(() => reflector.stop())
  await waitFor(() => reflector.synced, 10_000, 'synced')
  // Churn, and history forgotten after each change: every resourceVersion a list returns is too old
  // by the time the watch asks for it.
  let running = true
  let n = 0
  const churn = (async () => {
    while (running) {
      await b.clients.core.patchNode({ name: 'g1', body: { metadata: { labels: { n: String(n++) } } } }, mergePatch)
      b.sim!.cluster.store.compactAll()
    }
  })()
  const l0 = reflector.lists
  await new Promise((r) => setTimeout(r, 3000))
  running = false
  await churn
  const relists = reflector.lists - l0
  t.ok(relists <= 10, `${relists} relists in 3 s under constant 410 (backoff)`)
  t.ok(reflector.restarts >= 2, `restarts counted (${reflector.restarts})`)
})

t.test('a watch cut after it was healthy reconnects at once: the backoff does not pile up over repeated cuts [sim]', { skip: backendSkip('sim') }, async (t) => {
  // The fault soak found it: with every watch cut (connection reset) after 5 s, each cut doubled the
  // backoff as if the watch had never worked, up to 10 s, and the cache was stale half the time.
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  await createNode(b.clients, { name: 'd1', cpu: '1', memory: '1Gi' })
  const { reflector, names } = nodeReflector(b)
  reflector.start()
  t.teardown(() => reflector.stop())
  await waitFor(() => reflector.synced, 10_000, 'synced')
  b.sim!.faults = { ...b.sim!.faults, dropWatchMs: 1000 }
  const w0 = reflector.watches
  let staleSamples = 0
  let samples = 0
  let staleRun = 0
  let longestStaleMs = 0
  const started = Date.now()
  while (Date.now() - started < 10_000) {
    samples++
    if (reflector.stale) {
      staleSamples++
      staleRun += 10
      longestStaleMs = Math.max(longestStaleMs, staleRun)
    } else staleRun = 0
    await new Promise((r) => setTimeout(r, 10))
  }
  b.sim!.faults = { ...b.sim!.faults, dropWatchMs: 0 }
  const watches = reflector.watches - w0
  const staleShare = staleSamples / samples
  t.ok(watches >= 8, `${watches} watches in 10 s with each cut after 1 s: reconnected at once each time`)
  t.ok(staleShare < 0.2, `stale ${Math.round(staleShare * 100)}% of the time (only between a cut and the reconnect)`)
  t.ok(longestStaleMs < 1000, `longest stale stretch ${longestStaleMs} ms`)
  t.equal(reflector.lists, 1, 'no relist: each watch resumes from the last resourceVersion')
  await createNode(b.clients, { name: 'd2', cpu: '1', memory: '1Gi' })
  await waitFor(() => names.has('d2'), 5000, 'follows the cluster')
})

t.test('a reflector stopped while it parses a list page stops at its next turn: nothing more is read, nothing replaced [sim]', { skip: backendSkip('sim') }, async (t) => {
  const sim = await startSim({ nodes: 600, podsPerNode: 0 })
  t.teardown(() => sim.close())
  const kc = new KubeConfig()
  kc.loadFromString(sim.kubeconfig())
  let transformed = 0
  let replaced = false
  const reflector: Reflector<RawObject> = new Reflector<RawObject>({
    kc, path: '/api/v1/nodes', log: quiet, pageSize: 1000,
    transform: (raw) => {
      if (++transformed === 10) void reflector.stop()
      return raw
    },
    sink: { replace: () => { replaced = true }, upsert() {}, remove() {} },
  })
  reflector.start()
  await waitFor(() => transformed >= 10, 10_000, 'the page being read')
  await reflector.stop()
  t.ok(transformed >= 10 && transformed < 600, `the page of 600 was left at its next turn (${transformed} items read)`)
  t.notOk(replaced, 'the half-read list replaced nothing')
  t.notOk(reflector.synced)
})

t.test('a page asked for ahead that fails while the page before is parsed is no unhandled rejection: the list starts again [sim]', { skip: backendSkip('sim') }, async (t) => {
  // The 65,000-node bench found it: under heartbeat churn the API server's history moved past a
  // relist's continue token (410 Expired) while the page before was still being parsed; the page
  // asked for ahead had no handler yet, and the service exited on the unhandled rejection.
  const b = await startBackend('sim')
  t.teardown(() => b.close())
  // Put in the store directly (3,000 through the API take long): pages of 1,500 take ~23 turns to parse.
  const now = new Date()
  for (let i = 0; i < 3000; i++) b.sim!.cluster.store.put('nodes', makeNode({ name: `pa-${String(i).padStart(4, '0')}`, index: i, cpu: 4, memoryGi: 16, instanceType: 'm5.xlarge', zone: 'us-east-1a', created: now }, now))
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => { unhandled.push(reason) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled) })
  let forgotten = false
  const { reflector, names } = nodeReflector(b, {
    pageSize: 1500,
    // While the first page is parsed (the next one is asked for already), the API server forgets
    // its history: the next page's continue token is too old (410 Expired).
    transform: (raw) => {
      if (!forgotten) {
        forgotten = true
        const store = b.sim!.cluster.store
        const node = store.collection('nodes').objects.values().next().value!
        store.put('nodes', { ...node, metadata: { ...node.metadata, labels: { ...node.metadata.labels, touched: 'yes' } } })
        store.compactAll()
      }
      return raw
    },
  })
  reflector.start()
  t.teardown(() => reflector.stop())
  await waitFor(() => reflector.synced && names.size === 3000, 30_000, 'synced with every node after the failed page')
  t.same(unhandled.map(String), [], 'no unhandled rejection')
  t.ok(reflector.lists >= 1 && forgotten, 'the list was started again and finished')
})
