// One way to start what most tests need: a cluster (simulated or the real API server, with its
// stand-ins) and the service in-process against it, both closed at the test's teardown. A stand-in
// failure fails the test at once (backend.ts).
import type { Test } from 'tap'
import { startBackend, type Backend, type BackendName, type BackendOptions } from './backend.js'
import { createNode, type NodeFixture } from './fixtures.js'
import { startService, type Service, type StartServiceOptions } from './service.js'

export interface StackOptions extends StartServiceOptions {
  /** Which cluster (default the simulator). */
  backend?: BackendName
  backendOptions?: BackendOptions
  /** Nodes made before the service starts (so its caches start with them). */
  nodes?: NodeFixture[]
  /** Anything else made before the service starts, after the nodes (namespaces, pods...). */
  setup?: (backend: Backend) => Promise<void>
}

export interface Stack {
  backend: Backend
  service: Service
}

/** Starts the cluster, its nodes, then the service (ready); teardown closes the service, then the cluster. */
export async function startStack(t: Test, opts: StackOptions = {}): Promise<Stack> {
  const { backend: name = 'sim', backendOptions, nodes = [], setup, ...serviceOptions } = opts
  const backend = await startBackend(name, { ...backendOptions, onStandInError: (err) => t.fail(err.message) })
  t.teardown(() => backend.close())
  for (const node of nodes) await createNode(backend.clients, node)
  await setup?.(backend)
  const service = await startService(backend.kc, serviceOptions)
  // tap runs teardowns last-registered first: the service closes before its cluster.
  t.teardown(() => service.close())
  return { backend, service }
}
