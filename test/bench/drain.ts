// Benchmark: drain a node with 110 pods, each taking 2 s to terminate, with this service and with
// kubectl drain, on two identical simulated clusters (each its own process, as `npm run sim`
// starts it). Prints both wall times (median of BENCH_ROUNDS rounds, default 3) and the ratio.
// Target: the service at most 0.8x kubectl's time.
//   npx tsx test/bench/drain.ts        (or npm run bench, which runs every bench)
// The service's time is the POST /drain round trip (wait:true) against the running service;
// kubectl's is its process from start to exit, as an admin would run it.
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { KubeConfig } from '@kubernetes/client-node'
import { createKubeClients, type KubeClients } from '../../src/kube/client.js'
import { startService } from '../helpers/service.js'
import { createNode, createPod, createReplicaSet, ensureNamespace, podsOnNode } from '../drain/fixtures.js'

const PODS = 110
const TERMINATE_SECONDS = 2
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl'
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

interface Sim { proc: ChildProcess; kubeconfig: string; kc: KubeConfig; clients: KubeClients }

async function startSimProcess(dir: string, name: string): Promise<Sim> {
  const kubeconfig = join(dir, `${name}.kubeconfig`)
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/sim/cli.ts'),
    '--port', '0', '--kubeconfig', kubeconfig, '--nodes', '0', '--metrics', 'off', '--pod-terminate-seconds', String(TERMINATE_SECONDS)],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((res, rej) => {
    let out = ''
    proc.stdout!.on('data', (d) => {
      out += d
      if (out.includes('Kubernetes API at')) res()
    })
    proc.once('exit', (code) => rej(new Error(`sim ${name} exited (${code}): ${out}`)))
  })
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfig)
  return { proc, kubeconfig, kc, clients: createKubeClients(kc) }
}

/** One node with PODS ReplicaSet pods, each with a TERMINATE_SECONDS grace period. */
async function fixtures(c: KubeClients, node: string) {
  const ns = 'bench'
  await ensureNamespace(c, ns)
  await createNode(c, node)
  const labels = { app: `web-${node}` }
  const rs = await createReplicaSet(c, ns, `web-${node}`, PODS, labels)
  for (let i = 0; i < PODS; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, PODS - i) }, (_, j) =>
      createPod(c, { namespace: ns, name: `web-${node}-${i + j}`, node, owner: rs, labels, grace: TERMINATE_SECONDS })))
  }
  const n = (await podsOnNode(c, node)).length
  if (n !== PODS) throw new Error(`fixture: ${n} pods on ${node}, expected ${PODS}`)
}

function kubectlDrain(kubeconfig: string, node: string): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    // -v=2 only adds the log lines that say when kubectl's own client-side rate limit held it back.
    execFile(KUBECTL, ['--kubeconfig', kubeconfig, 'drain', node, '--ignore-daemonsets', '--timeout=300s', '-v=2'],
      { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => res({ code: err ? 1 : 0, out: stdout + stderr }))
  })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`

const dir = mkdtempSync(join(tmpdir(), 'bench-drain-'))
const [simA, simB] = await Promise.all([startSimProcess(dir, 'service'), startSimProcess(dir, 'kubectl')])
const svc = await startService(simA.kc)
const ours: number[] = []
const theirs: number[] = []
const throttled: number[] = []
let failed = false
try {
  // kubectl picks its release by the server's /version; warm that choice up once.
  await new Promise((r) => execFile(KUBECTL, ['--kubeconfig', simB.kubeconfig, 'version'], r))
  for (let round = 1; round <= ROUNDS; round++) {
    const node = `bench-${round}`
    await Promise.all([fixtures(simA.clients, node), fixtures(simB.clients, node)])

    const t0 = performance.now()
    const res = await svc.api(`/nodes/${node}/drain`, { method: 'POST', json: { timeout_seconds: 300 } })
    const body = await res.json()
    ours.push(performance.now() - t0)
    if (res.status !== 200 || body.pods_deleted !== PODS) {
      failed = true
      console.error(`service drain failed: ${res.status} ${JSON.stringify(body).slice(0, 500)}`)
    }

    const t1 = performance.now()
    const kc = await kubectlDrain(simB.kubeconfig, node)
    theirs.push(performance.now() - t1)
    throttled.push(kc.out.split('\n').filter((l) => l.includes('client-side throttling')).length)
    const left = (await podsOnNode(simB.clients, node)).length
    if (kc.code !== 0 || left !== 0) {
      failed = true
      console.error(`kubectl drain failed (exit ${kc.code}, ${left} pods left): ${kc.out.slice(-500)}`)
    }
    console.log(`round ${round}: service ${secs(ours.at(-1)!)}, kubectl ${secs(theirs.at(-1)!)}`)
  }
} finally {
  await svc.close()
  simA.proc.kill('SIGTERM')
  simB.proc.kill('SIGTERM')
  rmSync(dir, { recursive: true, force: true })
}

const a = median(ours)
const b = median(theirs)
const ratio = a / b
console.log(`\ndrain of a node with ${PODS} pods, each taking ${TERMINATE_SECONDS} s to terminate (simulated clusters; median of ${ROUNDS} rounds)`)
console.log(`  service (POST /drain):  ${secs(a)}   [${ours.map(secs).join(', ')}]`)
console.log(`  kubectl drain:          ${secs(b)}   [${theirs.map(secs).join(', ')}]`)
console.log(`  ratio service/kubectl:  ${ratio.toFixed(2)}x   (target <= 0.80x: ${ratio <= 0.8 ? 'met' : 'MISSED'})`)
console.log(`  kubectl's client-side throttling waits logged (its own ~5 requests/s client limit, shared by its evictions and its 1 s per-pod polls): ${throttled.join(', ')} per round`)
process.exit(failed ? 1 : 0)
