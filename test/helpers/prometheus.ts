// The real Prometheus tools from Debian's packages (scripts/setup-monitoring.sh installs them):
// promtool to lint a scrape and test rules, and a Prometheus server started on a free port with
// its own temporary directory. Also a small reader of the text exposition format for assertions.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from './fixtures.js'
import { freePort } from './ports.js'

/** The binary's path: on PATH, else /usr/bin (Debian's place). Throws saying how to get it. */
export function toolPath(name: 'prometheus' | 'promtool'): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim()
  if (found) return found
  if (existsSync(`/usr/bin/${name}`)) return `/usr/bin/${name}`
  throw new Error(`${name} not found: run scripts/setup-monitoring.sh (npm test does)`)
}

export interface ToolResult { code: number | null; stdout: string; stderr: string }

export function promtool(args: string[], input?: string): ToolResult {
  const r = spawnSync(toolPath('promtool'), args, { input, encoding: 'utf8', timeout: 60_000 })
  if (r.error) throw r.error
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

export interface Sample { name: string; labels: Record<string, string>; value: number }

/** Samples of a text exposition (label values unescaped). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line)
    if (!m) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    }
    out.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return out
}

/** The value of the one sample with this name whose labels include `labels`; undefined when none. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} samples match`)
  return found[0]?.value
}

export interface PrometheusServer {
  url: string
  dir: string
  /** GET /api/v1/query: the result vector (throws on a non-success answer). */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>
  /** GET /api/v1/targets: the active targets' health. */
  targets(): Promise<{ scrapeUrl: string; health: string; lastError: string }[]>
  log(): string
  stop(): Promise<void>
}

/**
 * Starts Prometheus on a free loopback port, its TSDB in a fresh temp dir, scraping `targets`
 * (host:port) at `/metrics` every `scrapeIntervalSeconds`, with `ruleFiles` loaded.
 */
export async function startPrometheus(opts: { targets: string[]; scrapeIntervalSeconds?: number; ruleFiles?: string[] }): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-'))
  const port = await freePort()
  const interval = `${opts.scrapeIntervalSeconds ?? 1}s`
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    ...(opts.ruleFiles?.length ? ['rule_files:', ...opts.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : []),
    'scrape_configs:',
    '  - job_name: streamspace-node-manager',
    `    scrape_timeout: ${interval}`,
    '    static_configs:',
    `      - targets: [${opts.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n')
  writeFileSync(join(dir, 'prometheus.yml'), config)
  const child: ChildProcess = spawn(toolPath('prometheus'), [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // Debian's defaults point at /usr/share/prometheus; the tests need no console templates.
    `--web.console.templates=${join(dir, 'consoles')}`,
    `--web.console.libraries=${join(dir, 'console_libraries')}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout!.on('data', (d) => { log += d })
  child.stderr!.on('data', (d) => { log += d })
  let exited: number | null | undefined
  const exit = new Promise<void>((resolve) => child.on('exit', (code) => { exited = code; resolve() }))
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (exited === undefined) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exit
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitFor(async () => {
      if (exited !== undefined) throw new Error(`prometheus exited ${exited}:\n${log}`)
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200
    }, 30_000, 'prometheus ready')
  } catch (err) {
    await stop()
    throw err
  }
  const api = async (path: string) => {
    const res = await fetch(`${url}${path}`)
    const body = await res.json() as { status: string; data: any; error?: string }
    if (res.status !== 200 || body.status !== 'success') throw new Error(`prometheus ${path}: HTTP ${res.status} ${body.error ?? ''}`)
    return body.data
  }
  return {
    url,
    dir,
    query: async (expr) => (await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    targets: async () => (await api('/api/v1/targets?state=active')).activeTargets,
    log: () => log,
    stop,
  }
}
