// The RBAC the chart renders follows autoscaling.provider, on the real API server: `helm install`
// with the defaults, then `kubectl auth can-i --as=<the chart's ServiceAccount>` says no to what
// only cluster-api autoscaling needs (Deployments create, PriorityClasses create, MachineDeployments
// patch) and to Events outside the namespaces used; `helm upgrade --set autoscaling.provider=cluster-api`
// turns each into yes.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { backendNames, startBackend } from '../helpers/backend.js'
import { CHART, NAMESPACE, RELEASE, helm } from './helm.js'

const SA = `system:serviceaccount:${NAMESPACE}:${RELEASE}`

if (!backendNames().includes('apiserver')) {
  t.comment('TEST_BACKENDS leaves out the real API server: the installed RBAC is proven only there')
} else {
  t.test('kubectl auth can-i as the chart\'s ServiceAccount, by autoscaling.provider', async (t) => {
    const b = await startBackend('apiserver', { podTerminateSeconds: 1 })
    t.teardown(() => b.close())
    const kubeconfig = ['--kubeconfig', b.kubeconfigPath]
    /** kubectl's answer (yes/no) for the chart's ServiceAccount; exits 0 for yes, 1 for no. */
    const canI = (...args: string[]): string => {
      const run = spawnSync('kubectl', ['auth', 'can-i', ...args, `--as=${SA}`, ...kubeconfig], { encoding: 'utf8', timeout: 30_000 })
      if (run.status !== 0 && run.status !== 1) throw new Error(`kubectl auth can-i ${args.join(' ')}: ${run.status} ${run.stderr}`)
      return run.stdout.trim()
    }
    const onlyClusterApi: [string, string[]][] = [
      ['create deployments in the release namespace', ['create', 'deployments.apps', '-n', NAMESPACE]],
      ['create priorityclasses', ['create', 'priorityclasses.scheduling.k8s.io']],
      ['patch machinedeployments', ['patch', 'machinedeployments.cluster.x-k8s.io', '-n', 'capi']],
    ]
    const install = (t: Test, verb: 'install' | 'upgrade', ...args: string[]): string => {
      const res = helm([verb, RELEASE, CHART, '--namespace', NAMESPACE, '--create-namespace', '--set', 'jwt.existingSecret=streamspace-secrets', ...args, ...kubeconfig, '--timeout', '2m'], { timeoutMs: 180_000 })
      t.equal(res.status, 0, `helm ${verb} ${args.join(' ')}${res.status === 0 ? '' : `: ${res.stdout}${res.stderr}`}`)
      return res.stdout
    }
    /** kubectl reads RBAC through the API server's authorizer, which follows its own watch. */
    const settle = async (args: string[], want: string) => {
      const deadline = Date.now() + 15_000
      while (canI(...args) !== want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    }

    await t.test('defaults (autoscaling.provider none)', async (t) => {
      // With the deprecated ingress.host: the NOTES say so, and where the service is reached.
      const notes = install(t, 'install', '--set', 'ingress.enabled=true', '--set', 'ingress.host=old.example.com')
      t.match(notes, /Deprecated values in use[^]*ingress.host: use ingress.hosts: \[\{host: old.example.com\}\]/, 'NOTES name the deprecated value and its replacement')
      t.match(notes, /http:\/\/old.example.com\/api\/plugins\/streamspace-node-manager\/nodes/, 'NOTES give the URL on the old host')
      await settle(['list', 'nodes'], 'yes')
      t.equal(canI('list', 'nodes'), 'yes', 'list nodes: yes (the bindings are in force)')
      for (const [what, args] of onlyClusterApi) t.equal(canI(...args), 'no', `${what}: no`)
      t.equal(canI('create', 'events', '-n', 'default'), 'yes', 'create events in default (Events about Nodes): yes')
      t.equal(canI('list', 'events', '-n', 'default'), 'yes', 'list events in default (drain history): yes')
      t.equal(canI('create', 'events', '-n', NAMESPACE), 'yes', `create events in ${NAMESPACE} (runtime configuration): yes`)
      t.equal(canI('create', 'events', '-n', 'kube-system'), 'no', 'create events in any other namespace: no')
      t.equal(canI('list', 'events', '-n', NAMESPACE), 'no', `list events in ${NAMESPACE}: no`)
    })

    await t.test('autoscaling.provider=cluster-api', async (t) => {
      install(t, 'upgrade', '--set', 'autoscaling.provider=cluster-api')
      await settle(onlyClusterApi[0][1], 'yes')
      for (const [what, args] of onlyClusterApi) t.equal(canI(...args), 'yes', `${what}: yes`)
      t.equal(canI('create', 'deployments.apps', '-n', 'default'), 'no', 'create deployments in another namespace: still no')
      t.equal(canI('create', 'events', '-n', 'kube-system'), 'no', 'Events still not cluster-wide')
    })

    await t.test('back to none: withdrawn', async (t) => {
      install(t, 'upgrade', '--set', 'autoscaling.provider=none')
      await settle(onlyClusterApi[0][1], 'no')
      for (const [what, args] of onlyClusterApi) t.equal(canI(...args), 'no', `${what}: no`)
    })
  })
}
