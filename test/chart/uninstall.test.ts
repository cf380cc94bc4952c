// `helm uninstall` on the real API server leaves nothing the service wrote: the chart is installed,
// the service (a process on the chart's ServiceAccount token, AUTOSCALING_PROVIDER=cluster-api)
// protects a node running a session and annotates a MachineDeployment, makes the overprovisioning
// PriorityClass and Deployment, and keeps a maintenance plan (a NodeMaintenance); then helm uninstall creates the pre-delete
// hook Job and waits for it. No kubelet runs pods here, so the test runs the Job's command
// (`node dist/cleanup.js` is src/cleanup.ts, compiled) as a process with the Job's service account
// identity and env, then marks the Job complete through its status subresource, and helm goes on.
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { backendNames, startBackend } from '../helpers/backend.js'
import { createMachineDeployment, createNode, createPod, ensureNamespace, kubeRequest } from '../helpers/fixtures.js'
import { startProcess, apiAt } from '../helpers/process.js'
import { waitFor } from '../helpers/service.js'
import { CA_SCALE_DOWN_DISABLED, KARPENTER_DO_NOT_DISRUPT, PROTECTED_BY } from '../../src/autoscaling/protection.js'
import { CA_MAX_SIZE, CA_MIN_SIZE, CA_SCALE_DOWN_THRESHOLD, RECORD, WRITTEN } from '../../src/autoscaling/cluster-api.js'
import { OVERPROVISIONING_NAME as OP } from '../../src/kube/permissions.js'
import { CHART, NAMESPACE, RELEASE, helm, helmBin } from './helm.js'

const OURS_ON_NODES = [CA_SCALE_DOWN_DISABLED, KARPENTER_DO_NOT_DISRUPT, PROTECTED_BY, 'streamspace.io/cordoned-by', 'streamspace.io/cordon-reason', 'streamspace.io/cordoned-at']
const OURS_ON_MDS = [CA_MIN_SIZE, CA_MAX_SIZE, CA_SCALE_DOWN_THRESHOLD, RECORD, WRITTEN]
const JOB = `${RELEASE}-cleanup`

/** A process's exit and output. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; out: string }> {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { out += d })
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, out })))
}

if (!backendNames().includes('apiserver')) {
  t.comment('TEST_BACKENDS leaves out the real API server: helm uninstall is proven only there')
} else {
  t.test('helm uninstall: the pre-delete Job removes every annotation, the PriorityClass and the Deployment the service made', async (t) => {
    const b = await startBackend('apiserver', { podTerminateSeconds: 1 })
    t.teardown(() => b.close())
    const kubeconfig = ['--kubeconfig', b.kubeconfigPath]
    const install = helm(['install', RELEASE, CHART, '--namespace', NAMESPACE, '--create-namespace', '--set', 'jwt.existingSecret=streamspace-secrets', '--set', 'autoscaling.provider=cluster-api', ...kubeconfig, '--timeout', '2m'], { timeoutMs: 180_000 })
    t.equal(install.status, 0, `helm install: ${install.stderr}`)

    // The chart's ServiceAccount, as the Deployment's and the Job's pods would run.
    const tokenOf = async () => {
      const tr = await kubeRequest(b.kc, 'POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${RELEASE}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 3600 } })
      return b.tokenKubeconfig!(tr.body.status.token)
    }
    const saKubeconfig = await tokenOf()

    await createNode(b.clients, { name: 'w1', cpu: '4', memory: '8Gi' })
    await createNode(b.clients, { name: 'w2', cpu: '4', memory: '8Gi' })
    await ensureNamespace(b.clients, 'capi')
    await createMachineDeployment(b.clients, { name: 'md-1', namespace: 'capi', labels: { 'streamspace.io/autoscaling': 'enabled' }, annotations: { [CA_MAX_SIZE]: '7' } })
    await createPod(b.clients, { name: 'sess-1', namespace: NAMESPACE, node: 'w1', labels: { app: 'streamspace-session', session: 'sess-1', user: 'ann', template: 'firefox' } })

    const svc = await startProcess(t, b, 'replica-a', {
      KUBECONFIG: saKubeconfig, AUTOSCALING_PROVIDER: 'cluster-api', ENABLE_AUTO_SCALING: 'true', SESSION_PROTECTION_DEBOUNCE_SECONDS: '0.2',
    })
    const node = async (name: string) => (await b.clients.core.readNode({ name })).metadata?.annotations ?? {}
    const md = async () => (await kubeRequest(b.kc, 'GET', '/apis/cluster.x-k8s.io/v1beta1/namespaces/capi/machinedeployments/md-1')).body.metadata.annotations ?? {}
    const exists = async (path: string) => (await kubeRequest(b.kc, 'GET', path)).status === 200
    const pcPath = `/apis/scheduling.k8s.io/v1/priorityclasses/${OP}`
    const depPath = `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${OP}`
    await waitFor(async () => (await node('w1'))[CA_SCALE_DOWN_DISABLED] === 'true', 60_000, 'w1 protected (it runs a session)')
    await waitFor(async () => RECORD in await md(), 60_000, 'md-1 annotated')
    await waitFor(async () => await exists(pcPath) && await exists(depPath), 60_000, 'overprovisioning PriorityClass and Deployment')
    // A plan for tomorrow: a NodeMaintenance record of the service's.
    const plan = await apiAt(svc.url, '/maintenance', { method: 'POST', json: { nodes: ['w2'], reason: 'kernel', session_policy: 'wait', start_at: new Date(Date.now() + 86_400_000).toISOString() } })
    t.equal(plan.status, 201)
    const id = (await plan.json() as { id: string }).id
    t.match(await md(), { [CA_MAX_SIZE]: '10' }, 'md-1: max-size ours while the service runs')

    // helm uninstall waits for the hook Job: run it in the background.
    const home = mkdtempSync(join(tmpdir(), 'helm-home-'))
    const uninstall = run(helmBin(), ['uninstall', RELEASE, '--namespace', NAMESPACE, ...kubeconfig, '--timeout', '3m'], { PATH: process.env.PATH, HOME: home, HELM_CACHE_HOME: join(home, 'c'), HELM_CONFIG_HOME: join(home, 'f'), HELM_DATA_HOME: join(home, 'd') })
    let job: any
    await waitFor(async () => {
      const res = await kubeRequest(b.kc, 'GET', `/apis/batch/v1/namespaces/${NAMESPACE}/jobs/${JOB}`)
      job = res.body
      return res.status === 200
    }, 60_000, 'helm to create the pre-delete Job')
    t.equal(job.metadata.annotations['helm.sh/hook'], 'pre-delete')
    t.match(job.metadata.annotations['helm.sh/hook-delete-policy'], /hook-succeeded/)
    const pod = job.spec.template.spec
    t.equal(pod.serviceAccountName, RELEASE, 'the release\'s service account')
    const container = pod.containers[0]
    t.same(container.args, ['dist/cleanup.js'], 'the image runs node dist/cleanup.js')
    t.equal(container.image.split(':')[0], 'ghcr.io/streamspace-dev/streamspace-node-manager', 'the service\'s own image')
    t.equal(await exists(`/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${RELEASE}`), true, 'pre-delete: the release is still there')

    // The Job's command, with its env (fieldRefs resolved as the kubelet would) and its service account's token.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH }
    for (const e of container.env) env[e.name] = e.value ?? (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace' ? NAMESPACE : undefined)
    t.equal(env.KUBE_MODE, 'in-cluster')
    const cleanup = await run(process.execPath, ['--import', 'tsx', 'src/cleanup.ts'], { ...env, KUBE_MODE: 'kubeconfig', KUBECONFIG: await tokenOf() })
    t.equal(cleanup.status, 0, cleanup.out)
    t.match(cleanup.out, /cleanup: \d+ removed, 0 left, 0 failed/)
    t.match(cleanup.out, /removed: priorityclasses\//)
    t.match(cleanup.out, new RegExp(`removed: nodemaintenances/${id}`))

    // What the Job controller would write once its pod succeeded.
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    const cond = (type: string) => ({ type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason: type === 'Complete' ? 'Completed' : 'CompletionsReached', message: '' })
    const done = await kubeRequest(b.kc, 'PATCH', `/apis/batch/v1/namespaces/${NAMESPACE}/jobs/${JOB}/status`, { status: { startTime: now, completionTime: now, succeeded: 1, conditions: [cond('SuccessCriteriaMet'), cond('Complete')] } }, 'application/merge-patch+json')
    t.equal(done.status, 200, JSON.stringify(done.body).slice(0, 400))
    const result = await uninstall
    t.equal(result.status, 0, `helm uninstall: ${result.out}`)
    t.match(result.out, /uninstalled/)
    // The Deployment's pods stop: here, the service process.
    svc.child.kill('SIGTERM')
    await svc.exited

    t.equal(await exists(`/apis/batch/v1/namespaces/${NAMESPACE}/jobs/${JOB}`), false, 'the succeeded Job is deleted (hook-succeeded)')
    for (const name of ['w1', 'w2']) {
      const annotations = await node(name)
      t.same(OURS_ON_NODES.filter((k) => k in annotations), [], `node ${name}: no annotation of ours`)
    }
    const mdLeft = await md()
    t.same(OURS_ON_MDS.filter((k) => k !== CA_MAX_SIZE && k in mdLeft), [], 'md-1: no annotation of ours')
    t.equal(mdLeft[CA_MAX_SIZE], '7', 'md-1: its own max-size from before us is back')
    t.equal(await exists(pcPath), false, 'no PriorityClass')
    t.equal(await exists(depPath), false, 'no overprovisioning Deployment')
    t.equal(await exists(`/apis/nodes.stream.space/v1alpha1/nodemaintenances/${id}`), false, 'no NodeMaintenance record')
  })
}
