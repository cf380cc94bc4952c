// The machine's kubectl against the sim: create, get, label, taint, cordon, uncordon, and a drain
// that a PodDisruptionBudget holds until the budget allows it, as on a real cluster.
import { execFile, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { startSim } from '../../src/sim/index.js'
import { eventually } from './helpers.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/sim/drain-cluster.json', import.meta.url))

/** kubectl.1.33 when on PATH, else kubectl (a dispatcher that picks the release matching /version). */
function findKubectl(): string | undefined {
  for (const bin of ['kubectl.1.33', 'kubectl']) {
    if (spawnSync(bin, ['version', '--client'], { stdio: 'ignore' }).status === 0) return bin
  }
  return undefined
}

// scripts/test.sh refuses to start without kubectl: a missing one fails here, never skips.
const kubectlBin = findKubectl() ?? 'kubectl'
t.test('kubectl drives the sim', async (t) => {
  const sim = await startSim({ nodes: 0 })
  const dir = await mkdtemp(join(tmpdir(), 'sim-kubectl-'))
  t.teardown(async () => {
    await sim.close()
    await rm(dir, { recursive: true, force: true })
  })
  const kubeconfig = join(dir, 'kubeconfig')
  await sim.writeKubeconfig(kubeconfig)
  const base = ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache')]
  const kubectl = (...args: string[]) => new Promise<string>((resolve, reject) => {
    execFile(kubectlBin, [...base, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr || err.message}`))
      else resolve(stdout)
    })
  })
  const nodeJson = async (name: string) => JSON.parse(await kubectl('get', 'node', name, '-o', 'json'))

  const version = JSON.parse(await kubectl('version', '-o', 'json'))
  t.match(version.serverVersion.gitVersion, /^v1\.33\./)

  const created = await kubectl('create', '--validate=false', '-f', FIXTURE)
  t.match(created, /namespace\/drain-test created/)
  t.match(created, /node\/kn-1 created/)
  t.match(created, /poddisruptionbudget\.policy\/web created/)

  const table = await kubectl('get', 'nodes')
  t.match(table, /NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION/)
  t.match(table, /kn-1\s+Ready\s+worker\s+\S+\s+v1\.33\.4/)
  t.match(table, /kn-2\s+Ready\s+<none>/)

  await kubectl('label', 'node', 'kn-1', 'team=blue')
  t.equal((await nodeJson('kn-1')).metadata.labels.team, 'blue')
  await kubectl('label', 'node', 'kn-1', 'team-')
  t.equal((await nodeJson('kn-1')).metadata.labels.team, undefined)

  await kubectl('taint', 'node', 'kn-1', 'dedicated=sessions:NoSchedule')
  await kubectl('taint', 'node', 'kn-1', 'gpu=true:NoExecute')
  t.same((await nodeJson('kn-1')).spec.taints.map((x: any) => `${x.key}=${x.value}:${x.effect}`).sort(), ['dedicated=sessions:NoSchedule', 'gpu=true:NoExecute'])
  await kubectl('taint', 'node', 'kn-1', 'dedicated-')
  t.same((await nodeJson('kn-1')).spec.taints.map((x: any) => x.key), ['gpu'])

  await kubectl('cordon', 'kn-1')
  t.equal((await nodeJson('kn-1')).spec.unschedulable, true)
  t.match(await kubectl('get', 'nodes'), /kn-1\s+Ready,SchedulingDisabled/)
  await kubectl('uncordon', 'kn-1')
  t.notOk((await nodeJson('kn-1')).spec.unschedulable)

  // The PDB wants 2 of the 2 web pods: the drain evicts the bare pod and retries the web pods.
  const drain = spawn(kubectlBin, [...base, 'drain', 'kn-1', '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=90s'])
  let output = ''
  drain.stdout.on('data', (d) => (output += d))
  drain.stderr.on('data', (d) => (output += d))
  const exited = new Promise<number>((resolve) => drain.on('close', (code) => resolve(code ?? -1)))
  t.teardown(() => { drain.kill() })
  await eventually(() => /will retry after 5s/.test(output), 20_000, 'kubectl drain to retry')
  t.match(output, /disruption budget/)
  t.equal((await nodeJson('kn-1')).spec.unschedulable, true, 'drain cordoned the node')
  // The next round of retries (5 s on) is refused again: the drain goes on, it has not ended.
  const retries = () => output.match(/will retry after 5s/g)?.length ?? 0
  const firstRound = retries()
  await eventually(() => retries() > firstRound, 20_000, 'its next round of retries')
  t.equal(drain.exitCode, null, 'still retrying while the budget allows no disruption')

  // New replicas elsewhere make the budget allow the evictions; the drain then finishes.
  for (const name of ['web-5d8f7-ccccc', 'web-5d8f7-ddddd']) {
    sim.cluster.create(sim.cluster.store.collection('pods').def, 'drain-test', {
      metadata: { name, labels: { app: 'web' } },
      spec: { nodeName: 'kn-2', terminationGracePeriodSeconds: 1, containers: [{ name: 'web', image: 'nginx:1.27.3' }] },
    })
  }
  const code = await exited
  t.equal(code, 0, output)
  t.match(output, /node\/kn-1 drained/)
  t.match(output, /pod\/web-5d8f7-aaaaa evicted/)
  t.match(output, /pod\/bare evicted/)
  const left = JSON.parse(await kubectl('get', 'pods', '-n', 'drain-test', '--field-selector', 'spec.nodeName=kn-1', '-o', 'json'))
  t.same(left.items.map((p: any) => p.metadata.name), ['agent-kn1'], 'only the DaemonSet pod stays')
  const after = await nodeJson('kn-1')
  t.equal(after.spec.unschedulable, true)
  t.match(await kubectl('get', 'nodes'), /kn-1\s+Ready,SchedulingDisabled/)

  await kubectl('delete', 'pod', '-n', 'drain-test', 'agent-kn1', '--grace-period=0', '--force')
  t.match(await kubectl('get', 'pods', '-n', 'drain-test'), /web-5d8f7-ccccc/)

  // --disable-eviction deletes instead (kubectl sends a protobuf DeleteOptions body), ignoring the PDB.
  const direct = await kubectl('drain', 'kn-2', '--ignore-daemonsets', '--force', '--disable-eviction', '--timeout=30s')
  t.match(direct, /pod\/web-5d8f7-ccccc deleted/)
  const rest = JSON.parse(await kubectl('get', 'pods', '-n', 'drain-test', '-o', 'json'))
  t.same(rest.items, [], 'every pod is gone')
})

t.test('kubectl works with Sessions, MachineDeployments and PriorityClasses', async (t) => {
  const sim = await startSim({ nodes: 0 })
  const dir = await mkdtemp(join(tmpdir(), 'sim-kubectl-kinds-'))
  t.teardown(async () => {
    await sim.close()
    await rm(dir, { recursive: true, force: true })
  })
  const kubeconfig = join(dir, 'kubeconfig')
  await sim.writeKubeconfig(kubeconfig)
  const kubectl = (...args: string[]) => new Promise<string>((resolve, reject) => {
    execFile(kubectlBin, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr || err.message}`))
      else resolve(stdout)
    })
  })
  const file = join(dir, 'kinds.json')
  await writeFile(file, JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'stream.space/v1alpha1', kind: 'Session', metadata: { name: 'alice-1', namespace: 'streamspace' }, spec: { user: 'alice', template: 'firefox' } },
      { apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'MachineDeployment', metadata: { name: 'workers', namespace: 'default' }, spec: { clusterName: 'prod', replicas: 2, template: { spec: { version: 'v1.33.0' } } } },
      { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'overprovisioning' }, value: -10, description: 'headroom' },
    ],
  }))
  const created = await kubectl('create', '--validate=false', '-f', file)
  t.match(created, /session\.stream\.space\/alice-1 created/)
  t.match(created, /machinedeployment\.cluster\.x-k8s\.io\/workers created/)
  t.match(created, /priorityclass\.scheduling\.k8s\.io\/overprovisioning created/)

  const sessions = await kubectl('get', 'sessions', '-n', 'streamspace')
  t.match(sessions, /NAME\s+USER\s+TEMPLATE\s+STATE\s+PHASE\s+AGE/)
  t.match(sessions, /alice-1\s+alice\s+firefox\s+running\s+\d+s/, 'no phase yet (no session controller here): an empty cell, as for a real CRD')
  await kubectl('patch', 'session', 'alice-1', '-n', 'streamspace', '--type', 'merge', '-p', '{"spec":{"state":"hibernated"}}')
  t.match(await kubectl('get', 'session', 'alice-1', '-n', 'streamspace', '-o', 'jsonpath={.spec.state}'), /^hibernated$/)

  t.match(await kubectl('get', 'md'), /NAME\s+CLUSTER\s+REPLICAS\s+READY\s+UPDATED\s+UNAVAILABLE\s+PHASE\s+AGE\s+VERSION\n\s*workers\s+prod\s+\d+s\s+v1\.33\.0/)
  t.match(await kubectl('scale', 'machinedeployment', 'workers', '--replicas=4'), /machinedeployment\.cluster\.x-k8s\.io\/workers scaled/)
  t.equal(await kubectl('get', 'md', 'workers', '-o', 'jsonpath={.spec.replicas}'), '4')

  const pcs = await kubectl('get', 'priorityclasses')
  t.match(pcs, /NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE\s+PREEMPTIONPOLICY/)
  t.match(pcs, /overprovisioning\s+-10\s+false\s+\S+\s+PreemptLowerPriority/)
  t.match(pcs, /system-node-critical\s+2000001000\s+false/)
  t.match(await kubectl('delete', 'pc', 'overprovisioning'), /priorityclass\.scheduling\.k8s\.io "overprovisioning" deleted/)
})
