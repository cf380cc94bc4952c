// The admin UI's Nodes page in Chromium, measured in the page with the Performance API:
//   ui_first_rows_ms: navigation start (performance.timeOrigin) to the first animation frame after
//     the first node row entered the table (a MutationObserver installed before the page's own
//     scripts notices the row; the frame that paints it starts at the requestAnimationFrame after).
//   ui_filter_keystroke_ms: a key's keydown (event.timeStamp) to the start of the first animation
//     frame that finds the table committed for the new filter text (the page marks each committed
//     filter, `nodes-rendered:<filter>:<rows>`; that frame paints it); per run the median of the
//     keystrokes of typing a node's name, then the median of the runs.
// Each run is a fresh navigation with the browser's HTTP cache cleared; the server's caches are
// warmed by one load first. The figures are the medians over the runs.
//   npx tsx test/bench/ui.ts --origin http://127.0.0.1:8080 --token <jwt> [--runs 5]
//   npx tsx test/bench/ui.ts --nodes 65000 [--pods-per-node 3] [--runs 5]   (its own sim and service)
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { UI, buildUi, launch, signInThroughStorage } from '../ui/browser.js'
import { API_PREFIX, TEST_JWT_SECRET, makeToken } from '../helpers/service.js'
import { listeningUrl } from '../helpers/ports.js'

export interface UiFigures {
  ui_first_rows_ms: number
  ui_filter_keystroke_ms: number
  /** p90 of all keystrokes over all runs. */
  ui_filter_keystroke_p90_ms: number
  /** Navigation start to the frame after the table counts every node. */
  ui_all_rows_ms: number
  /** Resource timing of the first list request the page made (start to response end), median. */
  ui_first_fetch_ms: number
  ui_runs: number
  ui_nodes: number
}

const median = (xs: number[]) => quantile(xs, 0.5)
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN
}

/** What is typed into the filter, one key at a time: a node's name (each key narrows the table). */
export function nameToType(nodes: number): string {
  const digits = String(nodes - 1).length
  return `node-${String(Math.floor(nodes / 2) + 1).padStart(Math.max(5, digits), '0')}`
}

// In the page, before its scripts: the time of the frame after the first row entered the table.
// (Page-side code names no inner functions: tsx would wrap them in a helper the page lacks.)
const FIRST_ROWS_OBSERVER = `window.__firstRows = new Promise((resolve) => {
  const obs = new MutationObserver(() => {
    if (!document.querySelector('[data-testid=node-table] [role=row]')) return
    obs.disconnect()
    requestAnimationFrame(() => resolve(performance.now()))
  })
  document.addEventListener('DOMContentLoaded', () => obs.observe(document.body, { childList: true, subtree: true }))
})`

/** Resolves (in the page) with the ms from the next keydown to the frame after the table committed `expected`. */
function armKeystroke(page: Page, expected: string): Promise<void> {
  return page.evaluate((expected) => {
    const w = window as unknown as { __keystroke?: Promise<number> }
    performance.clearMarks()
    w.__keystroke = new Promise<number>((resolve) => {
      const input = document.querySelector('[data-testid=filter]') as HTMLInputElement
      input.addEventListener('keydown', async (e) => {
        const t0 = e.timeStamp
        const prefix = `nodes-rendered:${expected}:`
        // Each frame until the page has marked the commit for this text: that frame paints it.
        for (;;) {
          const now = await new Promise<number>((r) => requestAnimationFrame(r))
          if (performance.getEntriesByType('mark').some((m) => m.name.startsWith(prefix))) return resolve(now - t0)
        }
      }, { once: true })
    })
  }, expected)
}

async function typeMeasured(page: Page, text: string): Promise<number[]> {
  const out: number[] = []
  for (let i = 1; i <= text.length; i++) {
    await armKeystroke(page, text.slice(0, i))
    await page.keyboard.press(text[i - 1])
    out.push(await page.evaluate(() => (window as unknown as { __keystroke: Promise<number> }).__keystroke))
  }
  return out
}

export async function measureUi(opts: { origin: string; token: string; runs?: number; log?: (line: string) => void }): Promise<UiFigures> {
  const runs = opts.runs ?? 5
  const log = opts.log ?? (() => {})
  const stats = await fetch(`${opts.origin}${API_PREFIX}/nodes/stats`, { headers: { authorization: `Bearer ${opts.token}` } })
  if (!stats.ok) throw new Error(`GET P/nodes/stats answered ${stats.status}`)
  const total = (await stats.json() as { total_nodes: number }).total_nodes
  const typed = nameToType(total)
  buildUi()
  const browser = await launch()
  try {
    await browser.context.addInitScript(FIRST_ROWS_OBSERVER)
    const page = await browser.page()
    page.setDefaultTimeout(120_000)
    const cdp = await browser.context.newCDPSession(page)
    await signInThroughStorage(page, opts.origin, opts.token)
    const allRows = `${total} of ${total} nodes`
    const open = async () => {
      await cdp.send('Network.clearBrowserCache')
      await page.goto(`${opts.origin}${UI}/nodes`)
      // The whole list is in: the count names every node, then the next frame.
      return page.evaluate(async (allRows) => {
        while (!((document.querySelector('[data-testid=count]') as HTMLElement | null)?.innerText ?? '').startsWith(allRows)) await new Promise((r) => requestAnimationFrame(r))
        return performance.now()
      }, allRows)
    }
    await open() // warms the server's caches (prepared and compressed list)
    const first: number[] = [], all: number[] = [], fetches: number[] = [], keys: number[] = [], perRun: number[] = []
    for (let run = 0; run < runs; run++) {
      all.push(await open())
      first.push(await page.evaluate(() => (window as unknown as { __firstRows: Promise<number> }).__firstRows))
      // Each list request: its path and when it started and ended (ms after navigation start).
      const requests = await page.evaluate(() => (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
        .filter((e) => /\/nodes(\?limit=\d+)?$/.test(e.name))
        .map((e) => ({ path: e.name.replace(/^.*\/nodes/, 'nodes'), start: e.startTime, end: e.responseEnd })))
      fetches.push(requests.length ? requests[0].end - requests[0].start : NaN)
      await page.locator('[data-testid=filter]').focus()
      const k = await typeMeasured(page, typed)
      keys.push(...k)
      perRun.push(median(k))
      log(`run ${run + 1}: first rows ${first.at(-1)!.toFixed(0)} ms, all ${total} rows ${all.at(-1)!.toFixed(0)} ms, requests ${requests.map((r) => `${r.path} ${r.start.toFixed(0)}-${r.end.toFixed(0)}`).join(', ')} ms; keystrokes "${typed}" ${k.map((x) => x.toFixed(0)).join(' ')} ms`)
    }
    const errors = browser.takeErrors()
    if (errors.length) throw new Error(`console errors on the Nodes page:\n${errors.join('\n')}`)
    return {
      ui_first_rows_ms: median(first), ui_filter_keystroke_ms: median(perRun), ui_filter_keystroke_p90_ms: quantile(keys, 0.9),
      ui_all_rows_ms: median(all), ui_first_fetch_ms: median(fetches), ui_runs: runs, ui_nodes: total,
    }
  } finally {
    await browser.close()
  }
}

// ---- alone: its own simulator and service at a size ------------------------------------------

const root = resolve(import.meta.dirname, '../..')

async function startCluster(nodes: number, podsPerNode: number): Promise<{ origin: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'nm-ui-bench-'))
  const kubeconfig = join(dir, 'kubeconfig')
  const children: ChildProcess[] = []
  const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null
  process.on('exit', () => { for (const c of children) if (!exited(c)) c.kill('SIGKILL') })
  // The service first (it releases its Lease through the simulator), then the simulator.
  const stop = async () => {
    for (const c of [...children].reverse()) {
      if (exited(c)) continue
      const gone = new Promise((r) => c.once('exit', r))
      c.kill('SIGTERM')
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000)
      await gone
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const sim = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/bench/sim-process.ts'),
    JSON.stringify({ nodes, podsPerNode, kubeconfig, controllers: false })], { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.push(sim)
  await new Promise<void>((res, rej) => {
    sim.on('message', (m: { ready?: boolean }) => { if (m.ready) res() })
    sim.once('exit', (code) => rej(new Error(`simulator exited (${code})`)))
  })
  buildUi() // before the service starts: it reads the UI's files once
  let out = ''
  const svc = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KUBE_MODE: 'kubeconfig', KUBECONFIG: kubeconfig, JWT_SECRET: TEST_JWT_SECRET, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
  })
  children.push(svc)
  const keep = (d: Buffer) => { out = (out + d).slice(-200_000) }
  svc.stdout!.on('data', keep)
  svc.stderr!.on('data', keep)
  const origin = await listeningUrl('the service', () => out, () => svc.exitCode, 120_000)
  while ((await fetch(`${origin}/readyz`).then((r) => r.status, () => 0)) !== 200) {
    if (svc.exitCode !== null) throw new Error(`the service exited (${svc.exitCode}):\n${out.slice(-3000)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return { origin, stop }
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
  const USAGE = 'usage: npx tsx test/bench/ui.ts (--origin URL --token JWT | --nodes N [--pods-per-node M]) [--runs R]'
  const args = new Map<string, string>()
  for (let i = 2; i < process.argv.length; i += 2) {
    const [k, v] = [process.argv[i], process.argv[i + 1]]
    if (!['--origin', '--token', '--nodes', '--pods-per-node', '--runs'].includes(k) || v === undefined) throw new Error(`${k}: not an option or no value\n${USAGE}`)
    args.set(k, v)
  }
  const whole = (k: string, d: number) => {
    const n = Number(args.get(k) ?? d)
    if (!Number.isInteger(n) || n < 1) throw new Error(`${k} needs a whole number >= 1\n${USAGE}`)
    return n
  }
  let origin = args.get('--origin')
  let stop = async () => {}
  if (!origin) {
    if (!args.has('--nodes')) throw new Error(USAGE)
    const t0 = Date.now()
    ;({ origin, stop } = await startCluster(whole('--nodes', 1), whole('--pods-per-node', 3)))
    console.log(`simulator and service ready in ${((Date.now() - t0) / 1000).toFixed(1)} s at ${origin}`)
  }
  try {
    const figures = await measureUi({ origin, token: args.get('--token') ?? makeToken(), runs: whole('--runs', 5), log: (l) => console.log(l) })
    console.log(JSON.stringify(figures, null, 2))
  } finally {
    await stop()
  }
}
