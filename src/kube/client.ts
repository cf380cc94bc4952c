// The one place that turns a KubeConfig into typed API clients. Everything that talks to
// Kubernetes goes through src/kube; domain code receives these clients, never builds its own.
import { createHash } from 'node:crypto'
import type { Dispatcher } from 'undici'
import {
  bufferFromFileOrString,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PolicyV1Api,
  SchedulingV1Api,
  Watch,
} from '@kubernetes/client-node'

export interface KubeClients {
  kc: KubeConfig
  core: CoreV1Api
  apps: AppsV1Api
  policy: PolicyV1Api
  coordination: CoordinationV1Api
  scheduling: SchedulingV1Api
  custom: CustomObjectsApi
  watch: Watch
  /** Base URL of the API server, for raw requests (discovery, metrics.k8s.io). */
  server: string
}

export function createKubeClients(kc: KubeConfig): KubeClients {
  const cluster = kc.getCurrentCluster()
  if (!cluster) throw new Error('kubeconfig has no current cluster')
  reuseConnections(kc)
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    scheduling: kc.makeApiClient(SchedulingV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    watch: newWatch(kc),
    server: cluster.server.replace(/\/+$/, ''),
  }
}

const pooled = new WeakSet<KubeConfig>()

/**
 * client-node 2.0.1 builds a new undici Agent for every request it authenticates
 * (KubeConfig.applySecurityAuthentication), so each API call, LIST page and watch opened a new
 * connection: against a real API server, a TLS handshake each. Here one Agent is kept and handed
 * to every request while the cluster, user and TLS material stay the same (read as client-node
 * reads them, files included: a rotated certificate gets a new Agent, the old one is closed once
 * its requests are done).
 */
export function reuseConnections(kc: KubeConfig): void {
  if (pooled.has(kc)) return
  pooled.add(kc)
  const authenticate = kc.applySecurityAuthentication.bind(kc)
  let kept: { key: string; dispatcher: Dispatcher } | undefined
  kc.applySecurityAuthentication = async (ctx) => {
    await authenticate(ctx)
    const fresh = ctx.getDispatcher() as Dispatcher | undefined
    if (!fresh) return
    const key = connectionKey(kc)
    if (kept?.key !== key) {
      void kept?.dispatcher.close().catch(() => undefined)
      kept = { key, dispatcher: fresh }
    } else void fresh.close().catch(() => undefined)
    ctx.setDispatcher(kept.dispatcher)
  }
}

/** What a connection to the current cluster depends on: its address, proxy and TLS material. */
function connectionKey(kc: KubeConfig): string {
  const cluster = kc.getCurrentCluster()
  const user = kc.getCurrentUser()
  const hash = createHash('sha256')
  for (const part of [
    cluster?.name, cluster?.server, cluster?.proxyUrl, String(cluster?.skipTLSVerify), cluster?.tlsServerName, user?.name,
    bufferFromFileOrString(cluster?.caFile, cluster?.caData), bufferFromFileOrString(user?.certFile, user?.certData), bufferFromFileOrString(user?.keyFile, user?.keyData),
  ]) hash.update(part ?? '').update('\0')
  return hash.digest('base64')
}

/**
 * client-node's Watch aborts a watch after 30 s without data; a real API server sends a bookmark
 * only about once a minute on a quiet watch, so every quiet watch would be cut and restarted. We
 * allow two and a half bookmark periods of silence before calling a connection dead.
 */
export const WATCH_INACTIVITY_TIMEOUT_MS = 150_000

export function newWatch(kc: KubeConfig): Watch {
  const watch = new Watch(kc)
  // A private field in client-node 2.0.1's typings, a plain property at run time (checked by the quiet-watch test).
  ;(watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = WATCH_INACTIVITY_TIMEOUT_MS
  return watch
}

export function kubeConfigFromFile(file: string): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromFile(file)
  return kc
}
