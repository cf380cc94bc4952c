// Shared setup for the sim's own tests: a sim per test file and client-node clients for it.
import { AppsV1Api, CoreV1Api, KubeConfig, PolicyV1Api, Watch } from '@kubernetes/client-node'
import type { Test } from 'tap'
import { startSim, type SimCluster, type SimOptions } from '../../src/sim/index.js'
import { waitFor } from '../helpers/fixtures.js'

export interface SimClients {
  sim: SimCluster
  kc: KubeConfig
  core: CoreV1Api
  apps: AppsV1Api
  policy: PolicyV1Api
  watch: Watch
}

export async function simWithClients(t: Test, opts: SimOptions = { nodes: 0 }): Promise<SimClients> {
  const sim = await startSim(opts)
  t.teardown(() => sim.close())
  const kc = new KubeConfig()
  kc.loadFromString(sim.kubeconfig())
  return { sim, kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), policy: kc.makeApiClient(PolicyV1Api), watch: new Watch(kc) }
}

export function readyNode(name: string, labels: Record<string, string> = {}): any {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: {},
    status: {
      capacity: { cpu: '4', memory: '16393652Ki', pods: '110' },
      allocatable: { cpu: '3900m', memory: '15240218Ki', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
      addresses: [{ type: 'InternalIP', address: '10.9.0.1' }],
    },
  }
}

export function pod(name: string, nodeName: string | undefined, labels: Record<string, string> = {}, grace = 1): any {
  return {
    metadata: { name, labels },
    spec: { ...(nodeName ? { nodeName } : {}), terminationGracePeriodSeconds: grace, containers: [{ name: 'c', image: 'busybox:1.37.0', resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
  }
}

/** Raw request against the sim, for what client-node does not expose (Accept headers, bad tokens). */
export async function raw(sim: SimCluster, path: string, init: RequestInit = {}): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(sim.url + path, init)
  const text = await res.text()
  let body: any
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: res.status, body, text }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** waitFor (test/helpers/fixtures.ts) that returns the truthy value it waited for. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 5000, what = 'condition'): Promise<NonNullable<T>> {
  let v: T | undefined
  await waitFor(async () => !!(v = await fn()), timeoutMs, what)
  return v as NonNullable<T>
}
