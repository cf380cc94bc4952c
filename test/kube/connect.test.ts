// KUBE_MODE: connect decides where the cluster comes from; it starts nothing (server.ts starts the
// simulator when there is no cluster).
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../src/config.js'
import { chooseCluster, kubeConfigFromString } from '../../src/kube/connect.js'

const secret = 'x'.repeat(32)
const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:6443' } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: ctx, context: { cluster: c, user: u, namespace: team-a } }]
current-context: ctx
`

t.test('auto without a pod or a kubeconfig: simulated, and nothing started', async (t) => {
  const home = t.testdir({})
  const env = { JWT_SECRET: secret, HOME: home }
  const choice = chooseCluster({ ...loadConfig(env).service, kubeconfig: undefined }, env)
  t.same(choice, { mode: 'simulated', namespace: 'streamspace' }, 'only the decision, no connection')
})

t.test('a kubeconfig file: its cluster and its context namespace; POD_NAMESPACE wins', async (t) => {
  const file = join(t.testdir({}), 'config')
  writeFileSync(file, KUBECONFIG)
  const env = { JWT_SECRET: secret, KUBECONFIG: file }
  const choice = chooseCluster(loadConfig(env).service, env)
  t.equal(choice.mode, 'kubeconfig')
  t.equal(choice.namespace, 'team-a')
  t.equal('kc' in choice && choice.kc.getCurrentCluster()?.server, 'https://127.0.0.1:6443')
  const env2 = { ...env, POD_NAMESPACE: 'ops' }
  t.equal(chooseCluster(loadConfig(env2).service, env2).namespace, 'ops')
})

t.test('a mode that cannot be had is refused, saying why', async (t) => {
  const env = { JWT_SECRET: secret, KUBE_MODE: 'in-cluster' }
  t.throws(() => chooseCluster(loadConfig(env).service, env), /KUBE_MODE=in-cluster but KUBERNETES_SERVICE_HOST\/PORT are not set/)
  const env2 = { JWT_SECRET: secret, KUBE_MODE: 'kubeconfig', KUBECONFIG: '/nonexistent/kubeconfig' }
  t.throws(() => chooseCluster(loadConfig(env2).service, env2), /\/nonexistent\/kubeconfig does not exist/)
})

t.test('kubeconfig text (the simulator writes one for itself) loads', async (t) => {
  t.equal(kubeConfigFromString(KUBECONFIG).getCurrentCluster()?.server, 'https://127.0.0.1:6443')
})
