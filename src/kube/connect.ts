// Where the cluster comes from (KUBE_MODE): in-cluster inside a pod, else a kubeconfig, else the
// embedded simulated cluster. Inside a pod, auto never falls back to the simulator.
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'
import type { ServiceSettings } from '../config.js'

export interface KubeConnection {
  mode: 'in-cluster' | 'kubeconfig' | 'simulated'
  kc: KubeConfig
  /** Namespace for our own ConfigMap, Lease and Events. */
  namespace: string
  /** Set when we started the embedded simulator: stop it on shutdown. */
  close?: () => Promise<void>
  /** The simulator's URL, for the banner. */
  simulatorUrl?: string
}

const inPod = (env: NodeJS.ProcessEnv) => Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT)

export async function connectKube(settings: ServiceSettings, env: NodeJS.ProcessEnv = process.env): Promise<KubeConnection> {
  const kubeconfigFile = settings.kubeconfig ?? join(homedir(), '.kube', 'config')
  const mode: KubeConnection['mode'] = settings.kubeMode !== 'auto' ? settings.kubeMode
    : inPod(env) ? 'in-cluster' : settings.kubeconfig || existsSync(kubeconfigFile) ? 'kubeconfig' : 'simulated'
  const kc = new KubeConfig()
  if (mode === 'in-cluster') {
    if (!inPod(env)) throw new Error('KUBE_MODE=in-cluster but KUBERNETES_SERVICE_HOST/PORT are not set: not running in a pod')
    kc.loadFromCluster()
    return { mode, kc, namespace: settings.podNamespace ?? 'streamspace' }
  }
  if (mode === 'kubeconfig') {
    if (!existsSync(kubeconfigFile)) throw new Error(`KUBE_MODE=kubeconfig but ${kubeconfigFile} does not exist (set KUBECONFIG)`)
    kc.loadFromFile(kubeconfigFile)
    const contextNs = kc.getContextObject(kc.getCurrentContext())?.namespace
    return { mode, kc, namespace: settings.podNamespace ?? contextNs ?? 'streamspace' }
  }
  // Loaded only when used, so production images need not load the simulator.
  const { startSim } = await import('../sim/index.js')
  const sim = await startSim({})
  kc.loadFromString(sim.kubeconfig())
  return { mode: 'simulated', kc, namespace: settings.podNamespace ?? 'streamspace', close: () => sim.close(), simulatorUrl: sim.url }
}
