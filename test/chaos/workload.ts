// The chaos run's workload through the replicas' proxy, as operators would send it: maintenance
// plans with every session policy and deadlines, plain drains, cancels, completes, cordons, label
// and taint changes, reads. Every request and its answer goes into the history. Nodes under a plan
// or drain (as the cluster says, or asked for just now) get no new plan, drain or cordon change.
import { API_PREFIX, makeToken } from '../helpers/service.js'
import type { ApiCall, Intent } from './history.js'

export type Random = () => number

/** mulberry32: a small seeded PRNG, so a seed replays the same choices. */
export function seeded(seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const pick = <T>(rnd: Random, list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!

/** What the workload needs to know of the cluster (read in-process from the simulator's store). */
export interface ClusterView {
  nodes(): string[]
  unschedulable(node: string): boolean
  /** Nodes of plans not final and of drains not final. */
  busyNodes(): Set<string>
  /** Plans by id with their state and nodes. */
  plans(): { id: string; state: string; nodes: string[]; finishedAt: number | undefined }[]
  /** Finished drains: node and when. */
  finishedDrains(): { node: string; finishedAt: number }[]
}

const LABEL_KEYS = ['chaos.example.com/a', 'chaos.example.com/b', 'chaos.example.com/c']
const TAINT_KEYS = ['chaos.example.com/t1', 'chaos.example.com/t2']
const POLICIES = ['wait', 'hibernate', 'evict'] as const
const READS = ['/nodes', '/nodes/stats', '/maintenance', '/cluster/health']

export class Workload {
  readonly calls: ApiCall[] = []
  private readonly token = makeToken({ username: 'chaos-ops', user_id: 'u-chaos' })
  /** Nodes a request is in flight for: no second plan, drain or cordon change meanwhile. */
  private readonly claimed = new Set<string>()
  private counter = 0

  constructor(private readonly proxyUrl: string, private readonly view: ClusterView, private readonly rnd: Random) {}

  async call(method: string, path: string, json?: unknown, intent?: Intent): Promise<{ status: number; body: any }> {
    const start = Date.now()
    let status: number
    let body: any
    let message: string | undefined
    try {
      const res = await fetch(`${this.proxyUrl}${API_PREFIX}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: json !== undefined ? JSON.stringify(json) : undefined,
        signal: AbortSignal.timeout(60_000),
      })
      status = res.status
      const text = await res.text()
      try { body = JSON.parse(text) } catch { body = text }
      if (status >= 400) message = typeof body === 'object' && body ? String(body.message ?? '') : String(body).slice(0, 200)
    } catch (err) {
      status = 0
      message = (err as Error).message
    }
    this.calls.push({ start, end: Date.now(), method, path, status, ...(intent ? { intent } : {}), ...(message ? { message } : {}) })
    return { status, body }
  }

  private freeNodes(): string[] {
    const busy = this.view.busyNodes()
    return this.view.nodes().filter((n) => !busy.has(n) && !this.claimed.has(n))
  }

  private async claim<T>(nodes: string[], fn: () => Promise<T>): Promise<T> {
    for (const n of nodes) this.claimed.add(n)
    try {
      return await fn()
    } finally {
      for (const n of nodes) this.claimed.delete(n)
    }
  }

  /** One random step. */
  async step(): Promise<void> {
    const rnd = this.rnd
    const r = rnd()
    const enc = encodeURIComponent
    if (r < 0.3) {
      const node = pick(rnd, this.view.nodes())
      const plan = this.view.plans().at(-1)
      await this.call('GET', pick(rnd, [...READS, `/nodes/${node}`, `/nodes/${node}/drain`, ...(plan ? [`/maintenance/${plan.id}`] : [])]))
    } else if (r < 0.45) {
      const node = pick(rnd, this.view.nodes())
      const key = pick(rnd, LABEL_KEYS)
      if (rnd() < 0.3) await this.call('DELETE', `/nodes/${node}/labels/${enc(key)}`, undefined, { op: 'unlabel', node, key })
      else {
        const value = `v${++this.counter}`
        await this.call('PUT', `/nodes/${node}/labels`, { key, value }, { op: 'label', node, key, value })
      }
    } else if (r < 0.55) {
      const node = pick(rnd, this.view.nodes())
      const key = pick(rnd, TAINT_KEYS)
      const effect = 'PreferNoSchedule'
      if (rnd() < 0.3) await this.call('DELETE', `/nodes/${node}/taints/${enc(key)}?effect=${effect}`, undefined, { op: 'untaint', node, key, effect })
      else {
        const value = `v${++this.counter}`
        await this.call('POST', `/nodes/${node}/taints`, { key, value, effect }, { op: 'taint', node, key, value, effect })
      }
    } else if (r < 0.63) {
      const node = pick(rnd, this.freeNodes())
      if (!node) return
      const op = this.view.unschedulable(node) ? 'uncordon' : 'cordon'
      await this.claim([node], () => this.call('POST', `/nodes/${node}/${op}`, op === 'cordon' ? { reason: 'chaos' } : {}, { op, node }))
    } else if (r < 0.73) {
      await this.plan()
    } else if (r < 0.78) {
      const node = pick(rnd, this.freeNodes().filter((n) => !this.view.unschedulable(n)))
      if (!node) return
      await this.claim([node], () => this.call('POST', `/nodes/${node}/drain`, { wait: false, force: true, delete_emptydir_data: true, timeout_seconds: 60 }, { op: 'drain', node }))
    } else if (r < 0.82) {
      const active = this.view.plans().filter((p) => p.state === 'running' || p.state === 'scheduled')
      const plan = active.length ? pick(rnd, active) : undefined
      if (plan) await this.call('DELETE', `/maintenance/${plan.id}`, undefined, { op: 'cancel', id: plan.id, nodes: plan.nodes })
    } else {
      await this.release()
    }
  }

  private async plan(): Promise<void> {
    const rnd = this.rnd
    const free = this.freeNodes().filter((n) => !this.view.unschedulable(n))
    const count = 1 + Math.floor(rnd() * 2)
    if (free.length < count + 2) return
    const nodes: string[] = []
    while (nodes.length < count) {
      const n = pick(rnd, free)
      if (!nodes.includes(n)) nodes.push(n)
    }
    const policy = pick(rnd, POLICIES)
    const deadline = new Date(Date.now() + (8 + rnd() * 20) * 1000).toISOString()
    const request = {
      nodes, reason: `chaos ${++this.counter}`, session_policy: policy, session_deadline: deadline,
      max_unavailable: 1 + Math.floor(rnd() * 2), force: true,
      drain: { timeout_seconds: 60, force: true, delete_emptydir_data: true },
    }
    await this.claim(nodes, async () => {
      const intent: Intent = { op: 'plan', nodes }
      const res = await this.call('POST', '/maintenance', request, intent)
      if (res.status === 201) intent.id = res.body.id
    })
  }

  /** Gives finished plans' and drains' nodes back: complete a succeeded plan, or uncordon. */
  private async release(): Promise<void> {
    const rnd = this.rnd
    const old = Date.now() - 5000
    const busy = this.view.busyNodes()
    const plans = this.view.plans().filter((p) => p.finishedAt !== undefined && p.finishedAt < old && p.state !== 'completed')
    const plan = plans.length ? pick(rnd, plans) : undefined
    if (plan && plan.state === 'succeeded' && rnd() < 0.7) {
      await this.call('POST', `/maintenance/${plan.id}/complete`, {}, { op: 'complete', id: plan.id, nodes: plan.nodes })
      return
    }
    const cordoned = [...(plan?.nodes ?? []), ...this.view.finishedDrains().filter((d) => d.finishedAt < old).map((d) => d.node)]
      .filter((n) => this.view.unschedulable(n) && !busy.has(n) && !this.claimed.has(n))
    const node = cordoned.length ? pick(rnd, cordoned) : undefined
    if (node) await this.claim([node], () => this.call('POST', `/nodes/${node}/uncordon`, {}, { op: 'uncordon', node }))
  }
}
