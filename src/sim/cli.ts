// npm run sim -- --port <p> --kubeconfig <file> [--nodes N] [--pods-per-node M] [--sessions-per-node S]
//   [--pod-terminate-seconds T] [--metrics on|off] [--faults error=0.1,latency=50,drop-watch=30000,conflict=0.2]
//   [--audit-log FILE]
// Writes the kubeconfig, prints one line with the URL when ready, serves until SIGTERM/SIGINT.
import { readFileSync } from 'node:fs'
import v8 from 'node:v8'
import { parseArgs, USAGE, UsageError, type CliOptions } from './cli-args.js'
import { startSim } from './index.js'

// Seeding 150,000 pods is allocation-heavy: a larger young generation halves the GC time.
v8.setFlagsFromString('--max-semi-space-size=64')

let opts: CliOptions
try {
  opts = parseArgs(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof UsageError)) throw err
  console.error(`sim: ${err.message}\n${USAGE}`)
  process.exit(2)
}
if (opts.help) {
  console.log(USAGE)
  process.exit(0)
}

const started = Date.now()
const sim = await startSim(opts)
if (opts.kubeconfig) await sim.writeKubeconfig(opts.kubeconfig)
const nodes = sim.cluster.store.collection('nodes').objects.size
const pods = sim.cluster.store.collection('pods').objects.size
console.log(`sim: Kubernetes API at ${sim.url} (${nodes} nodes, ${pods} pods, ready in ${Date.now() - started} ms)${opts.kubeconfig ? `; kubeconfig ${opts.kubeconfig}` : ''}`)

let closing = false
function shutdown(): void {
  if (closing) return
  closing = true
  sim.close().then(() => process.exit(0), () => process.exit(1))
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, shutdown)

/** Parent pid of a process, from /proc (Linux); undefined elsewhere or when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return undefined
  }
}

function commandOf(pid: number | undefined): string {
  try {
    return pid ? readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ') : ''
  } catch {
    return ''
  }
}

// `npm run sim` runs npm -> sh -c -> tsx -> this process. SIGTERM to npm kills the shell but not
// tsx, which would leave the sim serving as an orphan: exit when the parent, npm's shell or npm goes away.
const grandparent = parentOf(process.ppid)
const npmShell = /^(\/bin\/)?sh -c /.test(commandOf(grandparent)) && /npm/.test(commandOf(grandparent && parentOf(grandparent)))
const ancestors = [process.ppid, ...(npmShell && grandparent ? [grandparent, parentOf(grandparent) ?? 0] : [])].filter((p) => p > 1)
const watchdog = setInterval(() => {
  const gone = ancestors.some((pid) => {
    try {
      process.kill(pid, 0)
      return false
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH'
    }
  })
  if (gone) shutdown()
}, 500)
watchdog.unref()
