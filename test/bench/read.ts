// Read path at scale: the simulated cluster with 5,000 nodes and 150,000 pods (its own process),
// the service (its own process, `npm start` against the simulator's kubeconfig), and this process
// as the load generator. Prints: cache sync time and the service's memory, GET /nodes throughput and
// latency against a bare node:http server sending the same bytes (the loopback ceiling), and the
// small answers (stats, one node). Run alone: npx tsx test/bench/read.ts [nodes] [podsPerNode]
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { makeToken, TEST_JWT_SECRET, API_PREFIX } from '../helpers/service.js'

const NODES = Number(process.argv[2] ?? 5000)
const PODS_PER_NODE = Number(process.argv[3] ?? 30)
const DURATION_MS = 5000
const CONCURRENCY = 8

function start(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { out += d })
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => { if (ready.test(out)) { clearInterval(timer); resolve({ child, out: () => out }) } }, 50)
    child.on('exit', (code) => { clearInterval(timer); reject(new Error(`${args.join(' ')} exited ${code}:\n${out}`)) })
  })
}

interface Load { rps: number; p50: number; p99: number; mbps: number; notModified: number }

async function load(origin: string, path: string, headers: Record<string, string>): Promise<Load> {
  const pool = new Pool(origin, { connections: CONCURRENCY, pipelining: 1 })
  const latencies: number[] = []
  let bytes = 0
  let notModified = 0
  const end = performance.now() + DURATION_MS
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now()
      const res = await pool.request({ path, method: 'GET', headers })
      for await (const chunk of res.body) bytes += chunk.length
      if (res.statusCode !== 200 && res.statusCode !== 304) throw new Error(`${path}: HTTP ${res.statusCode}`)
      if (res.statusCode === 304) notModified++
      latencies.push(performance.now() - t0)
    }
  }))
  await pool.close()
  latencies.sort((a, b) => a - b)
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]
  return { rps: latencies.length / (DURATION_MS / 1000), p50: q(0.5), p99: q(0.99), mbps: bytes / 1e6 / (DURATION_MS / 1000), notModified: notModified / latencies.length }
}

const fmt = (l: Load) => `${l.rps.toFixed(1)} req/s, p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, ${l.mbps.toFixed(0)} MB/s`

const dir = mkdtempSync(join(tmpdir(), 'bench-read-'))
const kubeconfig = join(dir, 'kubeconfig')
const t0 = performance.now()
const sim = await start(['src/sim/cli.ts', '--port', '0', '--kubeconfig', kubeconfig, '--nodes', String(NODES), '--pods-per-node', String(PODS_PER_NODE)], {}, /Kubernetes API at/)
console.log(`simulator: ${NODES} nodes, ${NODES * PODS_PER_NODE} pods, up in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
const t1 = performance.now()
// LOG_LEVEL info, as deployed: every request is logged.
const svc = await start(['src/server.ts'], { KUBE_MODE: 'kubeconfig', KUBECONFIG: kubeconfig, JWT_SECRET: TEST_JWT_SECRET, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }, /Server listening at/)
const origin = svc.out().match(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/)?.[1]
try {
  if (!origin) throw new Error(`no listen address in:\n${svc.out()}`)
  while ((await fetch(`${origin}/readyz`)).status !== 200) await new Promise((r) => setTimeout(r, 100))
  const syncS = (performance.now() - t1) / 1000
  const rssMb = Number((await import('node:child_process')).execSync(`ps -o rss= -p ${svc.child.pid}`).toString().trim()) / 1024
  console.log(`service: caches synced ${syncS.toFixed(1)} s after start (process start included); RSS ${rssMb.toFixed(0)} MB`)

  const headers = { authorization: `Bearer ${makeToken()}` }
  const list = await fetch(`${origin}${API_PREFIX}/nodes`, { headers })
  const body = Buffer.from(await list.arrayBuffer())
  console.log(`GET /nodes: ${(body.length / 1e6).toFixed(1)} MB, ${JSON.parse(body.toString()).length} nodes`)

  // The ceiling: a bare node:http server sending the same bytes, in its own process like the service.
  const bodyFile = join(dir, 'nodes.json')
  writeFileSync(bodyFile, body)
  const bareScript = `const b=require('fs').readFileSync(${JSON.stringify(bodyFile)});const s=require('http').createServer((q,r)=>{r.writeHead(200,{'content-type':'application/json'});r.end(b)});s.listen(0,'127.0.0.1',()=>console.log('bare listening '+s.address().port))`
  const bare = spawn(process.execPath, ['-e', bareScript], { stdio: ['ignore', 'pipe', 'inherit'] })
  const barePort = await new Promise<string>((resolve) => bare.stdout!.on('data', (d) => { const m = /bare listening (\d+)/.exec(String(d)); if (m) resolve(m[1]) }))
  const bareLoad = await load(`http://127.0.0.1:${barePort}`, '/', {})
  bare.kill()
  const listLoad = await load(origin, `${API_PREFIX}/nodes`, headers)
  console.log(`bare node:http, same bytes: ${fmt(bareLoad)}`)
  console.log(`service GET /nodes:         ${fmt(listLoad)}  ratio ${(listLoad.rps / bareLoad.rps).toFixed(2)}x of bare`)
  const stats = await load(origin, `${API_PREFIX}/nodes/stats`, headers)
  console.log(`service GET /nodes/stats:   ${fmt(stats)}`)
  const one = await load(origin, `${API_PREFIX}/nodes/node-02500`, headers)
  console.log(`service GET /nodes/:name:   ${fmt(one)}`)
  // A fresh ETag: usage changes every metrics poll (15 s), and with it the list and its ETag.
  const etag = (await fetch(`${origin}${API_PREFIX}/nodes`, { headers })).headers.get('etag')!
  const cond = await load(origin, `${API_PREFIX}/nodes`, { ...headers, 'if-none-match': etag })
  // The ETag changes whenever a view does (usage every metrics poll, AGE texts of young nodes).
  console.log(`service GET /nodes (If-None-Match): ${fmt(cond)}, ${(cond.notModified * 100).toFixed(0)}% answered 304`)
} finally {
  svc.child.kill('SIGTERM')
  sim.child.kill('SIGTERM')
}
