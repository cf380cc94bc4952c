// Process entry of the cleanup command: removes what the service wrote to the cluster (see
// src/autoscaling/cleanup.ts). `npm run cleanup`, or `node dist/cleanup.js` in the image (the
// chart's pre-delete hook). The cluster as the service finds it (KUBE_MODE, KUBECONFIG,
// POD_NAMESPACE); never the embedded simulator. Prints what it removed and what it left; exits
// 1 when something failed, 2 when it cannot start.
import pino from 'pino'
import { ConfigError, loadConfig } from './config.js'
import { createKubeClients } from './kube/client.js'
import { chooseCluster } from './kube/connect.js'
import { systemClock } from './clock.js'
import { cleanup } from './autoscaling/cleanup.js'

async function main(): Promise<number> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`streamspace-node-manager cleanup refuses to start: ${err.message}`)
      return 2
    }
    throw err
  }
  const choice = chooseCluster(config.service)
  if (choice.mode === 'simulated') {
    console.error('streamspace-node-manager cleanup refuses to start: no cluster configured (set KUBECONFIG or run in a pod); nothing to clean in the embedded simulator')
    return 2
  }
  const log = pino({ level: config.service.logLevel, base: { component: 'cleanup' } })
  const report = await cleanup({ clients: createKubeClients(choice.kc), namespace: choice.namespace, clock: systemClock, log })
  const lines = [
    `cleanup: ${report.removed.length} removed, ${report.left.length} left, ${report.failed.length} failed`,
    ...report.removed.map((l) => `removed: ${l}`),
    ...report.left.map((l) => `left: ${l}`),
    ...report.failed.map((l) => `FAILED: ${l}`),
  ]
  process.stdout.write(lines.join('\n') + '\n')
  return report.failed.length ? 1 : 0
}

// Exit at once: pooled API connections would keep the process alive for their idle timeout.
main().then((code) => process.exit(code), (err) => {
  console.error('streamspace-node-manager cleanup failed:', err)
  process.exit(1)
})
