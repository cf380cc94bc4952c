// Process entry: load config, connect to the cluster, build the app, listen; close with grace.
import { randomBytes, randomUUID } from 'node:crypto'
import closeWithGrace from 'close-with-grace'
import { ConfigError, loadConfig, type Config } from './config.js'
import { buildApp, API_PREFIX } from './app.js'
import { createKubeClients } from './kube/client.js'
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

async function main(): Promise<void> {
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
  if (!jwtSecret) {
    if (conn.mode !== 'simulated') {
      console.error('streamspace-node-manager refuses to start: JWT_SECRET must be set (the StreamSpace HS256 secret, at least 32 characters)')
      await conn.close?.()
      process.exit(2)
    }
    // Demo only: the embedded simulated cluster gets a random secret for this run.
    jwtSecret = randomBytes(32).toString('base64url')
  }
  const app = await buildApp({ config, kube: createKubeClients(conn.kc), jwtSecret, namespace: conn.namespace })
  app.addHook('onClose', async () => { await conn.close?.() })

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
      ` Admin UI: ${base}${API_PREFIX}/admin/nodes  (paste the admin token below into its sign-in box)`,
      ` API:   ${base}${API_PREFIX}/nodes`,
      ` Docs:  ${base}/docs`,
      jwtSecret === config.service.jwtSecret ? '' : ' JWT_SECRET was not set: a random one is used for this run only.',
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
