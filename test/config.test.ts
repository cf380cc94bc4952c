import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config.js'

const secret = 'x'.repeat(32)

t.test('defaults follow the seed', async (t) => {
  const c = loadConfig({ JWT_SECRET: secret })
  t.same(c.options, {
    enableAutoScaling: false, scaleUpThreshold: 80, scaleDownThreshold: 20, nodeSelectionStrategy: 'least-sessions',
    healthCheckInterval: 60, metricsEnabled: true, alertOnNodeFailure: true, minNodes: 1, maxNodes: 10,
  })
  t.equal(c.service.port, 8080)
  t.equal(c.service.host, '0.0.0.0')
  t.equal(c.service.kubeMode, 'auto')
  t.equal(c.service.jwtIssuer, 'streamspace-api')
  t.equal(c.service.sessionLabelSelector, 'app=streamspace-session')
})

t.test('file then environment', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nm-config-'))
  const file = join(dir, 'config.json')
  writeFileSync(file, JSON.stringify({ nodeSelectionStrategy: 'random', maxNodes: 50, minNodes: 3 }))
  const c = loadConfig({ NODE_MANAGER_CONFIG: file, MAX_NODES: '20', ENABLE_AUTO_SCALING: 'true', PORT: '9090' })
  t.equal(c.options.nodeSelectionStrategy, 'random')
  t.equal(c.options.maxNodes, 20)
  t.equal(c.options.minNodes, 3)
  t.equal(c.options.enableAutoScaling, true)
  t.equal(c.service.port, 9090)
})

function refusal(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  return 'accepted'
}

t.test('refuses out-of-range and unknown settings, naming them', async (t) => {
  t.match(refusal({ SCALE_UP_THRESHOLD: '99' }), /scaleUpThreshold must be a number from 50 to 95 \(got 99\)/)
  t.match(refusal({ SCALE_DOWN_THRESHOLD: '2' }), /scaleDownThreshold must be a number from 5 to 50/)
  t.match(refusal({ HEALTH_CHECK_INTERVAL: '10' }), /healthCheckInterval must be an integer from 30 to 600/)
  t.match(refusal({ MIN_NODES: '0' }), /minNodes must be an integer from 1 to 100/)
  t.match(refusal({ MAX_NODES: '1001' }), /maxNodes must be an integer from 1 to 1000/)
  t.match(refusal({ MIN_NODES: '8', MAX_NODES: '4' }), /minNodes \(8\) must be <= maxNodes \(4\)/)
  t.match(refusal({ NODE_SELECTION_STRATEGY: 'fastest' }), /nodeSelectionStrategy must be one of "least-sessions", "most-resources", "random", "round-robin"/)
  t.match(refusal({ METRICS_ENABLED: 'yes' }), /metricsEnabled must be a boolean/)
  t.match(refusal({ PORT: 'eighty' }), /PORT must be an integer from 0 to 65535/)
  t.match(refusal({ KUBE_MODE: 'cloud' }), /KUBE_MODE must be one of "auto", "in-cluster", "kubeconfig", "simulated"/)
  t.match(refusal({ JWT_SECRET: 'short' }), /JWT_SECRET must be a string of at least 32 characters/)
  const dir = mkdtempSync(join(tmpdir(), 'nm-config-'))
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ maxNode: 3 }))
  t.match(refusal({ NODE_MANAGER_CONFIG: join(dir, 'bad.json') }), /maxNode is not a known setting/)
  writeFileSync(join(dir, 'broken.json'), '{')
  t.match(refusal({ NODE_MANAGER_CONFIG: join(dir, 'broken.json') }), /NODE_MANAGER_CONFIG .* cannot be read/)
})
