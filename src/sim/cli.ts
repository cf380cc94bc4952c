// npm run sim -- --port <p> --kubeconfig <file> [--nodes N] [--pods-per-node M] [--sessions-per-node S]
//   [--pod-terminate-seconds T] [--metrics on|off] [--faults error=0.1,latency=50,drop-watch=30000,conflict=0.2]
import v8 from 'node:v8'
import { startSim, type FaultSpec, type SimOptions } from './index.js'

// Seeding 150,000 pods is allocation-heavy: a larger young generation halves the GC time.
v8.setFlagsFromString('--max-semi-space-size=64')

const USAGE = 'usage: npm run sim -- --port <p> --kubeconfig <file> [--nodes N] [--pods-per-node M] [--sessions-per-node S] [--pod-terminate-seconds T] [--metrics on|off] [--faults error=0.1,latency=50,drop-watch=30000,conflict=0.2] [--host H]'

function fail(message: string): never {
  console.error(`sim: ${message}\n${USAGE}`)
  process.exit(2)
}

function count(flag: string, value: string | undefined): number {
  const n = Number(value)
  if (value === undefined || !Number.isInteger(n) || n < 0) fail(`${flag} needs a whole number >= 0, got ${value ?? 'nothing'}`)
  return n
}

export function parseFaults(spec: string): Partial<FaultSpec> {
  const faults: Partial<FaultSpec> = {}
  const names: Record<string, keyof FaultSpec> = { error: 'errorRate', latency: 'latencyMs', 'drop-watch': 'dropWatchMs', conflict: 'conflictRate' }
  for (const part of spec.split(',').filter(Boolean)) {
    const [key, raw] = part.split('=')
    const field = names[key?.trim()]
    const value = Number(raw)
    if (!field || raw === undefined || !Number.isFinite(value) || value < 0) fail(`bad fault "${part}" (known: error, latency, drop-watch, conflict)`)
    if ((field === 'errorRate' || field === 'conflictRate') && value > 1) fail(`${key} is a fraction between 0 and 1`)
    faults[field] = value
  }
  return faults
}

function parseArgs(argv: string[]): SimOptions & { kubeconfig?: string } {
  const opts: SimOptions & { kubeconfig?: string } = {}
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    i++
    switch (flag) {
      case '--port': opts.port = count(flag, value); break
      case '--host': opts.host = value ?? fail('--host needs a value'); break
      case '--kubeconfig': opts.kubeconfig = value ?? fail('--kubeconfig needs a file'); break
      case '--nodes': opts.nodes = count(flag, value); break
      case '--pods-per-node': opts.podsPerNode = count(flag, value); break
      case '--sessions-per-node': opts.sessionsPerNode = count(flag, value); break
      case '--pod-terminate-seconds': opts.podTerminateSeconds = count(flag, value); break
      case '--metrics':
        if (value !== 'on' && value !== 'off') fail('--metrics is on or off')
        opts.metrics = value === 'on'
        break
      case '--faults': opts.faults = parseFaults(value ?? ''); break
      case '-h':
      case '--help':
        console.log(USAGE)
        process.exit(0)
      // eslint-disable-next-line no-fallthrough
      default: fail(`unknown option ${flag}`)
    }
  }
  return opts
}

const opts = parseArgs(process.argv.slice(2))
const started = Date.now()
const sim = await startSim(opts)
if (opts.kubeconfig) await sim.writeKubeconfig(opts.kubeconfig)
const nodes = sim.cluster.store.collection('nodes').objects.size
const pods = sim.cluster.store.collection('pods').objects.size
console.log(`sim: Kubernetes API at ${sim.url} (${nodes} nodes, ${pods} pods, ready in ${Date.now() - started} ms)${opts.kubeconfig ? `; kubeconfig ${opts.kubeconfig}` : ''}`)

let closing = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (closing) return
    closing = true
    sim.close().then(() => process.exit(0), () => process.exit(1))
  })
}
