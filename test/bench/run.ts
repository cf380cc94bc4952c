// npm run bench -- [--nodes 5000] [--pods-per-node 30] [--quick] [--json out.json] [--growth] [--cpu-prof DIR]
// One run on one simulated cluster: the simulator at that size (its own process), the service
// against it (src/server.ts, its own process, LOG_LEVEL=info as deployed), and beside them the
// comparison points: a bare node:http server sending the same bytes (the machine's HTTP ceiling),
// the original plugin's way (LIST nodes, LIST pods, metrics per request), kubectl, a bare paginated
// LIST. Prints a table with each figure against its target and writes every figure as JSON.
// --growth: the same run at 5,000, 20,000 and 65,000 nodes (3 pods per node unless
// --pods-per-node is given: 195,000 pods at the top), and a table of how the costs grow.
// --quick: a small cluster and short windows (the test suite runs it; its figures mean nothing).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { KubeConfig } from '@kubernetes/client-node'
import { createKubeClients, type KubeClients } from '../../src/kube/client.js'
import { makeToken, TEST_JWT_SECRET, API_PREFIX } from '../helpers/service.js'
import { createNode, createPod, createReplicaSet, ensureNamespace, podsOnNode } from '../drain/fixtures.js'
import { listeningUrl } from '../helpers/ports.js'
import { parseDockerfile, stageEnv } from '../helpers/dockerfile.js'
import { buildUi } from '../ui/browser.js'
import { measureUi } from './ui.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl'
const METRIC_PREFIX = 'streamspace_node_manager_'

interface Options {
  nodes: number
  podsPerNode: number
  quick: boolean
  json?: string
  growth: boolean
  cpuProf?: string
}

/** POSTs `body` one after another for `ms` (at least `min` times): each latency in ms and the statuses. */
async function posts(origin: string, path: string, headers: Record<string, string>, body: unknown, ms: number, min = 1): Promise<{ latencies: number[]; statuses: Record<number, number> }> {
  const pool = new Pool(origin, { connections: 1 })
  const latencies: number[] = []
  const statuses: Record<number, number> = {}
  const end = performance.now() + ms
  while (performance.now() < end || latencies.length < min) {
    const t = performance.now()
    const res = await pool.request({ path, method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    await res.body.dump()
    latencies.push(performance.now() - t)
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
  }
  await pool.close()
  return { latencies, statuses }
}

function parseOptions(argv: string[]): Options {
  const o: Options = { nodes: 5000, podsPerNode: 30, quick: false, growth: false }
  let nodesGiven = false, podsGiven = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    const count = () => {
      const n = Number(value())
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a whole number >= 1`)
      return n
    }
    switch (a) {
      case '--nodes': o.nodes = count(); nodesGiven = true; break
      case '--pods-per-node': o.podsPerNode = count(); podsGiven = true; break
      case '--quick': o.quick = true; break
      case '--growth': o.growth = true; break
      case '--json': o.json = resolve(value()); break
      case '--cpu-prof': o.cpuProf = resolve(value()); break
      default: throw new Error(`unknown option ${a}\nusage: npm run bench -- [--nodes 5000] [--pods-per-node 30] [--quick] [--json out.json] [--growth] [--cpu-prof DIR]`)
    }
  }
  if (o.quick) {
    if (!nodesGiven) o.nodes = 60
    if (!podsGiven) o.podsPerNode = 5
  } else if (o.growth && !podsGiven) {
    o.podsPerNode = 3
  }
  return o
}

/**
 * Window lengths: the full run's, or the quick run's (the suite's smoke test). From 20,000 nodes
 * the slow comparison points (a LIST of everything through client-node per request, kubectl
 * printing the whole list) are measured once: each call takes tens of seconds there.
 */
function windows(quick: boolean, nodes: number) {
  if (quick) return { loadMs: 800, connections: 4, directMinRequests: 1, kubectlCalls: 1, scrapes: 2, churnMs: 3000, pollMs: 300, drainPods: 6, terminateSeconds: 1, fitChecks: 2 }
  const large = nodes >= 20_000
  return { loadMs: 5000, connections: 8, directMinRequests: large ? 1 : 3, kubectlCalls: large ? 1 : 3, scrapes: 5, churnMs: 32_000, pollMs: 1000, drainPods: 110, terminateSeconds: 2, fitChecks: 5 }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const quantile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * p))] : NaN
}
const median = (xs: number[]) => quantile(xs, 0.5)

const children = new Set<ChildProcess>()
function track(child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}
function killAll(): void {
  for (const c of children) c.kill('SIGTERM')
}
process.on('exit', killAll)
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => { killAll(); process.exit(130) })

/** Spawns `node [flags] args`, resolving once `ready` matches its output. */
function startProcess(args: string[], opts: { env?: NodeJS.ProcessEnv; ready: RegExp; nodeFlags?: string[] }): Promise<{ child: ChildProcess; out: () => string; match: RegExpExecArray }> {
  const child = track(spawn(process.execPath, [...(opts.nodeFlags ?? []), ...args], { cwd: root, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] }))
  let out = ''
  return new Promise((res, rej) => {
    const onData = (d: Buffer) => {
      out += d
      if (out.length > 1e6) out = out.slice(-1e5)
      const m = opts.ready.exec(out)
      if (m) { child.stdout!.off('data', onData); child.stdout!.on('data', () => undefined); res({ child, out: () => out, match: m }) }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (d) => { out += d; if (out.length > 1e6) out = out.slice(-1e5) })
    child.once('exit', (code) => rej(new Error(`${args.join(' ')} exited (${code}):\n${out.slice(-3000)}`)))
  })
}

// ---------------------------------------------------------------------------------------------
// The simulator, with its IPC control channel (test/bench/sim-process.ts)

interface SimHandle {
  child: ChildProcess
  url: string
  kubeconfig: string
  kc: KubeConfig
  clients: KubeClients
  nodes: number
  pods: number
  seedMs: number
  control<T>(msg: object): Promise<T>
}

async function startSim(dir: string, nodes: number, podsPerNode: number, terminateSeconds: number): Promise<SimHandle> {
  const kubeconfig = join(dir, 'kubeconfig')
  const child = track(spawn(process.execPath, ['--import', 'tsx', join(root, 'test/bench/sim-process.ts'),
    JSON.stringify({ nodes, podsPerNode, kubeconfig, podTerminateSeconds: terminateSeconds, controllers: false })],
  { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  let seq = 0
  const pending = new Map<number, (m: unknown) => void>()
  const ready = new Promise<{ url: string; nodes: number; pods: number; ms: number }>((res, rej) => {
    child.on('message', (m: { id?: number; ready?: boolean }) => {
      if (m.ready) res(m as never)
      else if (m.id !== undefined) { pending.get(m.id)?.(m); pending.delete(m.id) }
    })
    child.once('exit', (code) => rej(new Error(`simulator exited (${code})`)))
  })
  const r = await ready
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfig)
  return {
    child, url: r.url, kubeconfig, kc, clients: createKubeClients(kc), nodes: r.nodes, pods: r.pods, seedMs: r.ms,
    control<T>(msg: object) {
      const id = ++seq
      return new Promise<T>((res) => { pending.set(id, res as (m: unknown) => void); child.send({ ...msg, id }) })
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Load { rps: number; p50: number; p99: number; bytes: number; statuses: Record<number, number> }

/**
 * `connections` clients, each sending its next request when the last answer has been read, for
 * `ms`. `onResponse` may change the headers of that client's next request (a polling client's ETag).
 */
async function load(origin: string, path: string, headers: Record<string, string>, o: { ms: number; connections: number; minRequests?: number; onResponse?: (h: Record<string, string>, status: number, resHeaders: Record<string, string | string[] | undefined>) => void }): Promise<Load> {
  const pool = new Pool(origin, { connections: o.connections, pipelining: 1, bodyTimeout: 600_000, headersTimeout: 600_000 })
  const latencies: number[] = []
  const statuses: Record<number, number> = {}
  let bytes = 0
  const t0 = performance.now()
  const end = t0 + o.ms
  await Promise.all(Array.from({ length: o.connections }, async () => {
    const h = { ...headers }
    while (performance.now() < end || latencies.length < (o.minRequests ?? 0)) {
      const t = performance.now()
      const res = await pool.request({ path, method: 'GET', headers: h })
      for await (const chunk of res.body) bytes += chunk.length
      if (res.statusCode !== 200 && res.statusCode !== 304) throw new Error(`${origin}${path}: HTTP ${res.statusCode}`)
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
      latencies.push(performance.now() - t)
      o.onResponse?.(h, res.statusCode, res.headers)
    }
  }))
  const elapsed = performance.now() - t0
  await pool.close()
  return { rps: latencies.length / (elapsed / 1000), p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), bytes: bytes / Math.max(1, latencies.length), statuses }
}

function rssMib(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

/** A paginated LIST of all nodes and all pods (500 a page, both at once as the service's caches list them), parsed: the API server's own floor for a cold start. */
async function bareList(server: string): Promise<{ seconds: number; nodes: number; pods: number }> {
  const t0 = performance.now()
  const all = async (path: string) => {
    let n = 0
    let cont = ''
    do {
      const res = await fetch(`${server}${path}?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`)
      const page = JSON.parse(await res.text()) as { items: unknown[]; metadata: { continue?: string } }
      n += page.items.length
      cont = page.metadata.continue ?? ''
    } while (cont)
    return n
  }
  const [nodes, pods] = await Promise.all([all('/api/v1/nodes'), all('/api/v1/pods')])
  return { seconds: (performance.now() - t0) / 1000, nodes, pods }
}

/**
 * Runs a command to its end, reading its output as it comes and keeping only the first 2,000
 * characters of stdout (kubectl prints ~750 MB of JSON at 65,000 nodes: more than a string holds).
 */
function run(cmd: string, args: string[], timeoutMs = 600_000): Promise<{ code: number; out: string; ms: number }> {
  const t0 = performance.now()
  return new Promise((res) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs })
    let head = '', stderr = ''
    child.stdout.on('data', (d: Buffer) => { if (head.length < 2000) head += d.toString().slice(0, 2000 - head.length) })
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d).slice(-20_000) })
    child.once('close', (code) => res({ code: code ?? 1, out: `${head}${stderr}`, ms: performance.now() - t0 }))
  })
}

async function scrape(origin: string): Promise<{ ms: number; text: string }> {
  const t0 = performance.now()
  const res = await fetch(`${origin}/metrics`)
  const text = await res.text()
  if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`)
  return { ms: performance.now() - t0, text }
}

/** prom-client's event-loop delay p99 since its last scrape (it resets the histogram on every collect). */
function eventLoopP99Ms(text: string): number {
  const m = new RegExp(`^${METRIC_PREFIX}nodejs_eventloop_lag_p99_seconds (\\S+)`, 'm').exec(text)
  return m ? Number(m[1]) * 1000 : NaN
}

/** Drain fixtures: a node with `pods` ReplicaSet pods (each with a grace period: the simulator ends them after terminateSeconds). */
async function drainFixture(c: KubeClients, node: string, pods: number, grace: number): Promise<void> {
  const ns = 'bench-drain'
  await ensureNamespace(c, ns)
  await createNode(c, node)
  const labels = { app: `web-${node}` }
  const rs = await createReplicaSet(c, ns, `web-${node}`, pods, labels)
  for (let i = 0; i < pods; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, pods - i) }, (_, j) =>
      createPod(c, { namespace: ns, name: `web-${node}-${i + j}`, node, owner: rs, labels, grace })))
  }
  const n = (await podsOnNode(c, node)).length
  if (n !== pods) throw new Error(`drain fixture: ${n} pods on ${node}, expected ${pods}`)
}

// ---------------------------------------------------------------------------------------------
// One run

type Result = Record<string, number | string | Record<string, number>>

const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`)

/**
 * The service as the image runs it (`node dist/server.js`): compiled by tsc, the build's own
 * settings, into .bench/dist (git-ignored; incremental, so a rerun compiles only what changed).
 * Not tsx: its transpiling would add to the start time and the memory measured.
 */
function compileService(): string {
  const out = join(root, '.bench')
  log('compiling the service (tsc -p tsconfig.build.json) into .bench/dist...')
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'),
    '--outDir', join(out, 'dist'), '--incremental', '--tsBuildInfoFile', join(out, 'tsbuildinfo')], { cwd: root, stdio: 'inherit' })
  if (tsc.status !== 0) throw new Error('tsc failed')
  // The admin UI beside it, as the image has dist/ui next to dist/server.js.
  buildUi()
  rmSync(join(out, 'dist/ui'), { recursive: true, force: true })
  symlinkSync(join(root, 'dist/ui'), join(out, 'dist/ui'))
  return join(out, 'dist/server.js')
}

/** How the image runs the service: CMD's arguments before dist/server.js (node flags) and the runtime stage's ENV (Dockerfile). */
function imageRuntime(): { nodeFlags: string[]; env: Record<string, string> } {
  const runtime = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8')).at(-1)!
  if (!runtime.cmd) throw new Error('no CMD in the Dockerfile')
  // PORT and HOST are the bench's to set (it listens on a free port on 127.0.0.1).
  const { PORT: _port, HOST: _host, ...env } = stageEnv(runtime)
  return { nodeFlags: runtime.cmd.slice(0, runtime.cmd.indexOf('dist/server.js')), env }
}

let serviceEntry = ''

/**
 * The compiled service against the simulator, from process start to /readyz answering 200. Its
 * log (a line per request at info) goes to a file, as a container runtime writes it: not through
 * this process, which generates the load.
 */
async function startService(dir: string, name: string, kubeconfig: string, nodeFlags: string[], env: Record<string, string>): Promise<{ child: ChildProcess; origin: string; readySeconds: number }> {
  const t0 = performance.now()
  const logFile = join(dir, `${name}.log`)
  const logFd = openSync(logFile, 'w')
  const child = track(spawn(process.execPath, [...nodeFlags, serviceEntry], {
    cwd: root, stdio: ['ignore', logFd, logFd],
    env: { ...process.env, ...env, KUBE_MODE: 'kubeconfig', KUBECONFIG: kubeconfig, JWT_SECRET: TEST_JWT_SECRET, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
  }))
  closeSync(logFd)
  child.once('exit', (code) => { if (code !== null && code !== 0) console.error(`${name} exited ${code}:\n${readFileSync(logFile, 'utf8').slice(-3000)}`) })
  const origin = await listeningUrl(name, () => readFileSync(logFile, 'utf8'), () => child.exitCode)
  while ((await fetch(`${origin}/readyz`).then((x) => x.status, () => 0)) !== 200) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}): ${readFileSync(logFile, 'utf8').slice(-3000)}`)
    await sleep(20)
  }
  return { child, origin, readySeconds: (performance.now() - t0) / 1000 }
}

async function benchOnce(o: Options): Promise<Result> {
  const w = windows(o.quick, o.nodes)
  const dir = mkdtempSync(join(tmpdir(), 'bench-'))
  const r: Result = {}
  const extra: Record<string, number> = {}
  try {
    // 1. The cluster.
    log(`simulator: ${o.nodes} nodes, ${o.nodes * o.podsPerNode} pods...`)
    const sim = await startSim(dir, o.nodes, o.podsPerNode, w.terminateSeconds)
    r.nodes = sim.nodes
    r.pods = sim.pods
    log(`simulator up (seeded in ${(sim.seedMs / 1000).toFixed(1)} s) at ${sim.url}`)

    // 2. The floor for a cold start: a bare paginated LIST of everything, parsed (twice: the first warms the simulator's paths).
    await bareList(sim.url)
    const bare = await bareList(sim.url)
    r.bare_list_seconds = bare.seconds
    log(`bare paginated LIST of ${bare.nodes} nodes and ${bare.pods} pods: ${bare.seconds.toFixed(2)} s`)

    // 3. The service, as deployed, from process start to ready.
    const image = imageRuntime()
    const nodeFlags = [...image.nodeFlags, ...(o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProf}`] : [])]
    const svc = await startService(dir, 'service', sim.kubeconfig, nodeFlags, image.env)
    const origin = svc.origin
    r.ready_seconds = svc.readySeconds
    // RSS after sync: a second after ready. The service's one GC at sync (src/server.ts) frees
    // pages that V8 gives back from a background thread within ~100 ms; without that GC the
    // figure is the same at ready and a second later.
    await sleep(1000)
    const rssAfterSync = rssMib(svc.child.pid!)
    extra.rss_after_sync_mib = rssAfterSync
    log(`service (${Object.entries(image.env).map(([k, v]) => `${k}=${v} `).join('')}node ${nodeFlags.join(' ')} server.js) ready ${(r.ready_seconds).toFixed(2)} s after process start; RSS ${rssAfterSync.toFixed(0)} MiB`)

    const headers = { authorization: `Bearer ${makeToken()}` }
    const first = await fetch(`${origin}${API_PREFIX}/nodes`, { headers })
    const listBody = Buffer.from(await first.arrayBuffer())
    extra.list_bytes = listBody.length
    if (JSON.parse(listBody.toString()).length !== sim.nodes) throw new Error('GET /nodes did not list every node')
    // A page of 500, as a paging client reads the list: the first page (the others cost the same).
    const pageBody = Buffer.from(await (await fetch(`${origin}${API_PREFIX}/nodes?limit=500`, { headers })).arrayBuffer())
    extra.list_page_bytes = pageBody.length
    const statsRes = await fetch(`${origin}${API_PREFIX}/nodes/stats`, { headers })
    const statsBody = Buffer.from(await statsRes.arrayBuffer())
    // The headers every answer of the service carries (security headers, request id, ...): the
    // bare server also sends them with the 300 bytes, to show what they cost on their own.
    const serviceHeaders: Record<string, string> = {}
    statsRes.headers.forEach((v, k) => { if (!['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(k)) serviceHeaders[k] = v })

    // 4. The ceiling: a bare node:http server in its own process sending the same list bytes, and a 300-byte body.
    const listFile = join(dir, 'list.json')
    writeFileSync(listFile, listBody)
    const pageFile = join(dir, 'page.json')
    writeFileSync(pageFile, pageBody)
    const small = JSON.stringify({ ...JSON.parse(statsBody.toString()), pad: '' })
    const smallBody = small.length < 300 ? small.replace('"pad":""', `"pad":"${'x'.repeat(300 - small.length)}"`) : small.slice(0, 300)
    const bareScript = `const fs=require('fs');const list=fs.readFileSync(${JSON.stringify(listFile)});const page=fs.readFileSync(${JSON.stringify(pageFile)});const small=Buffer.from(${JSON.stringify(smallBody)});` +
      `const plain={'content-type':'application/json'};const full=${JSON.stringify(serviceHeaders)};` +
      `const s=require('http').createServer((q,r)=>{const b=q.url==='/'?list:q.url==='/page'?page:small;r.writeHead(200,q.url==='/small-headers'?full:plain);r.end(b)});` +
      `s.keepAliveTimeout=60000;s.listen(0,'127.0.0.1',()=>console.log('bare listening '+s.address().port))`
    const bareSrv = await startProcess(['-e', bareScript], { ready: /bare listening (\d+)/ })
    const bareOrigin = `http://127.0.0.1:${bareSrv.match[1]}`
    const lo = { ms: w.loadMs, connections: w.connections }

    // 5. Load. The simulator counts what the service asks it meanwhile; prom-client's event-loop
    // histogram is reset by the scrape before and read by the scrape after.
    await sim.control({ cmd: 'counts' })
    const firstScrape = await scrape(origin)
    extra.metrics_first_scrape_ms = firstScrape.ms
    const baseline = await load(bareOrigin, '/', {}, lo)
    r.baseline_rps = baseline.rps
    extra.baseline_p99_ms = baseline.p99
    log(`bare node:http, the same ${(listBody.length / 1e6).toFixed(1)} MB: ${baseline.rps.toFixed(0)} req/s`)
    const baselineSmall = await load(bareOrigin, '/small', {}, lo)
    r.baseline_small_rps = baselineSmall.rps
    log(`bare node:http, ${smallBody.length} bytes: ${baselineSmall.rps.toFixed(0)} req/s`)
    const baselineSmallHeaders = await load(bareOrigin, '/small-headers', {}, lo)
    extra.baseline_small_headers_rps = baselineSmallHeaders.rps
    extra.service_header_bytes = Object.entries(serviceHeaders).reduce((a, [k, v]) => a + k.length + v.length + 4, 0)
    log(`bare node:http, ${smallBody.length} bytes with the service's ${Object.keys(serviceHeaders).length} headers (${extra.service_header_bytes} bytes): ${baselineSmallHeaders.rps.toFixed(0)} req/s`)
    const baselinePage = await load(bareOrigin, '/page', {}, lo)
    extra.baseline_page_rps = baselinePage.rps
    log(`bare node:http, the same page of 500 (${(pageBody.length / 1e6).toFixed(2)} MB): ${baselinePage.rps.toFixed(0)} req/s`)
    bareSrv.child.kill()

    const list = await load(origin, `${API_PREFIX}/nodes`, headers, lo)
    r.list_rps = list.rps
    r.list_p50_ms = list.p50
    r.list_p99_ms = list.p99
    log(`GET /nodes: ${list.rps.toFixed(0)} req/s, p50 ${list.p50.toFixed(1)} ms, p99 ${list.p99.toFixed(1)} ms`)
    for (const enc of ['gzip', 'br'] as const) {
      const z = await load(origin, `${API_PREFIX}/nodes`, { ...headers, 'accept-encoding': enc }, lo)
      const k = enc === 'gzip' ? 'list_gzip' : 'list_br'
      if (enc === 'gzip') { r.list_gzip_rps = z.rps; r.list_gzip_bytes = z.bytes } else { extra.list_br_rps = z.rps; extra.list_br_bytes = z.bytes }
      extra[`${k}_p99_ms`] = z.p99
      log(`GET /nodes, Accept-Encoding: ${enc}: ${z.rps.toFixed(0)} req/s, ${(z.bytes / 1e6).toFixed(2)} MB per answer`)
    }
    const page = await load(origin, `${API_PREFIX}/nodes?limit=500`, headers, lo)
    r.list_page_rps = page.rps
    extra.list_page_p99_ms = page.p99
    log(`GET /nodes?limit=500: ${page.rps.toFixed(0)} req/s, p99 ${page.p99.toFixed(1)} ms`)
    // Node selection as StreamSpace asks it for a new session: one request at a time.
    const select = await posts(origin, `${API_PREFIX}/nodes/select`, headers, { cpu: '500m', memory: '1Gi' }, w.loadMs, 20)
    r.select_p99_ms = quantile(select.latencies, 0.99)
    extra.select_p50_ms = quantile(select.latencies, 0.5)
    log(`POST /nodes/select: p50 ${Number(extra.select_p50_ms).toFixed(1)} ms, p99 ${r.select_p99_ms.toFixed(1)} ms (${JSON.stringify(select.statuses)})`)
    // The fit check of a 10-node maintenance plan: POST P/maintenance (it checks the fit before
    // anything starts; start_at an hour ahead, so nothing is cordoned), then cancel it. Each time
    // other nodes: the time includes writing the NodeMaintenance object.
    const names = (JSON.parse(listBody.toString()) as { name: string }[]).map((x) => x.name)
    const fits: number[] = []
    for (let i = 0; i < w.fitChecks; i++) {
      const nodes = names.slice(names.length - 10 * (i + 1), names.length - 10 * i)
      const plan = await posts(origin, `${API_PREFIX}/maintenance`, headers, { nodes, reason: 'bench: fit check', start_at: new Date(Date.now() + 3600_000).toISOString() }, 0)
      const status = Number(Object.keys(plan.statuses)[0])
      if (status !== 201 && status !== 422) throw new Error(`POST /maintenance: HTTP ${status}`)
      fits.push(plan.latencies[0]!)
    }
    r.fit_check_ms = median(fits)
    log(`POST /maintenance of 10 nodes (fit check): p50 ${r.fit_check_ms.toFixed(1)} ms`)
    const stats = await load(origin, `${API_PREFIX}/nodes/stats`, headers, lo)
    r.stats_rps = stats.rps
    r.stats_p99_ms = stats.p99
    log(`GET /nodes/stats: ${stats.rps.toFixed(0)} req/s, p99 ${stats.p99.toFixed(1)} ms`)
    const etag = (await fetch(`${origin}${API_PREFIX}/nodes`, { headers })).headers.get('etag') ?? ''
    const reval = await load(origin, `${API_PREFIX}/nodes`, { ...headers, 'if-none-match': etag }, {
      ...lo, onResponse: (h, status, rh) => { if (status === 200 && typeof rh.etag === 'string') h['if-none-match'] = rh.etag },
    })
    r.revalidate_rps = reval.rps
    extra.revalidate_304_ratio = (reval.statuses[304] ?? 0) / ((reval.statuses[304] ?? 0) + (reval.statuses[200] ?? 0))
    log(`GET /nodes with If-None-Match: ${reval.rps.toFixed(0)} req/s (${(Number(extra.revalidate_304_ratio) * 100).toFixed(0)}% 304)`)
    const afterLoad = await scrape(origin)
    r.eventloop_p99_ms = eventLoopP99Ms(afterLoad.text)
    extra.eventloop_p99_load_ms = r.eventloop_p99_ms
    const counts = await sim.control<{ counts: Record<string, number> }>({ cmd: 'counts' })
    r.apiserver_requests_during_load = Object.values(counts.counts).reduce((a, b) => a + b, 0)
    r.apiserver_requests_during_load_by_kind = counts.counts
    extra.apiserver_lists_during_load = Object.entries(counts.counts).filter(([k]) => /^list (nodes|pods)$/.test(k)).reduce((a, [, n]) => a + n, 0)
    const rssAfterLoad = rssMib(svc.child.pid!)
    extra.rss_after_load_mib = rssAfterLoad
    r.rss_mib = Math.max(rssAfterSync, rssAfterLoad)
    log(`service RSS after the load ${rssAfterLoad.toFixed(0)} MiB; event-loop p99 ${Number(r.eventloop_p99_ms).toFixed(1)} ms; API requests meanwhile: ${JSON.stringify(counts.counts)}`)

    // 6. /metrics, 1 s apart.
    const scrapes: number[] = []
    for (let i = 0; i < w.scrapes; i++) {
      await sleep(1000)
      scrapes.push((await scrape(origin)).ms)
    }
    r.metrics_scrape_ms = median(scrapes)
    extra.metrics_scrape_max_ms = Math.max(...scrapes)
    extra.metrics_scrape_bytes = firstScrape.text.length
    log(`GET /metrics: p50 ${r.metrics_scrape_ms.toFixed(1)} ms (first ${firstScrape.ms.toFixed(1)} ms, ${(firstScrape.text.length / 1e6).toFixed(1)} MB)`)
    // The same with per-node series forced on (METRICS_PER_NODE=on; auto turns them off above
    // 5,000 nodes) and forced off, each a second service against the same cluster.
    for (const mode of ['on', 'off'] as const) {
      const other = await startService(dir, `service-per-node-${mode}`, sim.kubeconfig, image.nodeFlags, { ...image.env, METRICS_PER_NODE: mode })
      const first = await scrape(other.origin)
      const times: number[] = []
      for (let i = 0; i < w.scrapes; i++) {
        await sleep(1000)
        times.push((await scrape(other.origin)).ms)
      }
      other.child.kill('SIGTERM')
      await new Promise((res) => { if (other.child.exitCode !== null) res(undefined); else other.child.once('exit', res) })
      r[`metrics_per_node_${mode}_scrape_ms`] = median(times)
      extra[`metrics_per_node_${mode}_scrape_bytes`] = first.text.length
      log(`GET /metrics with METRICS_PER_NODE=${mode}: p50 ${median(times).toFixed(1)} ms (${(first.text.length / 1e6).toFixed(1)} MB)`)
    }

    // 6b. The admin UI's Nodes page in Chromium (test/bench/ui.ts), the server's caches warm.
    const ui = await measureUi({ origin, token: makeToken(), runs: o.quick ? 1 : 5 })
    r.ui_first_rows_ms = ui.ui_first_rows_ms
    r.ui_filter_keystroke_ms = ui.ui_filter_keystroke_ms
    extra.ui_filter_keystroke_p90_ms = ui.ui_filter_keystroke_p90_ms
    extra.ui_all_rows_ms = ui.ui_all_rows_ms
    extra.ui_first_fetch_ms = ui.ui_first_fetch_ms
    log(`admin UI, Nodes page (${ui.ui_runs} runs): first rows ${ui.ui_first_rows_ms.toFixed(0)} ms, every row ${ui.ui_all_rows_ms.toFixed(0)} ms; filter keystroke median ${ui.ui_filter_keystroke_ms.toFixed(0)} ms, p90 ${ui.ui_filter_keystroke_p90_ms.toFixed(0)} ms`)

    // 7. The original plugin's way, per request, against the same simulator.
    const direct = await startProcess(['--import', 'tsx', '--max-old-space-size=8192', join(root, 'test/bench/direct-server.ts'), sim.kubeconfig], { ready: /direct listening (\d+)/ })
    const dl = await load(`http://127.0.0.1:${direct.match[1]}`, '/', {}, { ms: w.loadMs, connections: 2, minRequests: w.directMinRequests })
    direct.child.kill()
    r.direct_list_rps = dl.rps
    r.direct_list_p99_ms = dl.p99
    log(`direct (LIST nodes, LIST pods, metrics per request): ${dl.rps.toFixed(2)} req/s, p99 ${dl.p99.toFixed(0)} ms`)

    // 8. kubectl get nodes -o json, per call.
    await run(KUBECTL, ['--kubeconfig', sim.kubeconfig, 'version'])
    const kubectlMs: number[] = []
    for (let i = 0; i < w.kubectlCalls; i++) {
      const k = await run(KUBECTL, ['--kubeconfig', sim.kubeconfig, 'get', 'nodes', '-o', 'json'])
      if (k.code !== 0) throw new Error(`kubectl get nodes failed: ${k.out}`)
      kubectlMs.push(k.ms)
    }
    r.kubectl_get_nodes_ms = median(kubectlMs)
    log(`kubectl get nodes -o json: ${r.kubectl_get_nodes_ms.toFixed(0)} ms`)

    // 9. Churn (before the drain, whose new nodes' AGE texts change every second): every node's
    // heartbeat renewed every 10 s (status MODIFIED events that change nothing shown) and the
    // service's metrics polls (usage, which is shown), while a client polls the list with its ETag
    // once per pollMs. Each 200 is compared with the list before it: which fields of which nodes
    // changed (AGE texts of young nodes change every second: the seed has some created just now).
    await sim.control({ cmd: 'heartbeats', seconds: o.quick ? 1 : 10 })
    await scrape(origin)
    let polls = 0, notModified = 0
    const changedFields: Record<string, number> = {}
    const firstPoll = await fetch(`${origin}${API_PREFIX}/nodes`, { headers })
    let tag = firstPoll.headers.get('etag') ?? ''
    let last = JSON.parse(await firstPoll.text()) as Record<string, unknown>[]
    const churnEnd = performance.now() + w.churnMs
    while (performance.now() < churnEnd) {
      await sleep(w.pollMs)
      const res = await fetch(`${origin}${API_PREFIX}/nodes`, { headers: { ...headers, 'if-none-match': tag } })
      const text = await res.text()
      polls++
      if (res.status === 304) { notModified++; continue }
      tag = res.headers.get('etag') ?? tag
      const now = JSON.parse(text) as Record<string, unknown>[]
      const byName = new Map(last.map((v) => [v.name, v]))
      const fields = new Set<string>()
      for (const v of now) {
        const before = byName.get(v.name)
        if (!before) { fields.add('(node added)'); continue }
        for (const k of Object.keys(v)) if (JSON.stringify(v[k]) !== JSON.stringify(before[k])) fields.add(k)
      }
      if (now.length < last.length) fields.add('(node removed)')
      if (fields.size === 0) fields.add('(none: same content, other bytes)')
      for (const f of fields) changedFields[f] = (changedFields[f] ?? 0) + 1
      last = now
    }
    const afterChurn = await scrape(origin)
    extra.poll_304_ratio = notModified / polls
    extra.poll_requests = polls
    r.poll_200_changed_fields = changedFields
    extra.eventloop_p99_churn_ms = eventLoopP99Ms(afterChurn.text)
    r.eventloop_p99_ms = Math.max(Number(r.eventloop_p99_ms), extra.eventloop_p99_churn_ms)
    const rssEnd = rssMib(svc.child.pid!)
    extra.rss_end_mib = rssEnd
    log(`polling client during heartbeat churn: ${notModified}/${polls} answered 304; the 200s changed ${JSON.stringify(changedFields)}; event-loop p99 ${extra.eventloop_p99_churn_ms.toFixed(1)} ms; RSS ${rssEnd.toFixed(0)} MiB`)

    // 10. Drain a node of `drainPods` pods with the service, and another with kubectl drain.
    await Promise.all([drainFixture(sim.clients, 'bench-drain-service', w.drainPods, w.terminateSeconds), drainFixture(sim.clients, 'bench-drain-kubectl', w.drainPods, w.terminateSeconds)])
    const td = performance.now()
    const dres = await fetch(`${origin}${API_PREFIX}/nodes/bench-drain-service/drain`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ timeout_seconds: 300 }) })
    const dbody = await dres.json() as { pods_deleted?: number }
    r.drain_seconds = (performance.now() - td) / 1000
    if (dres.status !== 200 || dbody.pods_deleted !== w.drainPods) throw new Error(`service drain: HTTP ${dres.status} ${JSON.stringify(dbody).slice(0, 500)}`)
    const kd = await run(KUBECTL, ['--kubeconfig', sim.kubeconfig, 'drain', 'bench-drain-kubectl', '--ignore-daemonsets', '--timeout=300s'])
    if (kd.code !== 0) throw new Error(`kubectl drain: ${kd.out}`)
    r.kubectl_drain_seconds = kd.ms / 1000
    log(`drain of ${w.drainPods} pods (${w.terminateSeconds} s to terminate each): service ${Number(r.drain_seconds).toFixed(2)} s, kubectl ${Number(r.kubectl_drain_seconds).toFixed(2)} s`)

    svc.child.kill('SIGTERM')
    await new Promise((res) => { if (svc.child.exitCode !== null) res(undefined); else svc.child.once('exit', res) })
    sim.child.kill('SIGTERM')
    return { ...r, ...extra }
  } finally {
    killAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const f = (x: unknown, d = 1) => (typeof x === 'number' ? (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : String(x)) : String(x))
const n = (r: Result, k: string) => Number(r[k])

function checks(r: Result): { what: string; value: string; target: string; ratio: string; met: boolean | null }[] {
  // met null: a figure shown beside a target, not one itself.
  const row = (what: string, value: string, target: string, ratio: number, met: boolean | null) => ({ what, value, target, ratio: `${f(ratio, 2)}x`, met })
  return [
    row('GET /nodes req/s vs bare node:http, same bytes', `${f(n(r, 'list_rps'), 0)} vs ${f(n(r, 'baseline_rps'), 0)}`, '>= 0.8x', n(r, 'list_rps') / n(r, 'baseline_rps'), n(r, 'list_rps') >= 0.8 * n(r, 'baseline_rps')),
    row('GET /nodes/stats req/s vs bare 300 B', `${f(n(r, 'stats_rps'), 0)} vs ${f(n(r, 'baseline_small_rps'), 0)}`, '>= 0.7x', n(r, 'stats_rps') / n(r, 'baseline_small_rps'), n(r, 'stats_rps') >= 0.7 * n(r, 'baseline_small_rps')),
    row('GET /nodes/stats req/s vs bare 300 B + our headers', `${f(n(r, 'stats_rps'), 0)} vs ${f(n(r, 'baseline_small_headers_rps'), 0)}`, '', n(r, 'stats_rps') / n(r, 'baseline_small_headers_rps'), null),
    row('GET /nodes If-None-Match req/s vs bare 300 B', `${f(n(r, 'revalidate_rps'), 0)} vs ${f(n(r, 'baseline_small_rps'), 0)}`, '>= 0.7x', n(r, 'revalidate_rps') / n(r, 'baseline_small_rps'), n(r, 'revalidate_rps') >= 0.7 * n(r, 'baseline_small_rps')),
    row('GET /nodes p99 vs kubectl get nodes -o json', `${f(n(r, 'list_p99_ms'))} ms vs ${f(n(r, 'kubectl_get_nodes_ms'), 0)} ms`, '<= 0.1x', n(r, 'list_p99_ms') / n(r, 'kubectl_get_nodes_ms'), n(r, 'list_p99_ms') < 0.1 * n(r, 'kubectl_get_nodes_ms')),
    row('GET /nodes req/s vs direct (LISTs per request)', `${f(n(r, 'list_rps'), 0)} vs ${f(n(r, 'direct_list_rps'), 2)}`, '>= 100x', n(r, 'list_rps') / n(r, 'direct_list_rps'), n(r, 'list_rps') >= 100 * n(r, 'direct_list_rps')),
    row('RSS (max of after sync, after load)', `${f(n(r, 'rss_mib'), 0)} MiB`, '< 250 MiB', n(r, 'rss_mib') / 250, n(r, 'rss_mib') < 250),
    row('ready after process start', `${f(n(r, 'ready_seconds'), 2)} s`, '<= 10 s', n(r, 'ready_seconds') / 10, n(r, 'ready_seconds') <= 10),
    row('ready vs bare paginated LIST', `${f(n(r, 'ready_seconds'), 2)} s vs ${f(n(r, 'bare_list_seconds'), 2)} s`, '<= 1.5x', n(r, 'ready_seconds') / n(r, 'bare_list_seconds'), n(r, 'ready_seconds') <= 1.5 * n(r, 'bare_list_seconds')),
    row('GET /metrics (p50)', `${f(n(r, 'metrics_scrape_ms'))} ms`, '< 100 ms', n(r, 'metrics_scrape_ms') / 100, n(r, 'metrics_scrape_ms') < 100),
    row('event-loop p99 (load; churn with metrics polls)', `${f(n(r, 'eventloop_p99_ms'))} ms`, '< 50 ms', n(r, 'eventloop_p99_ms') / 50, n(r, 'eventloop_p99_ms') < 50),
    row('LISTs of nodes/pods during the load', `${n(r, 'apiserver_lists_during_load')} (${n(r, 'apiserver_requests_during_load')} requests in all)`, '0', n(r, 'apiserver_lists_during_load'), n(r, 'apiserver_lists_during_load') === 0),
    row('drain vs kubectl drain', `${f(n(r, 'drain_seconds'), 2)} s vs ${f(n(r, 'kubectl_drain_seconds'), 2)} s`, '<= 0.8x', n(r, 'drain_seconds') / n(r, 'kubectl_drain_seconds'), n(r, 'drain_seconds') <= 0.8 * n(r, 'kubectl_drain_seconds')),
    row('GET /nodes?limit=500 req/s vs bare, same page bytes', `${f(n(r, 'list_page_rps'), 0)} vs ${f(n(r, 'baseline_page_rps'), 0)}`, '>= 0.8x', n(r, 'list_page_rps') / n(r, 'baseline_page_rps'), n(r, 'list_page_rps') >= 0.8 * n(r, 'baseline_page_rps')),
    row('POST /nodes/select p99', `${f(n(r, 'select_p99_ms'))} ms`, '< 20 ms', n(r, 'select_p99_ms') / 20, n(r, 'select_p99_ms') < 20),
    row('GET /nodes/stats p99', `${f(n(r, 'stats_p99_ms'))} ms`, '< 5 ms', n(r, 'stats_p99_ms') / 5, n(r, 'stats_p99_ms') < 5),
    row('10-node maintenance fit check (POST /maintenance)', `${f(n(r, 'fit_check_ms'))} ms`, '< 1000 ms', n(r, 'fit_check_ms') / 1000, n(r, 'fit_check_ms') < 1000),
    row('GET /metrics, per-node series on (p50)', `${f(n(r, 'metrics_per_node_on_scrape_ms'))} ms`, '< 1000 ms', n(r, 'metrics_per_node_on_scrape_ms') / 1000, n(r, 'metrics_per_node_on_scrape_ms') < 1000),
    row('GET /metrics, per-node series off (p50)', `${f(n(r, 'metrics_per_node_off_scrape_ms'))} ms`, '< 50 ms', n(r, 'metrics_per_node_off_scrape_ms') / 50, n(r, 'metrics_per_node_off_scrape_ms') < 50),
    row('UI: Nodes page first rows after navigation', `${f(n(r, 'ui_first_rows_ms'), 0)} ms`, '< 2000 ms', n(r, 'ui_first_rows_ms') / 2000, n(r, 'ui_first_rows_ms') < 2000),
    row('UI: filter keystroke to frame (median)', `${f(n(r, 'ui_filter_keystroke_ms'), 0)} ms`, '< 100 ms', n(r, 'ui_filter_keystroke_ms') / 100, n(r, 'ui_filter_keystroke_ms') < 100),
    row('GET /nodes gzip req/s vs bare uncompressed', `${f(n(r, 'list_gzip_rps'), 0)} vs ${f(n(r, 'baseline_rps'), 0)} (${f(n(r, 'list_gzip_bytes') / 1e6, 2)} MB)`, '>= 3x', n(r, 'list_gzip_rps') / n(r, 'baseline_rps'), n(r, 'list_gzip_rps') >= 3 * n(r, 'baseline_rps')),
  ]
}

function printTable(r: Result): void {
  console.log(`\n${f(n(r, 'nodes'), 0)} nodes, ${f(n(r, 'pods'), 0)} pods; ${cpus().length} CPUs, Node ${process.version}\n`)
  const rows = checks(r)
  const w0 = Math.max(...rows.map((x) => x.what.length)), w1 = Math.max(...rows.map((x) => x.value.length))
  for (const x of rows) console.log(`${x.what.padEnd(w0)}  ${x.value.padEnd(w1)}  ${x.target.padEnd(9)} ${x.ratio.padStart(8)}  ${x.met === null ? '' : x.met ? 'met' : 'MISSED'}`)
  console.log(`\npolling client during heartbeat churn: ${f(n(r, 'poll_304_ratio') * 100, 0)}% answered 304 (${n(r, 'poll_requests')} polls); what changed in the 200s (polls per field): ${JSON.stringify(r.poll_200_changed_fields)}`)
}

/** How the costs grow: a Markdown table, each figure beside its ratio to what the issue 27 target compares it with. */
function printGrowth(runs: Result[]): void {
  const base = runs[0]!
  const ratio = (x: number, of: number) => `${f(x / of, 2)}x`
  const cols: [string, (r: Result) => string][] = [
    ['nodes', (r) => f(n(r, 'nodes'), 0)],
    ['pods', (r) => f(n(r, 'pods'), 0)],
    ['ready s (vs bare LIST, <= 1.5x)', (r) => `${f(n(r, 'ready_seconds'), 2)} (${ratio(n(r, 'ready_seconds'), n(r, 'bare_list_seconds'))})`],
    [`RSS after sync MiB (vs ${f(n(base, 'nodes'), 0)} nodes, <= 6x)`, (r) => `${f(n(r, 'rss_after_sync_mib'), 0)} (${ratio(n(r, 'rss_after_sync_mib'), n(base, 'rss_after_sync_mib'))})`],
    ['list MB', (r) => f(n(r, 'list_bytes') / 1e6, 1)],
    ['list req/s (vs bare, >= 0.8x)', (r) => `${f(n(r, 'list_rps'), 1)} (${ratio(n(r, 'list_rps'), n(r, 'baseline_rps'))})`],
    ['gzip req/s (vs bare, >= 3x)', (r) => `${f(n(r, 'list_gzip_rps'), 0)} (${ratio(n(r, 'list_gzip_rps'), n(r, 'baseline_rps'))})`],
    ['page of 500 req/s (vs bare, >= 0.8x)', (r) => `${f(n(r, 'list_page_rps'), 0)} (${ratio(n(r, 'list_page_rps'), n(r, 'baseline_page_rps'))})`],
    ['select p99 ms (< 20)', (r) => f(n(r, 'select_p99_ms'))],
    ['stats p99 ms (< 5)', (r) => f(n(r, 'stats_p99_ms'))],
    ['fit check ms (< 1000)', (r) => f(n(r, 'fit_check_ms'), 0)],
    ['/metrics per-node on ms (< 1000)', (r) => f(n(r, 'metrics_per_node_on_scrape_ms'), 0)],
    ['/metrics per-node off ms (< 50)', (r) => f(n(r, 'metrics_per_node_off_scrape_ms'))],
    ['UI first rows ms (< 2000)', (r) => f(n(r, 'ui_first_rows_ms'), 0)],
    ['UI keystroke ms (< 100)', (r) => f(n(r, 'ui_filter_keystroke_ms'), 0)],
  ]
  console.log('\ngrowth')
  console.log(`| ${cols.map(([h]) => h).join(' | ')} |`)
  console.log(`|${cols.map(() => '---').join('|')}|`)
  for (const r of runs) console.log(`| ${cols.map(([, g]) => g(r)).join(' | ')} |`)
}

const opts = parseOptions(process.argv.slice(2))
serviceEntry = compileService()
// The load average before and after: the figures mean something only on a quiet machine.
const meta: Record<string, unknown> = { command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(), date: new Date().toISOString(), nproc: cpus().length, node: process.version, quick: opts.quick, loadavg_before: loadavg() }
if (opts.growth) {
  const runs: Result[] = []
  for (const nodes of opts.quick ? [20, 40] : [5000, 20_000, 65_000]) {
    const r = await benchOnce({ ...opts, nodes })
    runs.push(r)
    printTable(r)
    // Each size's run alone beside the growth file as soon as it is done (out-5000.json, ...).
    if (opts.json) {
      mkdirSync(dirname(opts.json), { recursive: true })
      writeFileSync(opts.json.replace(/(\.json)?$/, `-${r.nodes}.json`), JSON.stringify({ ...meta, ...r }, null, 2) + '\n')
    }
  }
  printGrowth(runs)
  meta.loadavg_after = loadavg()
  if (opts.json) {
    // The growth (every size) in the file named.
    writeFileSync(opts.json, JSON.stringify({ ...meta, runs }, null, 2) + '\n')
  }
} else {
  const r = await benchOnce(opts)
  printTable(r)
  meta.loadavg_after = loadavg()
  if (opts.json) { mkdirSync(dirname(opts.json), { recursive: true }); writeFileSync(opts.json, JSON.stringify({ ...meta, ...r }, null, 2) + '\n') }
}
process.exit(0)
