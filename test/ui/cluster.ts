// What each browser test starts: the admin UI built, a simulated cluster, the service on it and
// Chromium, all stopped when the test ends.
import type { Test } from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim, type SimOptions } from '../../src/sim/index.js'
import { startService } from '../helpers/service.js'
import { buildUi, launch } from './browser.js'

export async function startUiCluster(t: Test, options: SimOptions = {}, env: NodeJS.ProcessEnv = {}) {
  buildUi()
  const sim = await startSim(options)
  const kc = new KubeConfig()
  kc.loadFromString(sim.kubeconfig())
  const svc = await startService(kc, { env })
  const browser = await launch()
  t.teardown(async () => {
    await browser.close()
    await svc.close()
    await sim.close()
  })
  return { sim, kc, svc, browser }
}
