// Where the cluster comes from (KUBE_MODE): in-cluster inside a pod, else a kubeconfig, else the
// embedded simulated cluster. Inside a pod, auto never falls back to the simulator. This decides
// the mode only: server.ts starts the simulator when there is no cluster.
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'
import type { ServiceSettings } from '../config.js'

export type KubeMode = 'in-cluster' | 'kubeconfig' | 'simulated'

export interface KubeConnection {
  mode: KubeMode
  kc: KubeConfig
  /** Namespace for our own ConfigMap, Lease and Events. */
  namespace: string
}

/** No cluster configured: the caller (server.ts) starts the embedded simulator. */
export interface NoCluster {
  mode: 'simulated'
  namespace: string
}

const inPod = (env: NodeJS.ProcessEnv) => Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT)

/**
 * Decides where the cluster comes from and loads its credentials. Throws when the chosen mode
 * cannot be had (in-cluster outside a pod, a missing kubeconfig file). For 'simulated' it only
 * says so: the simulator is started by server.ts, the composition root.
 */
export function chooseCluster(settings: ServiceSettings, env: NodeJS.ProcessEnv = process.env): KubeConnection | NoCluster {
  const kubeconfigFile = settings.kubeconfig ?? join(env.HOME || homedir(), '.kube', 'config')
  const mode: KubeMode = settings.kubeMode !== 'auto' ? settings.kubeMode
    : inPod(env) ? 'in-cluster' : settings.kubeconfig || existsSync(kubeconfigFile) ? 'kubeconfig' : 'simulated'
  if (mode === 'in-cluster') {
    if (!inPod(env)) throw new Error('KUBE_MODE=in-cluster but KUBERNETES_SERVICE_HOST/PORT are not set: not running in a pod')
    const kc = new KubeConfig()
    kc.loadFromCluster()
    return { mode, kc, namespace: settings.podNamespace ?? 'streamspace' }
  }
  if (mode === 'kubeconfig') {
    if (!existsSync(kubeconfigFile)) throw new Error(`KUBE_MODE=kubeconfig but ${kubeconfigFile} does not exist (set KUBECONFIG)`)
    const kc = new KubeConfig()
    kc.loadFromFile(kubeconfigFile)
    const contextNs = kc.getContextObject(kc.getCurrentContext())?.namespace
    return { mode, kc, namespace: settings.podNamespace ?? contextNs ?? 'streamspace' }
  }
  return { mode: 'simulated', namespace: settings.podNamespace ?? 'streamspace' }
}

/** A connection from kubeconfig text (the embedded simulator writes one for itself). */
export function kubeConfigFromString(text: string): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromString(text)
  return kc
}
