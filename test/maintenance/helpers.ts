// Fixtures for maintenance tests: nodes, session pods (labelled as StreamSpace's), the plan API.
import type { Backend } from '../helpers/backend.js'
import { createNode, createPod, ensureNamespace, waitFor } from '../helpers/fixtures.js'
import type { Service } from '../helpers/service.js'
import type { Maintenance } from '../../src/maintenance/types.js'

export const NS = 'streamspace'

export async function node(b: Backend, name: string, cpu = '8'): Promise<void> {
  await createNode(b.clients, { name, cpu, memory: '16Gi' })
}

export async function sessionPod(b: Backend, name: string, nodeName: string, user: string, cpu = '100m'): Promise<void> {
  await ensureNamespace(b.clients, NS)
  await createPod(b.clients, {
    name, namespace: NS, node: nodeName,
    labels: { app: 'streamspace-session', session: name, user, template: 'firefox' },
    requests: { cpu, memory: '256Mi' },
    terminationGracePeriodSeconds: 0,
  })
}

export async function appPod(b: Backend, name: string, nodeName: string, cpu = '100m'): Promise<void> {
  await ensureNamespace(b.clients, 'apps')
  await createPod(b.clients, { name, namespace: 'apps', node: nodeName, labels: { app: 'web' }, requests: { cpu, memory: '128Mi' }, terminationGracePeriodSeconds: 0 })
}

export async function endSession(b: Backend, name: string): Promise<void> {
  await b.clients.core.deleteNamespacedPod({ name, namespace: NS, gracePeriodSeconds: 0 })
}

export async function call<T = Maintenance>(svc: Service, method: string, path: string, json?: unknown): Promise<{ status: number; body: T & { message: string; details?: unknown } }> {
  const res = await svc.api(path, { method, json })
  return { status: res.status, body: await res.json() as T & { message: string } }
}

export async function plan(svc: Service, id: string): Promise<Maintenance> {
  const r = await call(svc, 'GET', `/maintenance/${id}`)
  if (r.status !== 200) throw new Error(`GET /maintenance/${id}: ${r.status} ${r.body.message}`)
  return r.body
}

/** Waits until the plan satisfies `pred`, naming what it waited for and the last plan seen. */
export async function until(svc: Service, id: string, pred: (p: Maintenance) => boolean, what: string, timeoutMs = 20_000): Promise<Maintenance> {
  let last: Maintenance | undefined
  try {
    await waitFor(async () => pred((last = await plan(svc, id))), timeoutMs, what)
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last?.nodes.map((n) => [n.name, n.state, n.message]))} ${last?.state} ${last?.message}`, { cause: err })
  }
  return last!
}

export const nodeState = (p: Maintenance, name: string) => p.nodes.find((n) => n.name === name)!
