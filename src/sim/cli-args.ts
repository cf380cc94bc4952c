// Argument parsing for the sim CLI (src/sim/cli.ts), kept apart so tests can use it.
import type { FaultSpec, SimOptions } from './index.js'

export const USAGE = `usage: npm run sim -- --port <p> --kubeconfig <file> [options]
  --port P                    listen port (0: any free one)
  --host H                    listen address (default 127.0.0.1)
  --kubeconfig FILE           write a kubeconfig for this cluster to FILE
  --nodes N                   N generated nodes (0: empty cluster); without it, the demo cluster
  --pods-per-node M           workload pods per generated node
  --sessions-per-node S       StreamSpace session pods per generated node
  --pod-terminate-seconds T   deleted pods go after T s, whatever their grace period
  --metrics on|off            serve metrics.k8s.io (default on)
  --faults SPEC               error=0.1,latency=50,drop-watch=30000,conflict=0.2,watch-error=504
  --controllers on|off        Deployment/ReplicaSet controllers, garbage collection, a minimal scheduler and
                              StreamSpace's session controller; seeded sessions become Session objects
                              (default: on for the demo cluster)
  --heartbeat-seconds H       renew node heartbeats and Leases every H s (default: 20 demo, else off)
  --bookmark-seconds B        watch BOOKMARK period in s, fractions allowed (default 15; a real API server: about 60)
  --audit-log FILE            append every write (evictions, deletions, patches...) and every 5xx answer to FILE,
                              one JSON line each: time, verb, resource, object, Host header, status
  -h, --help                  this text`

export class UsageError extends Error {}

function count(flag: string, value: string | undefined): number {
  const n = Number(value)
  if (value === undefined || !Number.isInteger(n) || n < 0) throw new UsageError(`${flag} needs a whole number >= 0, got ${value ?? 'nothing'}`)
  return n
}

function seconds(flag: string, value: string | undefined): number {
  const n = Number(value)
  if (value === undefined || value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} needs a number of seconds > 0, got ${value ?? 'nothing'}`)
  return n
}

/** "error=0.1,latency=50,drop-watch=30000,conflict=0.2" -> Partial<FaultSpec>. */
export function parseFaults(spec: string): Partial<FaultSpec> {
  const faults: Partial<FaultSpec> = {}
  const names: Record<string, keyof FaultSpec> = { error: 'errorRate', latency: 'latencyMs', 'drop-watch': 'dropWatchMs', conflict: 'conflictRate', 'watch-error': 'watchErrorCode' }
  for (const part of spec.split(',').filter(Boolean)) {
    const [key, raw] = part.split('=')
    const field = names[key?.trim()]
    const value = Number(raw)
    if (!field || raw === undefined || !Number.isFinite(value) || value < 0) throw new UsageError(`bad fault "${part}" (known: error, latency, drop-watch, conflict, watch-error)`)
    if ((field === 'errorRate' || field === 'conflictRate') && value > 1) throw new UsageError(`${key} is a fraction between 0 and 1`)
    faults[field] = value
  }
  return faults
}

export interface CliOptions extends SimOptions {
  kubeconfig?: string
  help?: boolean
}

export function parseArgs(argv: string[]): CliOptions {
  const opts: CliOptions = {}
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    if (flag === '-h' || flag === '--help') {
      opts.help = true
      continue
    }
    const value = argv[++i]
    switch (flag) {
      case '--port': opts.port = count(flag, value); break
      case '--host':
        if (!value) throw new UsageError('--host needs a value')
        opts.host = value
        break
      case '--kubeconfig':
        if (!value) throw new UsageError('--kubeconfig needs a file')
        opts.kubeconfig = value
        break
      case '--nodes': opts.nodes = count(flag, value); break
      case '--pods-per-node': opts.podsPerNode = count(flag, value); break
      case '--sessions-per-node': opts.sessionsPerNode = count(flag, value); break
      case '--pod-terminate-seconds': opts.podTerminateSeconds = count(flag, value); break
      case '--metrics':
        if (value !== 'on' && value !== 'off') throw new UsageError('--metrics is on or off')
        opts.metrics = value === 'on'
        break
      case '--faults': opts.faults = parseFaults(value ?? ''); break
      case '--heartbeat-seconds': opts.heartbeatSeconds = count(flag, value); break
      case '--bookmark-seconds': opts.bookmarkSeconds = seconds(flag, value); break
      case '--audit-log':
        if (!value) throw new UsageError('--audit-log needs a file')
        opts.auditLog = value
        break
      case '--controllers':
        if (value !== 'on' && value !== 'off') throw new UsageError('--controllers is on or off')
        opts.controllers = value === 'on'
        break
      default: throw new UsageError(`unknown option ${flag}`)
    }
  }
  return opts
}
