// The one place that turns a KubeConfig into typed API clients. Everything that talks to
// Kubernetes goes through src/kube; domain code receives these clients, never builds its own.
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PolicyV1Api,
  Watch,
} from '@kubernetes/client-node'

export interface KubeClients {
  kc: KubeConfig
  core: CoreV1Api
  apps: AppsV1Api
  policy: PolicyV1Api
  coordination: CoordinationV1Api
  custom: CustomObjectsApi
  watch: Watch
  /** Base URL of the API server, for raw requests (discovery, metrics.k8s.io). */
  server: string
}

export function createKubeClients(kc: KubeConfig): KubeClients {
  const cluster = kc.getCurrentCluster()
  if (!cluster) throw new Error('kubeconfig has no current cluster')
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    watch: new Watch(kc),
    server: cluster.server.replace(/\/+$/, ''),
  }
}

export function kubeConfigFromFile(file: string): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromFile(file)
  return kc
}
