// A real Alertmanager (Debian's prometheus-alertmanager, installed by scripts/setup-monitoring.sh)
// on a free loopback port with its own temp directory and a minimal config; stopped after.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from './fixtures.js'
import { freePort } from './ports.js'

export interface AmAlert {
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL: string
  fingerprint: string
  status: { state: string }
}

export interface Alertmanager {
  url: string
  /** GET /api/v2/alerts: the alerts Alertmanager holds as active (resolved ones drop out). */
  alerts(): Promise<AmAlert[]>
  stop(): Promise<void>
}

let installed = false
/** Runs the project's setup script once per process (a no-op when the packages are there). */
export function ensureMonitoringTools(): void {
  if (installed) return
  const r = spawnSync('bash', ['scripts/setup-monitoring.sh'], { stdio: 'inherit' })
  if (r.status !== 0) throw new Error('scripts/setup-monitoring.sh failed: Alertmanager is not available')
  installed = true
}

const CONFIG = `route:
  receiver: blackhole
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: blackhole
`

export async function startAlertmanager(): Promise<Alertmanager> {
  ensureMonitoringTools()
  const dir = mkdtempSync(join(tmpdir(), 'alertmanager-'))
  writeFileSync(join(dir, 'alertmanager.yml'), CONFIG)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  let output = ''
  const proc: ChildProcess = spawn('prometheus-alertmanager', [
    `--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  proc.stdout!.on('data', (d) => { output += d })
  proc.stderr!.on('data', (d) => { output += d })
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`alertmanager exited: ${output}`)
      return (await fetch(`${url}/-/ready`)).ok
    }, 20_000, 'alertmanager ready')
  } catch (err) {
    await stop()
    throw err
  }
  return {
    url,
    async alerts() {
      const res = await fetch(`${url}/api/v2/alerts`)
      if (!res.ok) throw new Error(`alertmanager GET /api/v2/alerts: ${res.status}`)
      return await res.json() as AmAlert[]
    },
    stop,
  }
}
