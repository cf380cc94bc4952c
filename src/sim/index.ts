// The simulated Kubernetes cluster: a real node:http server speaking the Kubernetes REST API for
// what StreamSpace Node Manager touches. See DESIGN.md "The simulated cluster (src/sim)" and
// README.md here. This file composes the parts: the cluster (cluster.ts and the controllers it
// wires), its seed (seed.ts), and the HTTP server (server.ts).
import { createWriteStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { Cluster } from './cluster.js'
import { NO_FAULTS, type FaultCounts, type FaultSpec } from './faults.js'
import { kubeconfigFor } from './kubeconfig.js'
import { seedCluster } from './seed.js'
import { ApiHttpServer, type AuditEntry, type SimRequest } from './server.js'

export type { FaultSpec, FaultCounts } from './faults.js'
export type { AuditEntry, SimRequest } from './server.js'
export { Cluster } from './cluster.js'

export interface SimOptions {
  host?: string
  port?: number
  /** undefined = the demo cluster; 0 = empty (namespaces only). */
  nodes?: number
  podsPerNode?: number
  sessionsPerNode?: number
  /** Overrides every pod's grace period when set. */
  podTerminateSeconds?: number
  /** Default true; false removes metrics.k8s.io from discovery and 404s it. */
  metrics?: boolean
  faults?: Partial<FaultSpec>
  /** Run the workload controllers (Deployment, ReplicaSet, garbage collection, with a minimal
   *  scheduler) and the stand-in for StreamSpace's session controller; seeded sessions are then
   *  Session objects with their Deployment, ReplicaSet and pod. Default: on for the demo cluster,
   *  off otherwise. CLI: --controllers on|off. */
  controllers?: boolean
  /** Renew every Ready node's heartbeat times and Lease once per this many seconds (node MODIFIED
   *  churn, as kubelets report status; real ones every 10 s to 5 min). Default: 20 for the demo
   *  cluster (it stays fresh behind `npm start`), 0 (no churn) otherwise. */
  heartbeatSeconds?: number
  /** Seconds between BOOKMARK events on watches that allow them (> 0, fractions allowed; default 15; a real
   *  kube-apiserver sends them about once a minute, while client-node 2.0.1's Watch gives up after 30 s
   *  without data: 60 reproduces the real server's timing). CLI: --bookmark-seconds. */
  bookmarkSeconds?: number
  /** Appends every write and every 5xx answer to this file, one JSON AuditEntry a line. CLI: --audit-log. */
  auditLog?: string
  /** Called with the same entries, in-process. */
  onAudit?: (entry: AuditEntry) => void
}

export interface SimCluster {
  url: string
  port: number
  kubeconfig(): string
  writeKubeconfig(file: string): Promise<void>
  faults: FaultSpec
  /** How many faults have been injected so far, by kind. */
  readonly faultCounts: FaultCounts
  /** TCP connections the API server has accepted so far. */
  readonly connectionsAccepted: number
  requests: { entries: SimRequest[]; reset(): void; count(pred: (r: SimRequest) => boolean): number }
  suspend(): void
  resume(): void
  setNodeReady(name: string, ready: boolean | 'Unknown'): void
  close(): Promise<void>
  /** The object store and API semantics, for tests that need to look inside. */
  cluster: Cluster
}

/** Node status and Lease renewal period of the demo cluster: fresh enough for health checks, little churn. */
const DEMO_HEARTBEAT_SECONDS = 20
/** Watch BOOKMARK period when not configured. A real kube-apiserver sends one about once a minute. */
export const DEFAULT_BOOKMARK_SECONDS = 15

export async function startSim(opts: SimOptions = {}): Promise<SimCluster> {
  const bookmarkSeconds = opts.bookmarkSeconds ?? DEFAULT_BOOKMARK_SECONDS
  if (!(bookmarkSeconds > 0)) throw new RangeError(`bookmarkSeconds must be > 0, got ${bookmarkSeconds}`)
  const cluster = new Cluster()
  cluster.podTerminateSeconds = opts.podTerminateSeconds
  cluster.replicaSetController = opts.controllers ?? opts.nodes === undefined
  seedCluster(cluster.store, {
    nodes: opts.nodes, podsPerNode: opts.podsPerNode, sessionsPerNode: opts.sessionsPerNode, sessionObjects: cluster.replicaSetController,
  })
  cluster.recomputeAllPdbs()
  cluster.nodeLifecycle.reconcileAll()
  const heartbeatSeconds = opts.heartbeatSeconds ?? (opts.nodes === undefined ? DEMO_HEARTBEAT_SECONDS : 0)
  if (heartbeatSeconds > 0) cluster.startHeartbeats(heartbeatSeconds)

  const faults: FaultSpec = { ...NO_FAULTS, ...opts.faults }
  const auditFile = opts.auditLog ? createWriteStream(opts.auditLog, { flags: 'a' }) : undefined
  const audit = auditFile || opts.onAudit
    ? (entry: AuditEntry) => {
      auditFile?.write(JSON.stringify(entry) + '\n')
      opts.onAudit?.(entry)
    }
    : undefined
  const server = new ApiHttpServer(cluster, {
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    metrics: opts.metrics !== false,
    bookmarkMs: bookmarkSeconds * 1000,
    faults,
    audit,
  })
  try {
    await server.listen()
  } catch (err) {
    cluster.stop()
    await server.close()
    throw err
  }
  const kubeconfig = () => kubeconfigFor(server.url)
  const entries = server.entries
  return {
    url: server.url,
    port: server.port,
    cluster,
    // Live: the server reads this object on every request; assigning a new one merges it in.
    get faults() {
      return faults
    },
    set faults(next: FaultSpec) {
      Object.assign(faults, next)
    },
    get faultCounts() {
      return { ...server.injected }
    },
    get connectionsAccepted() {
      return server.connectionsAccepted
    },
    kubeconfig,
    async writeKubeconfig(file: string) {
      await writeFile(file, kubeconfig(), { mode: 0o600 })
    },
    requests: {
      entries,
      reset() {
        entries.length = 0
      },
      count(pred) {
        return entries.filter(pred).length
      },
    },
    suspend: () => server.suspend(),
    resume: () => server.resume(),
    setNodeReady(name, ready) {
      cluster.setNodeReady(name, ready)
    },
    async close() {
      cluster.stop()
      await server.close()
      if (auditFile) await new Promise((resolve) => auditFile.end(resolve))
    },
  }
}
