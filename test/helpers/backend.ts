// One interface over the two clusters the behaviour tests run against: our simulated cluster
// (src/sim) and a real kube-apiserver + etcd (+ controller-manager) with a kubelet stand-in.
// TEST_BACKENDS="sim,apiserver" (default both) chooses; eachBackend runs a subtest per backend.
import { KubeConfig } from '@kubernetes/client-node'
import type { Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createKubeClients, type KubeClients } from '../../src/kube/client.js'
import { startSim, type SimCluster } from '../../src/sim/index.js'
import { DEFAULT_CONTROLLERS, startApiServer, type ApiServer, type ApiServerOptions } from './apiserver.js'
import { FakeKubelet } from './kubelet.js'
import { FakeScheduler } from './scheduler.js'
import { SessionController } from './session-controller.js'

export type BackendName = 'sim' | 'apiserver'
export const ALL_BACKENDS: BackendName[] = ['sim', 'apiserver']

export interface Backend {
  name: BackendName
  /** Admin kubeconfig file: works for kubectl and client-node. */
  kubeconfigPath: string
  kc: KubeConfig
  clients: KubeClients
  /** sim only: faults, request log, suspend/resume. */
  sim?: SimCluster
  /** apiserver only. */
  apiserver?: ApiServer
  /** apiserver only. */
  kubelet?: FakeKubelet
  /** apiserver with workloadControllers: the scheduler and StreamSpace session controller stand-ins. */
  scheduler?: FakeScheduler
  sessionController?: SessionController
  /** Whether metrics.k8s.io is served (the real server has no metrics-server here). */
  metrics: boolean
  /**
   * Sets the node's Ready condition True, False or Unknown. On both backends the node's pods
   * still start and terminate; for a dead kubelet use kubelet.stopHeartbeat (apiserver only).
   */
  setNodeReady(name: string, ready: boolean | 'Unknown'): Promise<void>
  /** apiserver only: a kubeconfig file for another static-token user. */
  tokenKubeconfig?(token: string): string
  /**
   * What the stand-ins (kubelet, scheduler, session controller) failed to do, in order. Each is
   * also given to onStandInError when set; without it, close() rejects with them.
   */
  standInErrors: Error[]
  close(): Promise<void>
}

export interface BackendOptions {
  /** When set, a deleted pod lingers this long whatever its grace period (sim and kubelet stand-in alike). */
  podTerminateSeconds?: number
  /** apiserver: how often the kubelet stand-in renews node Leases (default 10 s). */
  heartbeatSeconds?: number
  /** sim: seconds between watch bookmarks (the sim's default 15; a real kube-apiserver sends one about a minute). */
  bookmarkSeconds?: number
  /** sim: serve metrics.k8s.io (default true, as the sim does). Not available on apiserver. */
  metrics?: boolean
  /** apiserver: extra static users, controllers, flags. */
  apiserver?: ApiServerOptions
  /**
   * Run the workload controllers, so Deployments and ReplicaSets make pods and Sessions run: the
   * sim's own (controllers: true, with its session controller stand-in); on apiserver
   * kube-controller-manager's deployment and replicaset controllers, the scheduler stand-in and
   * the session controller stand-in (test/helpers/scheduler.ts, session-controller.ts).
   * Off by default: fixtures then make every pod themselves.
   */
  workloadControllers?: boolean
  /**
   * apiserver: called at once with each failure of a stand-in (eachBackend and startStack fail the
   * running test with it). Without it, close() rejects listing them: never silent.
   */
  onStandInError?: (err: Error) => void
}

export function backendNames(): BackendName[] {
  const raw = process.env.TEST_BACKENDS
  if (!raw) return [...ALL_BACKENDS]
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean)
  for (const n of names) {
    if (!ALL_BACKENDS.includes(n as BackendName)) throw new Error(`TEST_BACKENDS: unknown backend "${n}" (known: ${ALL_BACKENDS.join(', ')})`)
  }
  return names as BackendName[]
}

/**
 * A tap `skip` option for a test that needs this backend: false when TEST_BACKENDS includes it,
 * else the reason. CI runs every backend, and scripts/test.sh then fails on any skip.
 */
export function backendSkip(name: BackendName): false | string {
  return backendNames().includes(name) ? false : `TEST_BACKENDS leaves out ${name}`
}

function loadKubeConfig(file: string): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromFile(file)
  return kc
}

async function startSimBackend(opts: BackendOptions): Promise<Backend> {
  const sim = await startSim({ nodes: 0, podTerminateSeconds: opts.podTerminateSeconds, metrics: opts.metrics, bookmarkSeconds: opts.bookmarkSeconds, controllers: opts.workloadControllers })
  const dir = mkdtempSync(join(tmpdir(), 'sim-backend-'))
  const kubeconfigPath = join(dir, 'kubeconfig')
  await sim.writeKubeconfig(kubeconfigPath)
  const kc = loadKubeConfig(kubeconfigPath)
  return {
    name: 'sim',
    kubeconfigPath,
    kc,
    clients: createKubeClients(kc),
    sim,
    metrics: opts.metrics ?? true,
    setNodeReady: async (name, ready) => sim.setNodeReady(name, ready),
    standInErrors: [],
    async close() {
      await sim.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function startApiServerBackend(opts: BackendOptions): Promise<Backend> {
  const controllers = opts.workloadControllers
    ? [...(opts.apiserver?.controllers ?? DEFAULT_CONTROLLERS), 'deployment', 'replicaset']
    : opts.apiserver?.controllers
  const apiserver = await startApiServer({ ...opts.apiserver, controllers })
  const stoppers: (() => Promise<void>)[] = []
  const standInErrors: Error[] = []
  const report = (err: Error): void => {
    standInErrors.push(err)
    opts.onStandInError?.(err)
  }
  try {
    const kc = loadKubeConfig(apiserver.kubeconfigPath)
    const kubelet = new FakeKubelet(kc, { podTerminateSeconds: opts.podTerminateSeconds, heartbeatSeconds: opts.heartbeatSeconds, report })
    await kubelet.start()
    stoppers.push(() => kubelet.stop())
    let scheduler: FakeScheduler | undefined
    let sessionController: SessionController | undefined
    if (opts.workloadControllers) {
      scheduler = new FakeScheduler(kc, report)
      await scheduler.start()
      stoppers.push(() => scheduler!.stop())
      sessionController = new SessionController(kc, report)
      await sessionController.start()
      stoppers.push(() => sessionController!.stop())
    }
    return {
      name: 'apiserver',
      kubeconfigPath: apiserver.kubeconfigPath,
      kc,
      clients: createKubeClients(kc),
      apiserver,
      kubelet,
      scheduler,
      sessionController,
      metrics: false,
      setNodeReady: (name, ready) => kubelet.setReady(name, ready === true ? 'True' : ready === false ? 'False' : 'Unknown'),
      tokenKubeconfig: (token) => apiserver.tokenKubeconfig(token),
      standInErrors,
      async close() {
        for (const stop of stoppers.reverse()) await stop()
        await apiserver.stop()
        if (!opts.onStandInError && standInErrors.length) {
          throw new AggregateError(standInErrors, `the stand-ins failed ${standInErrors.length} time(s): ${standInErrors.map((e) => e.message).join('; ')}`)
        }
      },
    }
  } catch (err) {
    for (const stop of stoppers.reverse()) await stop().catch(() => {})
    await apiserver.stop()
    throw err
  }
}

export async function startBackend(name: BackendName, opts: BackendOptions = {}): Promise<Backend> {
  return name === 'sim' ? startSimBackend(opts) : startApiServerBackend(opts)
}

/**
 * Runs `fn` as a subtest once per backend, starting the backend before and closing it after. A
 * stand-in's failure fails that subtest at once, naming what failed.
 */
export function eachBackend(t: Test, title: string, fn: (t: Test, b: Backend) => Promise<void>, opts: BackendOptions = {}): void {
  for (const name of backendNames()) {
    t.test(`${title} [${name}]`, async (tt) => {
      const backend = await startBackend(name, { ...opts, onStandInError: (err) => tt.fail(err.message) })
      try {
        await fn(tt, backend)
      } finally {
        await backend.close()
      }
    })
  }
}
