// Scale check of the sim, run by hand: starts `npm run sim -- --nodes N --pods-per-node M` as a
// separate process, then pages through every node and pod with client-node and prints the figures.
//   npx tsx test/sim/scale.ts [nodes=5000] [podsPerNode=30]
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node'

const nodes = Number(process.argv[2] ?? 5000)
const podsPerNode = Number(process.argv[3] ?? 30)
const kubeconfig = join(await mkdtemp(join(tmpdir(), 'sim-scale-')), 'kubeconfig')

const started = Date.now()
const child = spawn('npm', ['run', '--silent', 'sim', '--', '--port', '0', '--kubeconfig', kubeconfig, '--nodes', String(nodes), '--pods-per-node', String(podsPerNode)], { stdio: ['ignore', 'pipe', 'inherit'] })
const line = await new Promise<string>((resolve, reject) => {
  let out = ''
  child.stdout.on('data', (d) => {
    out += d
    const m = /sim: Kubernetes API at .*\n/.exec(out)
    if (m) resolve(m[0].trim())
  })
  child.on('exit', (code) => reject(new Error(`sim exited with ${code}`)))
})
console.log(line)
console.log(`startup (process start to ready line): ${Date.now() - started} ms`)

// The sim is the deepest process under npm (npm -> sh -> tsx -> node): its CPU time shows the
// server's share of the work, apart from client-node's.
function deepest(pid: number): number {
  let out = ''
  try {
    out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
  } catch {
    // ps exits 1 when the process has no children
  }
  const kids = out.trim().split(/\s+/).filter(Boolean).map(Number)
  return kids.length ? deepest(kids[0]) : pid
}
const simPid = deepest(child.pid!)
const cpuMs = () => {
  const f = readFileSync(`/proc/${simPid}/stat`, 'utf8').split(') ')[1].split(' ')
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100 // utime + stime, in clock ticks of 10 ms
}

const kc = new KubeConfig()
kc.loadFromFile(kubeconfig)
const core = kc.makeApiClient(CoreV1Api)

async function pageAll(what: string, fetchPage: (cont?: string) => Promise<{ items: unknown[]; metadata?: { _continue?: string } }>) {
  const t0 = Date.now()
  let count = 0
  let pages = 0
  let slowest = 0
  let cont: string | undefined
  do {
    const p0 = Date.now()
    const page = await fetchPage(cont)
    slowest = Math.max(slowest, Date.now() - p0)
    count += page.items.length
    pages++
    cont = page.metadata?._continue
  } while (cont)
  console.log(`${what}: ${count} items in ${pages} pages of 500, ${Date.now() - t0} ms (slowest page ${slowest} ms)`)
}

const all0 = Date.now()
const cpu0 = cpuMs()
await pageAll('client-node listNode', (cont) => core.listNode({ limit: 500, _continue: cont }))
await pageAll('client-node listPodForAllNamespaces', (cont) => core.listPodForAllNamespaces({ limit: 500, _continue: cont }))
console.log(`full paginated node+pod list: ${Date.now() - all0} ms (sim process CPU: ${cpuMs() - cpu0} ms)`)

let t0 = Date.now()
const onNode = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-02500' })
console.log(`fieldSelector spec.nodeName=node-02500: ${onNode.items.length} pods in ${Date.now() - t0} ms`)
t0 = Date.now()
const sessions = await core.listPodForAllNamespaces({ labelSelector: 'app=streamspace-session', limit: 500 })
console.log(`labelSelector app=streamspace-session (first page): ${sessions.items.length} pods in ${Date.now() - t0} ms`)

// A watch from the list's resourceVersion sees a change at once.
const list = await core.listNode({ limit: 1 })
const watch = new Watch(kc)
t0 = Date.now()
let seen = 0
const ctrl = await watch.watch('/api/v1/nodes', { resourceVersion: list.metadata!.resourceVersion }, () => { seen++ }, () => {})
await core.patchNode({ name: 'node-00001', body: [{ op: 'add', path: '/metadata/labels/scale-check', value: 'yes' }] })
while (seen === 0) await new Promise((r) => setTimeout(r, 5))
console.log(`watch event after a patch: ${Date.now() - t0} ms`)
ctrl.abort()

child.kill('SIGTERM')
await new Promise((r) => child.on('exit', r))
