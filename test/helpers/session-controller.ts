// Plays StreamSpace's session controller on the real API server, as the simulator's stand-in
// (src/sim/sessions.ts) does inside the simulator, with the same rules (imported from there): each
// stream.space/v1alpha1 Session runs as a Deployment of the same name (1 replica, owned by the
// Session) whose pod carries app=streamspace-session, session, user, template; spec.state
// hibernated scales it to 0, running back to 1, terminated deletes it; status.phase follows.
// kube-controller-manager's deployment and replicaset controllers, the scheduler stand-in and the
// kubelet stand-in turn the Deployment into a running pod (startBackend's workloadControllers).
import {
  AppsV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, makeInformer, setHeaderOptions,
  type KubernetesListObject, type KubernetesObject, type V1Deployment,
} from '@kubernetes/client-node'
import { desiredReplicas, sessionDeployment, sessionPhase } from '../../src/sim/sessions.js'
import { codeOf, standInError, startInformers, stopInformers, type ReportError, type Watched } from './informers.js'
type Session = KubernetesObject & { spec?: { user?: string; template?: string; state?: string }; status?: { phase?: string } }

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
const GROUP = 'stream.space'
const VERSION = 'v1alpha1'
const PLURAL = 'sessions'

export class SessionController {
  private readonly apps: AppsV1Api
  private readonly custom: CustomObjectsApi
  private readonly sessions: Watched<Session>
  private readonly deployments: Watched<V1Deployment>
  /** Sessions being reconciled, and those to do again when that ends. */
  private readonly running = new Set<string>()
  private readonly again = new Set<string>()
  private stopped = false

  /** report: where failed reconciles go (the backend fails the test with them); default: thrown. */
  constructor(kc: KubeConfig, private readonly report: ReportError = (err) => { throw err }) {
    this.apps = kc.makeApiClient(AppsV1Api)
    this.custom = kc.makeApiClient(CustomObjectsApi)
    this.sessions = makeInformer(kc, `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      () => this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }) as Promise<KubernetesListObject<Session>>)
    this.deployments = makeInformer(kc, '/apis/apps/v1/deployments', () => this.apps.listDeploymentForAllNamespaces())
  }

  async start(): Promise<void> {
    const onSession = (s: Session) => this.enqueue(s.metadata!.namespace!, s.metadata!.name!)
    this.sessions.on('add', onSession)
    this.sessions.on('update', onSession)
    const onDeployment = (d: V1Deployment) => {
      const owner = d.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'Session')
      if (owner) this.enqueue(d.metadata!.namespace!, owner.name)
    }
    this.deployments.on('add', onDeployment)
    this.deployments.on('update', onDeployment)
    this.deployments.on('delete', onDeployment)
    await startInformers('session controller stand-in', { sessions: this.sessions, deployments: this.deployments }, () => this.stopped, this.report)
  }

  async stop(): Promise<void> {
    this.stopped = true
    await stopInformers({ sessions: this.sessions, deployments: this.deployments })
  }

  private enqueue(namespace: string, name: string): void {
    const key = `${namespace}/${name}`
    if (this.stopped) return
    if (this.running.has(key)) {
      this.again.add(key)
      return
    }
    this.running.add(key)
    this.reconcile(namespace, name).catch((err) => { if (!this.stopped) this.report(standInError('session controller stand-in', `reconciling Session ${key}`, err)) }).finally(() => {
      this.running.delete(key)
      if (this.again.delete(key)) this.enqueue(namespace, name)
    })
  }

  private async reconcile(namespace: string, name: string): Promise<void> {
    let session: Session
    try {
      session = await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name }) as Session
    } catch (err) {
      if (codeOf(err) === 404) return // deleted: the garbage collector removes its Deployment
      throw err
    }
    const plain = JSON.parse(JSON.stringify(session))
    let d: V1Deployment | undefined
    try {
      d = await this.apps.readNamespacedDeployment({ name, namespace })
      if (!d.metadata?.ownerReferences?.some((r) => r.controller && r.uid === session.metadata!.uid)) d = undefined // someone else's
    } catch (err) {
      if (codeOf(err) !== 404) throw err
    }
    const state = session.spec?.state ?? 'running'
    const replicas = desiredReplicas(plain)
    if (state === 'terminated') {
      if (d) await this.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: 'Background' }).catch((err) => { if (codeOf(err) !== 404) throw err })
      d = undefined
    } else if (!d) {
      d = await this.apps.createNamespacedDeployment({ namespace, body: sessionDeployment(plain, replicas) }).catch((err) => {
        if (codeOf(err) === 409) return undefined // made meanwhile: its event brings us back
        throw err
      })
    } else if (d.spec?.replicas !== replicas) {
      d = await this.apps.patchNamespacedDeployment({ name, namespace, body: { spec: { replicas } } }, merge)
    }
    const phase = sessionPhase(plain, d ? JSON.parse(JSON.stringify(d)) : undefined)
    if (session.status?.phase !== phase) {
      await this.custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { status: { phase } } }, merge)
        .catch((err) => { if (codeOf(err) !== 404) throw err })
    }
  }
}
