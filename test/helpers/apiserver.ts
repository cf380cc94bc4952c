// A real control plane for tests, the way envtest does it: etcd + kube-apiserver (+ the
// kube-controller-manager for the disruption, garbage-collector, namespace and node lifecycle controllers,
// + kube-scheduler when a test asks for it) on
// loopback, with generated certificates, RBAC authorization and static tokens. The binaries come
// from scripts/setup-kube.sh (.cache/kube/bin). Nothing here plays the kubelet: see kubelet.ts.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync, openSync, closeSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CRDS } from './crds.js'
import { freePort } from './ports.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** Where setup-kube.sh leaves etcd, kube-apiserver, kube-controller-manager and kube-scheduler. */
export function kubeBinDir(): string {
  return process.env.KUBE_BIN_DIR ?? join(repoRoot, '.cache/kube/bin')
}

export interface StaticUser {
  name: string
  token: string
  groups?: string[]
}

export interface ApiServerOptions {
  /** Controllers the controller-manager runs; [] starts no controller-manager. */
  controllers?: string[]
  /** Extra static-token users besides the admin (system:masters). */
  users?: StaticUser[]
  /** Extra kube-apiserver flags, e.g. ['--feature-gates=...']. */
  apiServerArgs?: string[]
  /** Extra kube-controller-manager flags (later ones win), e.g. ['--node-monitor-grace-period=5s']. */
  controllerManagerArgs?: string[]
  /** Install the CustomResourceDefinitions of test/helpers/crds.ts (MachineDeployment, Session, and the chart's crds/*.yaml); default true. */
  crds?: boolean
  /**
   * Run the real kube-scheduler (default profile), which binds every pod created without a
   * nodeName. Off by default: fixtures bind their pods themselves. Not with workloadControllers,
   * whose scheduler stand-in would race it.
   */
  scheduler?: boolean
}

export const ADMIN_TOKEN = 'admin-token'
/** A user with no groups: everything it may do must be granted through RBAC. */
export const NODE_MANAGER_USER: StaticUser = { name: 'node-manager', token: 'node-manager-token' }
/**
 * The node lifecycle controller keeps the taints a real cluster has (unschedulable while cordoned,
 * not-ready/unreachable while Ready is False/Unknown) and marks pods on a not-Ready node not ready.
 * It reads the kube-node-lease Leases the kubelet stand-in renews, so a node whose heartbeat stops
 * turns Unknown after --node-monitor-grace-period (50 s). The taint-eviction controller is not run:
 * NoExecute taints evict nothing here, as in the simulator.
 */
export const DEFAULT_CONTROLLERS = ['disruption', 'garbagecollector', 'namespace', 'nodelifecycle']
/**
 * Node lifecycle timing for tests: health checked every second (default 5 s), and NoExecute
 * tainting not rate-limited to one node per 10 s (--node-eviction-rate 0.1). Grace periods stay
 * at their defaults, longer than the stand-in's heartbeat.
 */
const NODE_LIFECYCLE_ARGS = ['--node-monitor-period=1s', '--node-eviction-rate=100']

export interface ApiServer {
  /** https://127.0.0.1:<port> */
  url: string
  dir: string
  /** Admin kubeconfig file (system:masters), for kubectl and @kubernetes/client-node. */
  kubeconfigPath: string
  caFile: string
  /** Writes a kubeconfig for another static-token user and returns its path. */
  tokenKubeconfig(token: string, name?: string): string
  /** Last lines of each component's log, for failure messages. */
  logs(): string
  stop(): Promise<void>
}

interface Proc { name: string; child: ChildProcess; logFile: string }

// Children die with the test process however it ends: on a normal exit through this hook, on a
// kill through setpriv's parent-death signal.
// On a signal (tap's timeout sends SIGTERM), clean up too, then die of that signal as before.
const running = new Set<ChildProcess>()
const tempDirs = new Set<string>()
function cleanUpNow(): void {
  for (const c of running) c.kill('SIGKILL')
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
}
let hooked = false
function hookProcessEnd(): void {
  if (hooked) return
  hooked = true
  process.on('exit', cleanUpNow)
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanUpNow()
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    })
  }
}
const pdeathsig = existsSync('/usr/bin/setpriv')

function startProcess(dir: string, name: string, bin: string, args: string[]): Proc {
  const logFile = join(dir, `${name}.log`)
  const fd = openSync(logFile, 'a')
  const [cmd, argv] = pdeathsig ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args]
  const child = spawn(cmd, argv, { stdio: ['ignore', fd, fd] })
  closeSync(fd)
  running.add(child)
  child.on('exit', () => running.delete(child))
  return { name, child, logFile }
}

function tail(file: string, lines = 30): string {
  try { return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') } catch { return '' }
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A CA, a serving certificate for 127.0.0.1 signed by it, and the service-account key. */
function generateCerts(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl(dir, 'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=harness-ca')
  openssl(dir, 'req', ...ec, '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver')
  writeFileSync(join(dir, 'san.ext'),
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n')
  openssl(dir, 'x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'apiserver.crt', '-days', '2', '-extfile', 'san.ext')
  openssl(dir, 'genrsa', '-out', 'sa.key', '2048')
}

function kubeconfig(server: string, caFile: string, user: string, token: string): string {
  // JSON is YAML: kubectl and client-node both read it.
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'harness', cluster: { server, 'certificate-authority-data': readFileSync(caFile).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: 'harness', user, namespace: 'default' } }],
    'current-context': user,
  }, null, 2)
}

function get(url: string, ca: Buffer, token?: string): Promise<{ status: number; body: string }> {
  return send('GET', url, ca, token)
}

function send(method: string, url: string, ca: Buffer, token?: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    const req = request(url, { method, ca, headers, timeout: 5000 }, (r) => {
      let body = ''
      r.setEncoding('utf8')
      r.on('data', (c: string) => { body += c })
      r.on('end', () => res({ status: r.statusCode ?? 0, body }))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', rej)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

/** Creates the CRDs and waits until each is Established and served: listable, and its group-version published in /openapi/v3 (which kubectl apply and explain read). */
async function installCrds(url: string, ca: Buffer, procs: Proc[]): Promise<void> {
  for (const crd of CRDS) {
    const r = await send('POST', `${url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, ca, ADMIN_TOKEN, crd)
    if (r.status !== 201) throw new Error(`creating CRD ${crd.metadata.name}: ${r.status} ${r.body}`)
  }
  for (const crd of CRDS) {
    const { group, versions, names } = crd.spec
    await waitUntil(`CRD ${crd.metadata.name} established`, procs, 30_000, async () => {
      const r = await get(`${url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`, ca, ADMIN_TOKEN)
      const established = (JSON.parse(r.body).status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True')
      if (!established) return false
      const list = await get(`${url}/apis/${group}/${versions[0].name}/${names.plural}`, ca, ADMIN_TOKEN)
      if (list.status !== 200) return false
      const openapi = await get(`${url}/openapi/v3`, ca, ADMIN_TOKEN)
      return !!JSON.parse(openapi.body).paths?.[`apis/${group}/${versions[0].name}`]
    })
  }
}

async function waitUntil(what: string, procs: Proc[], timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    for (const p of procs) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) {
        throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) while waiting for ${what}:\n${tail(p.logFile)}`)
      }
    }
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${procs.map((p) => `--- ${p.name}\n${tail(p.logFile)}`).join('\n')}`)
    }
    await new Promise((r) => setTimeout(r, 150))
  }
}

async function stopProcess(p: Proc): Promise<void> {
  const { child } = p
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  // A free port can be taken by someone else between our probe and the bind: try again then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts)
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test(String(err))) throw err
    }
  }
}

async function startOnce(opts: ApiServerOptions): Promise<ApiServer> {
  const bin = kubeBinDir()
  for (const b of ['etcd', 'kube-apiserver', 'kube-controller-manager']) {
    if (!existsSync(join(bin, b))) throw new Error(`${join(bin, b)} is missing: run bash scripts/setup-kube.sh`)
  }
  hookProcessEnd()
  const dir = mkdtempSync(join(tmpdir(), 'kube-harness-'))
  tempDirs.add(dir)
  const procs: Proc[] = []
  const stop = async (): Promise<void> => {
    // Reverse start order: controller-manager, apiserver, then etcd.
    for (const p of [...procs].reverse()) await stopProcess(p)
    rmSync(dir, { recursive: true, force: true })
    tempDirs.delete(dir)
  }
  try {
    generateCerts(dir)
    const ca = readFileSync(join(dir, 'ca.crt'))
    const users: StaticUser[] = [
      { name: 'admin', token: ADMIN_TOKEN, groups: ['system:masters'] },
      // The controller-manager runs every controller under its own name, with full rights.
      { name: 'system:kube-controller-manager', token: 'controller-manager-token', groups: ['system:masters'] },
      { name: 'system:kube-scheduler', token: 'scheduler-token', groups: ['system:masters'] },
      NODE_MANAGER_USER,
      ...(opts.users ?? []),
    ]
    // token,user,uid,"group1,group2"
    writeFileSync(join(dir, 'tokens.csv'), users.map((u) => `${u.token},${u.name},${u.name},"${(u.groups ?? []).join(',')}"`).join('\n') + '\n')

    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()]
    const etcdUrl = `http://127.0.0.1:${etcdClient}`
    const peerUrl = `http://127.0.0.1:${etcdPeer}`
    const etcd = startProcess(dir, 'etcd', join(bin, 'etcd'), [
      '--name=harness', `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`, `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=harness=${peerUrl}`,
      '--unsafe-no-fsync', // test data: durability is not wanted, speed is
      '--log-level=warn',
    ])
    procs.push(etcd)
    await waitUntil('etcd', procs, 30_000, async () => {
      const r = await fetch(`${etcdUrl}/health`)
      return r.ok && (await r.json() as { health?: string }).health === 'true'
    })

    const url = `https://127.0.0.1:${apiPort}`
    const apiserver = startProcess(dir, 'kube-apiserver', join(bin, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
      `--cert-dir=${dir}`,
      `--tls-cert-file=${join(dir, 'apiserver.crt')}`, `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
      `--client-ca-file=${join(dir, 'ca.crt')}`,
      '--authorization-mode=RBAC',
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(dir, 'sa.key')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      // ServiceAccount admission would refuse pods until a controller makes the default account.
      // TaintNodesByCondition taints every new node node.kubernetes.io/not-ready:NoSchedule until the
      // node lifecycle controller sees it Ready and takes it off: off here (and not modelled in the
      // simulator) so fixtures' nodes start without a passing taint; the controller keeps the rest.
      '--disable-admission-plugins=ServiceAccount,TaintNodesByCondition',
      '--enable-priority-and-fairness=false',
      '--allow-privileged=true',
      '--profiling=false',
      ...(opts.apiServerArgs ?? []),
    ])
    procs.push(apiserver)
    await waitUntil('kube-apiserver /readyz', procs, 90_000, async () => (await get(`${url}/readyz`, ca, ADMIN_TOKEN)).status === 200)

    if (opts.crds !== false) await installCrds(url, ca, procs)

    const caFile = join(dir, 'ca.crt')
    const kubeconfigPath = join(dir, 'admin.kubeconfig')
    writeFileSync(kubeconfigPath, kubeconfig(url, caFile, 'admin', ADMIN_TOKEN))

    const controllers = opts.controllers ?? DEFAULT_CONTROLLERS
    if (controllers.length > 0) {
      const cmConfig = join(dir, 'controller-manager.kubeconfig')
      writeFileSync(cmConfig, kubeconfig(url, caFile, 'system:kube-controller-manager', 'controller-manager-token'))
      procs.push(startProcess(dir, 'kube-controller-manager', join(bin, 'kube-controller-manager'), [
        `--kubeconfig=${cmConfig}`,
        `--controllers=${controllers.join(',')}`,
        '--leader-elect=false',
        '--use-service-account-credentials=false',
        '--secure-port=0',
        '--concurrent-gc-syncs=5',
        ...NODE_LIFECYCLE_ARGS,
        ...(opts.controllerManagerArgs ?? []),
      ]))
    }

    if (opts.scheduler) {
      const schedulerBin = join(bin, 'kube-scheduler')
      if (!existsSync(schedulerBin)) throw new Error(`${schedulerBin} is missing: run bash scripts/setup-kube.sh`)
      const config = join(dir, 'scheduler.kubeconfig')
      writeFileSync(config, kubeconfig(url, caFile, 'system:kube-scheduler', 'scheduler-token'))
      procs.push(startProcess(dir, 'kube-scheduler', schedulerBin, [
        `--kubeconfig=${config}`, '--leader-elect=false', '--secure-port=0',
      ]))
    }

    let n = 0
    return {
      url,
      dir,
      kubeconfigPath,
      caFile,
      tokenKubeconfig(token: string, name?: string): string {
        const user = name ?? users.find((u) => u.token === token)?.name ?? 'user'
        const file = join(dir, `user-${++n}.kubeconfig`)
        writeFileSync(file, kubeconfig(url, caFile, user, token))
        return file
      },
      logs: () => procs.map((p) => `--- ${p.name}\n${tail(p.logFile)}`).join('\n'),
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
