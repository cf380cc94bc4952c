// Process entry: load config, connect to the cluster, build the app, listen; close with grace.
// Logs: JSON lines, or readable ones when stdout is a terminal (src/shared/log-format.ts).
import { randomBytes, randomUUID } from 'node:crypto'
import v8 from 'node:v8'
import closeWithGrace from 'close-with-grace'
import { ConfigError, loadConfig, type Config } from './config.js'
import { buildApp, API_PREFIX } from './app.js'
import { readSecretFile } from './plugins/jwt-secrets.js'
import { createKubeClients } from './kube/client.js'
import type { Log } from './shared/log.js'
import { chooseLogFormat, PRETTY_OPTIONS } from './shared/log-format.js'
import { chooseCluster, kubeConfigFromString, type KubeConnection } from './kube/connect.js'

interface Connection extends KubeConnection {
  /** Set when we started the embedded simulator: stop it on shutdown. */
  close?: () => Promise<void>
  /** The simulator's URL, for the banner. */
  simulatorUrl?: string
}

/** The cluster KUBE_MODE chooses; with none, the embedded simulated cluster, started here. */
async function connect(config: Config): Promise<Connection> {
  const choice = chooseCluster(config.service)
  if (choice.mode !== 'simulated') return choice
  // Loaded only when used, so production images need not load the simulator.
  const { startSim } = await import('./sim/index.js')
  const sim = await startSim({})
  return { ...choice, kc: kubeConfigFromString(sim.kubeconfig()), close: () => sim.close(), simulatorUrl: sim.url }
}

/** How far past what a full GC keeps the old generation may grow once the caches have synced. */
const HEAP_GROWING_PERCENT = 10

/**
 * The heap's growth policy once the caches have synced, where node exposes gc (the image runs it
 * with --expose-gc; `npm start` keeps V8's defaults). While the caches fill, V8 grows the old
 * generation freely: fewer full GCs while hundreds of MB of LIST pages are parsed (ready ~1 s
 * sooner at 5,000 nodes and 150,000 pods). From then on it may grow only 10% past what a full GC
 * keeps (V8's default allows up to 4x), and one full, compacting GC now sets that limit from what
 * the caches keep. At that size: RSS under load ~230-235 MiB with 10%, ~250-255 with 30%, ~400
 * with V8's default, with no throughput lost that this machine's noise shows (docs/benchmarks.md).
 */
function holdHeapGrowth(log: Log): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) return
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
  const started = performance.now()
  // Compacting every page, this once: after the sync a plain full GC left ~28 MB of holes in the
  // old generation (RSS after sync 238 -> 201 MiB at 5,000 nodes).
  v8.setFlagsFromString('--compact-on-every-full-gc')
  gc()
  v8.setFlagsFromString('--no-compact-on-every-full-gc')
  const mib = (bytes: number) => Math.round(bytes / 1048576)
  const heap = v8.getHeapStatistics()
  log.info({ gcMs: Math.round(performance.now() - started), heapUsedMiB: mib(heap.used_heap_size), heapTotalMiB: mib(heap.total_heap_size) },
    `caches synced: one full compacting GC, the heap now grows at most ${HEAP_GROWING_PERCENT}% past what a GC keeps`)
}

async function main(): Promise<void> {
  const logFormat = chooseLogFormat(process.env.LOG_FORMAT, process.stdout.isTTY)
  if ('problem' in logFormat) {
    console.error(`streamspace-node-manager refuses to start: ${logFormat.problem}`)
    process.exit(2)
  }
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`streamspace-node-manager refuses to start: ${err.message}`)
      process.exit(2)
    }
    throw err
  }
  const conn = await connect(config)
  let jwtSecret = config.service.jwtSecret
  if (config.service.jwtSecretFile) {
    const read = readSecretFile(config.service.jwtSecretFile)
    if ('problem' in read) {
      console.error(`streamspace-node-manager refuses to start: ${read.problem}`)
      await conn.close?.()
      process.exit(2)
    }
    jwtSecret = read.secret
  }
  if (!jwtSecret) {
    if (conn.mode !== 'simulated') {
      console.error('streamspace-node-manager refuses to start: JWT_SECRET must be set (the StreamSpace HS256 secret, at least 32 characters), or JWT_SECRET_FILE to a file that holds it')
      await conn.close?.()
      process.exit(2)
    }
    // Demo only: the embedded simulated cluster gets a random secret for this run.
    jwtSecret = randomBytes(32).toString('base64url')
  }
  // Readable lines in a terminal; otherwise app.ts's default, batched JSON lines on stdout.
  const logStream = logFormat.format === 'pretty' ? (await import('pino-pretty')).default(PRETTY_OPTIONS) : undefined
  const app = await buildApp({ config, kube: createKubeClients(conn.kc), jwtSecret, namespace: conn.namespace, logStream })
  app.addHook('onClose', async () => { await conn.close?.() })
  void app.cluster.whenSynced().then(() => holdHeapGrowth(app.log))

  closeWithGrace({ delay: 10_000, logger: app.log }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  })

  const address = await app.listen({ port: config.service.port, host: config.service.host })
  const base = address.replace('0.0.0.0', '127.0.0.1')
  if (conn.mode === 'simulated') {
    const token = app.jwt.sign({
      user_id: 'demo-admin', username: 'demo-admin', email: 'admin@streamspace.local', role: 'admin',
      groups: ['admins'], jti: randomUUID(), sub: 'demo-admin',
    }, { expiresIn: '12h' })
    app.log.warn({ simulator: conn.simulatorUrl }, 'NO CLUSTER CONFIGURED: running on the EMBEDDED SIMULATED CLUSTER (demo data, not a real cluster)')
    const banner = [
      '',
      '================================================================================',
      ' StreamSpace Node Manager is running on the EMBEDDED SIMULATED CLUSTER.',
      ` Simulated Kubernetes API: ${conn.simulatorUrl}`,
      ` Admin UI: ${base}${API_PREFIX}/admin/nodes`,
      // The token rides in the fragment: browsers never send it, so it reaches no request log.
      ` Sign in (opens the admin UI signed in): ${base}${API_PREFIX}/admin/nodes#token=${token}`,
      ` API:   ${base}${API_PREFIX}/nodes`,
      ` Docs:  ${base}/docs`,
      config.service.jwtSecret || config.service.jwtSecretFile ? '' : ' JWT_SECRET was not set: a random one is used for this run only.',
      ' Admin token (12 h):',
      ` ${token}`,
      ` Try: curl -H "Authorization: Bearer $TOKEN" ${base}${API_PREFIX}/nodes`,
      '================================================================================',
      '',
    ].filter((l) => l !== '').join('\n')
    process.stderr.write(banner + '\n')
  } else {
    app.log.info({ mode: conn.mode, namespace: conn.namespace, ui: `${base}${API_PREFIX}/admin/nodes` }, 'connected to Kubernetes; admin UI at ui (on the StreamSpace host it uses the StreamSpace sign-in; elsewhere paste a StreamSpace admin JWT)')
  }
}

main().catch((err) => {
  console.error('streamspace-node-manager failed to start:', err)
  process.exit(1)
})
