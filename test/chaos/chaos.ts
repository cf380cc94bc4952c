// One chaos run (issue 29): a simulated cluster with API faults on, N replicas of the service as
// processes behind a round-robin proxy, StreamSpace sessions that end at random, a webhook receiver
// and a real Alertmanager, and the workload (workload.ts); every few tens of seconds a replica
// (the leader more often than not) is SIGKILLed or SIGTERMed and started again. Then faults and
// kills stop, the system settles, and the history is returned for the checker (check.ts).
import { findResource } from '../../src/sim/kinds.js'
import { startSim, type SimCluster } from '../../src/sim/index.js'
import type { Obj, StoreEvent } from '../../src/sim/store.js'
import { startAlertmanager } from '../helpers/alertmanager.js'
import { roundRobinProxy } from '../helpers/proxy.js'
import type { AlertmanagerReceipt, AuditEntry, FinalNode, History, ObjectVersion, ReplicaEvent, WebhookReceipt } from './history.js'
import { alertmanagerRecorder, webhookReceiver } from './receivers.js'
import { startReplica, type Replica } from './replicas.js'
import { pick, seeded, Workload, type ClusterView } from './workload.js'

export interface ChaosOptions {
  /** How long faults, kills and the workload go on. */
  seconds: number
  replicas: number
  nodes: number
  seed: number
  /** Seconds between kills: a random time in this range. Default [15, 35]. */
  killEvery?: [number, number]
  /** Concurrent workload clients. Default 3. */
  clients?: number
  log?: (line: string) => void
}

export interface Figures {
  seed: number
  seconds: number
  replicas: number
  nodes: number
  kills: number
  terms: number
  /** Replicas that exited by themselves, each with the tail of its log. */
  crashes: string[]
  restarts: number
  leader_changes: number
  faults_injected: Record<string, number>
  requests: number
  requests_by_status: Record<string, number>
  plans: number
  plans_by_policy: Record<string, number>
  plans_by_state: Record<string, number>
  drains: number
  drains_by_phase: Record<string, number>
  sessions_started: number
  sessions_ended: number
  sessions_hibernated: number
  sessions_evicted: number
  pods_evicted: number
  nodes_not_ready: number
  pages: number
  webhook_deliveries: number
  alertmanager_posts: number
  settled_after_seconds: number
}

const FAULTS = { errorRate: 0.02, latencyMs: 10, dropWatchMs: 20_000, conflictRate: 0.03 }
const GROUP = 'nodes.stream.space'
const KINDS: Record<string, ObjectVersion['kind']> = {
  [`nodemaintenances.${GROUP}`]: 'NodeMaintenance', [`nodedrains.${GROUP}`]: 'NodeDrain', [`nodeincidents.${GROUP}`]: 'NodeIncident', 'leases.coordination.k8s.io': 'Lease',
}
const FINAL_PLAN = ['succeeded', 'failed', 'cancelled', 'completed']
const FINAL_DRAIN = ['succeeded', 'refused', 'timed_out', 'failed', 'interrupted']
const LEASE = 'streamspace-node-manager'
const SESSION_NS = 'streamspace'
/** The longest the system may take to settle once faults stop (plans wait up to their deadline, drains 60 s). */
const SETTLE_MS = 180_000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** What the checker needs of a stored object's version (small: not a drain's step list). */
function versionOf(kind: ObjectVersion['kind'], ev: StoreEvent): ObjectVersion {
  const o = ev.obj
  const st = o.status ?? {}
  const status = kind === 'NodeMaintenance' ? { state: st.state, message: st.message, finishedAt: st.finishedAt, nodes: (st.nodes ?? []).map((n: Obj) => ({ name: n.name, state: n.state, message: n.message, cordoned_by_plan: n.cordonedByPlan, sessions_hibernated: n.sessionsHibernated, sessions_ended: n.sessionsEnded })) }
    : kind === 'NodeDrain' ? { phase: st.phase, message: st.message, finishedAt: st.finishedAt }
    : kind === 'NodeIncident' ? { state: st.state, endsAt: st.endsAt, paged: st.paged }
    : {}
  const spec = kind === 'NodeDrain' ? { requestedBy: o.spec?.requestedBy } : kind === 'Lease' ? { holderIdentity: o.spec?.holderIdentity } : { ...o.spec }
  return { at: Date.now(), kind, name: o.metadata.name, uid: o.metadata.uid, deleted: ev.type === 'DELETED', creationTimestamp: o.metadata.creationTimestamp, spec, status }
}

export async function runChaos(opts: ChaosOptions): Promise<{ history: History; figures: Figures }> {
  const log = opts.log ?? (() => {})
  const rnd = seeded(opts.seed)
  const audit: AuditEntry[] = []
  const objects: ObjectVersion[] = []
  const replicaEvents: ReplicaEvent[] = []
  const webhook: WebhookReceipt[] = []
  const amReceipts: AlertmanagerReceipt[] = []
  const closers: (() => Promise<void>)[] = []
  const started = Date.now()

  const sim: SimCluster = await startSim({
    nodes: opts.nodes, podsPerNode: 4, sessionsPerNode: 1, controllers: true, podTerminateSeconds: 2, onAudit: (e) => audit.push(e),
  })
  closers.push(() => sim.close())
  const store = sim.cluster.store
  let lastHolder: string | undefined
  store.onChange((ev) => {
    const kind = KINDS[ev.resource]
    if (!kind || (kind === 'Lease' && ev.obj.metadata.name !== LEASE)) return
    const v = versionOf(kind, ev)
    // Lease renewals are many: only a change of holder is history.
    if (kind === 'Lease' && lastHolder === v.spec.holderIdentity) return
    if (kind === 'Lease') lastHolder = v.spec.holderIdentity
    objects.push(v)
  })
  const all = (id: string) => [...store.collection(id).objects.values()]
  const view: ClusterView = {
    nodes: () => all('nodes').map((n) => n.metadata.name as string),
    unschedulable: (n) => !!store.get('nodes', undefined, n)?.spec?.unschedulable,
    busyNodes: () => {
      const busy = new Set<string>()
      for (const p of all(`nodemaintenances.${GROUP}`)) {
        if (!FINAL_PLAN.includes(p.status?.state)) for (const n of p.spec?.nodes ?? []) busy.add(n)
      }
      for (const d of all(`nodedrains.${GROUP}`)) if (!FINAL_DRAIN.includes(d.status?.phase)) busy.add(d.metadata.name)
      return busy
    },
    plans: () => all(`nodemaintenances.${GROUP}`).map((p) => ({
      id: p.metadata.name, state: p.status?.state ?? 'scheduled', nodes: p.spec?.nodes ?? [], finishedAt: p.status?.finishedAt ? Date.parse(p.status.finishedAt) : undefined,
    })),
    finishedDrains: () => all(`nodedrains.${GROUP}`).filter((d) => FINAL_DRAIN.includes(d.status?.phase)).map((d) => ({ node: d.metadata.name, finishedAt: Date.parse(d.status?.finishedAt ?? '') || 0 })),
  }

  try {
    const am = await startAlertmanager()
    closers.push(() => am.stop())
    const amProxy = await alertmanagerRecorder(am.url, amReceipts)
    closers.push(() => amProxy.close())
    const hook = await webhookReceiver(webhook, () => rnd() < 0.1)
    closers.push(() => hook.close())
    const env = {
      ALERTMANAGER_URL: amProxy.url, ALERT_WEBHOOK_URL: hook.url, HEALTH_GRACE_SECONDS: '2', HEALTH_CHECK_INTERVAL_MS: '1000',
      CORDONED_ALERT_MINUTES: '0', CHANGE_RATE_LIMIT_MAX: '100000', METRICS_POLL_SECONDS: '60',
    }

    // The replicas: slot i runs as chaos-<i>-<n>, n counting its starts.
    const starts = new Map<number, number>()
    const live = new Map<number, Replica>()
    const proxy = await roundRobinProxy([])
    const syncProxy = () => proxy.upstreams.splice(0, proxy.upstreams.length, ...[...live.values()].map((r) => r.url))
    // A replica that exits by itself (not signalled here) is a crash: recorded with its log's tail,
    // and started again as Kubernetes restarts a crashed container.
    const restarting: Promise<void>[] = []
    const crashes: string[] = []
    let stopping = false
    const startSlot = async (slot: number): Promise<void> => {
      const n = (starts.get(slot) ?? 0) + 1
      starts.set(slot, n)
      const r = await startReplica(`chaos-${slot}-${n}`, sim.port, env)
      replicaEvents.push({ at: Date.now(), replica: r.name, host: r.host, event: 'ready' })
      live.set(slot, r)
      syncProxy()
      log(`replica ${r.name} ready at ${r.url} (cluster through ${r.host})`)
      void r.exited.then((exit) => {
        if (live.get(slot) !== r || stopping) return
        live.delete(slot)
        syncProxy()
        replicaEvents.push({ at: Date.now(), replica: r.name, host: r.host, event: 'exited', signal: exit.signal ?? `code ${exit.code}` })
        crashes.push(`${r.name} exited by itself (${exit.signal ?? `code ${exit.code}`}) at ${new Date().toISOString()}; its log ends: ${r.log().slice(-1500)}`)
        log(`CRASH ${crashes.at(-1)}`)
        restarting.push(r.close().then(() => sleep(1000)).then(() => startSlot(slot)))
      })
    }
    closers.push(async () => {
      stopping = true
      for (const r of live.values()) {
        r.child.kill('SIGKILL')
        await r.exited
        await r.close()
      }
    })
    await Promise.all(Array.from({ length: opts.replicas }, (_, i) => startSlot(i)))
    closers.push(async () => proxy.close())
    const leaderName = () => store.get('leases.coordination.k8s.io', 'streamspace', LEASE)?.spec?.holderIdentity as string | undefined
    const setupSeconds = (Date.now() - started) / 1000
    log(`set up in ${setupSeconds.toFixed(1)} s; faults on for ${opts.seconds} s`)

    sim.faults = { ...sim.faults, ...FAULTS }
    const faultsBefore = sim.faultCounts
    const until = Date.now() + opts.seconds * 1000
    const workload = new Workload(proxy.url, view, rnd)
    let sessionsStarted = 0
    let sessionsEnded = 0
    let notReady = 0
    const sessionDef = findResource('stream.space', 'v1alpha1', 'sessions')!

    const clients = Array.from({ length: opts.clients ?? 3 }, async () => {
      while (Date.now() < until) {
        await workload.step()
        await sleep(100 + rnd() * 400)
      }
    })
    // Sessions end at random and new ones start (StreamSpace's users), through the session controller.
    const sessions = (async () => {
      while (Date.now() < until) {
        await sleep(500 + rnd() * 1500)
        const running = all(`sessions.stream.space`).filter((s) => s.spec?.state === 'running')
        if (running.length && rnd() < 0.5) {
          const s = pick(rnd, running)
          sim.cluster.delete(sessionDef, SESSION_NS, s.metadata.name)
          sessionsEnded++
        }
        if (running.length < opts.nodes) {
          const user = pick(rnd, ['alice', 'bob', 'carol', 'dave', 'erin'])
          const name = `chaos-${user}-${++sessionsStarted}`
          sim.cluster.create(sessionDef, SESSION_NS, {
            apiVersion: 'stream.space/v1alpha1', kind: 'Session',
            metadata: { name, labels: { app: 'streamspace-session', session: name, user, template: 'firefox' } },
            spec: { user, template: 'firefox', state: 'running' },
          })
        }
      }
    })()
    // Nodes go NotReady for a while (a kubelet down), then Ready again: incidents page and resolve.
    const down = new Set<string>()
    const kubelets = (async () => {
      while (Date.now() < until) {
        await sleep(3000 + rnd() * 7000)
        const node = pick(rnd, view.nodes())
        if (down.has(node)) continue
        down.add(node)
        notReady++
        sim.setNodeReady(node, false)
        const forMs = 4000 + rnd() * 10_000
        void sleep(forMs).then(() => { sim.setNodeReady(node, true); down.delete(node) })
      }
    })()
    // The monkey: a replica (the leader more often than not) is killed or stopped, then started again.
    let kills = 0
    let terms = 0
    let restarts = 0
    const [minGap, maxGap] = opts.killEvery ?? [15, 35]
    // Restarts go on in the background (a start takes tens of seconds on a busy machine): the next
    // kill comes on time, among the replicas running then, never the last one.
    const monkey = (async () => {
      for (;;) {
        await sleep(Math.min((minGap + rnd() * (maxGap - minGap)) * 1000, Math.max(0, until - Date.now())))
        if (Date.now() >= until) return
        if (live.size < 2) continue
        const leader = [...live.entries()].find(([, r]) => r.name === leaderName())
        const [slot, victim] = leader && rnd() < 0.65 ? leader : pick(rnd, [...live.entries()])
        const signal = rnd() < 0.5 ? 'SIGKILL' : 'SIGTERM'
        const wasLeader = victim.name === leaderName()
        live.delete(slot)
        syncProxy()
        replicaEvents.push({ at: Date.now(), replica: victim.name, host: victim.host, event: 'signal', signal, leader: wasLeader })
        victim.child.kill(signal)
        if (signal === 'SIGKILL') kills++
        else terms++
        restarting.push((async () => {
          const exit = await victim.exited
          replicaEvents.push({ at: Date.now(), replica: victim.name, host: victim.host, event: 'exited', signal: exit.signal ?? `code ${exit.code}` })
          await victim.close()
          log(`${signal} ${victim.name}${wasLeader ? ' (leader)' : ''}: exited ${exit.signal ?? exit.code}`)
          await sleep(1000 + rnd() * 2000)
          await startSlot(slot)
          restarts++
        })())
      }
    })()
    await Promise.all([...clients, sessions, kubelets, monkey])
    while (restarting.length) await restarting.shift()

    // Quiet: faults off, every node Ready, every replica up; then wait for everything to settle.
    const quietAt = Date.now()
    const faultsAfter = sim.faultCounts
    sim.faults = { ...sim.faults, errorRate: 0, latencyMs: 0, dropWatchMs: 0, conflictRate: 0 }
    while (down.size) await sleep(200)
    log(`faults and kills stopped after ${((quietAt - started) / 1000).toFixed(0)} s; settling`)
    const settleDeadline = Date.now() + SETTLE_MS
    const delivered = (id: string) => webhook.some((w) => w.id === id && w.answered === 200)
    const amResolved = (i: Obj) => amReceipts.some((p) => p.answered === 200 && p.alerts.some((a) => a.labels.node === i.spec.node && a.labels.alertname === i.spec.alertname
      && a.labels.condition === i.spec.condition && Date.parse(a.endsAt) <= p.at + 60_000 && Date.parse(a.endsAt) >= Date.parse(i.spec.startsAt)))
    const settled = () => all(`nodemaintenances.${GROUP}`).every((p) => FINAL_PLAN.includes(p.status?.state))
      && all(`nodedrains.${GROUP}`).every((d) => FINAL_DRAIN.includes(d.status?.phase))
      && all(`nodeincidents.${GROUP}`).every((i) => i.status?.state === 'resolved' ? delivered(`${i.metadata.name}/resolved`) && amResolved(i) : i.status?.state !== 'firing')
      && all('pods').every((p) => !p.metadata.deletionTimestamp)
    while (!settled() && Date.now() < settleDeadline) await sleep(500)
    const settledAt = Date.now()
    log(`settled ${settled() ? '' : 'NOT '}after ${((settledAt - quietAt) / 1000).toFixed(0)} s`)

    const final: FinalNode[] = all('nodes').map((n) => ({
      name: n.metadata.name,
      labels: { ...n.metadata.labels },
      taints: (n.spec?.taints ?? []).map((x: Obj) => ({ key: x.key, value: x.value, effect: x.effect })),
      unschedulable: !!n.spec?.unschedulable,
      pods: all('pods').filter((p) => p.spec?.nodeName === n.metadata.name && !['Succeeded', 'Failed'].includes(p.status?.phase)).map((p) => ({
        namespace: p.metadata.namespace, name: p.metadata.name,
        daemonSet: (p.metadata.ownerReferences ?? []).some((o: Obj) => o.kind === 'DaemonSet'),
        mirror: !!p.metadata.annotations?.['kubernetes.io/config.mirror'],
        terminating: !!p.metadata.deletionTimestamp,
      })),
    }))
    const history: History = {
      seed: opts.seed, startedAt: started, quietAt, endedAt: Date.now(),
      calls: workload.calls, audit, objects, replicas: replicaEvents, webhook, alertmanager: amReceipts, final,
    }
    const count = (xs: string[]) => xs.reduce<Record<string, number>>((acc, x) => ({ ...acc, [x]: (acc[x] ?? 0) + 1 }), {})
    // Every object of a kind as last seen (also those the service deleted since: it keeps the newest 100 finished).
    const lastOf = (kind: ObjectVersion['kind']) => [...new Map(objects.filter((o) => o.kind === kind && !o.deleted).map((o) => [o.uid, o])).values()]
    const plans = lastOf('NodeMaintenance')
    const replicaHosts = new Set(replicaEvents.map((r) => r.host))
    const evictions = audit.filter((e) => replicaHosts.has(e.host) && e.resource === 'pods/eviction' && e.status === 201 && !e.pod?.terminating)
    const figures: Figures = {
      seed: opts.seed, seconds: opts.seconds, replicas: opts.replicas, nodes: opts.nodes,
      kills, terms, crashes, restarts,
      leader_changes: Math.max(0, objects.filter((o) => o.kind === 'Lease' && o.spec.holderIdentity).length - 1),
      faults_injected: Object.fromEntries(Object.entries(faultsAfter).map(([k, v]) => [k, v - faultsBefore[k as keyof typeof faultsBefore]])),
      requests: workload.calls.length,
      requests_by_status: count(workload.calls.map((c) => String(c.status))),
      plans: plans.length,
      plans_by_policy: count(plans.map((p) => String(p.spec.sessionPolicy))),
      plans_by_state: count(plans.map((p) => String(p.status.state))),
      drains: new Set(objects.filter((o) => o.kind === 'NodeDrain').map((o) => o.uid)).size,
      drains_by_phase: count(lastOf('NodeDrain').map((d) => String(d.status.phase))),
      sessions_started: sessionsStarted,
      sessions_ended: sessionsEnded,
      sessions_hibernated: plans.reduce((sum, p) => sum + (p.status.nodes ?? []).reduce((s: number, n: Obj) => s + (n.sessions_hibernated ?? 0), 0), 0),
      sessions_evicted: evictions.filter((e) => e.pod?.labels.app === 'streamspace-session').length,
      pods_evicted: evictions.length,
      nodes_not_ready: notReady,
      pages: new Set(objects.filter((o) => o.kind === 'NodeIncident' && (o.status.paged === true || o.status.state === 'firing')).map((o) => o.name)).size,
      webhook_deliveries: webhook.length,
      alertmanager_posts: amReceipts.length,
      settled_after_seconds: Math.round((settledAt - quietAt) / 1000),
    }
    return { history, figures }
  } finally {
    for (const close of closers.reverse()) await close().catch((err) => log(`cleanup: ${(err as Error).message}`))
  }
}
