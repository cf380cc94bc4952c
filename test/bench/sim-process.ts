// The simulated cluster in its own process for the benchmark (as `npm run sim` runs it), with a
// control channel over IPC: the parent asks how many requests reached the API server since it last
// asked (by verb and resource), and can start node heartbeats (status churn) later in the run.
//   argv[2]: JSON of SimOptions plus {kubeconfig}
import v8 from 'node:v8'
import { startSim, type SimOptions, type SimRequest } from '../../src/sim/index.js'

// As src/sim/cli.ts: seeding 150,000 pods is allocation-heavy.
v8.setFlagsFromString('--max-semi-space-size=64')

const opts = JSON.parse(process.argv[2] ?? '{}') as SimOptions & { kubeconfig: string }
const started = Date.now()
const sim = await startSim(opts)
await sim.writeKubeconfig(opts.kubeconfig)

// Count every request as it is recorded (the recorded list itself is trimmed past 20,000 entries).
let counts = new Map<string, number>()
const entries = sim.requests.entries
const push = entries.push.bind(entries)
entries.push = (...rs: SimRequest[]) => {
  for (const r of rs) {
    // The group, when not core: metrics.k8s.io's NodeMetrics are also "nodes".
    const group = /^\/apis\/([^/]+)\//.exec(r.path)?.[1]
    const key = `${r.watch ? 'watch' : r.verb} ${r.resource ? r.resource + (group ? `.${group}` : '') : r.path}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return push(...rs)
}

export type SimControl = { cmd: 'counts' } | { cmd: 'heartbeats'; seconds: number }

process.on('message', (m: SimControl & { id: number }) => {
  if (m.cmd === 'counts') {
    process.send!({ id: m.id, counts: Object.fromEntries(counts) })
    counts = new Map()
  } else if (m.cmd === 'heartbeats') {
    sim.cluster.startHeartbeats(m.seconds)
    process.send!({ id: m.id })
  }
})
process.on('disconnect', () => { void sim.close().then(() => process.exit(0)) })
process.on('SIGTERM', () => { void sim.close().then(() => process.exit(0)) })
const nodes = sim.cluster.store.collection('nodes').objects.size
const pods = sim.cluster.store.collection('pods').objects.size
process.send!({ ready: true, url: sim.url, nodes, pods, ms: Date.now() - started })
