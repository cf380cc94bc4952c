// A stand-in for StreamSpace's session controller (stream.space/v1alpha1 Session): each Session runs
// as a Deployment of the same name (1 replica, owned by the Session) whose pod carries the labels
// app=streamspace-session, session=<name>, user, template. spec.state hibernated scales it to 0 (the
// home volume would persist), running back to 1 (the scheduler places it anew), terminated deletes
// it. status.phase: Pending | Running | Hibernating | Hibernated | Terminated. Runs with the workload
// controllers (SimOptions.controllers), which turn the Deployment into a pod.
import { SESSIONS } from './admission.js'
import { controllerOf } from './scheduler.js'
import { objectKey, type Obj, type Store, type StoreEvent } from './store.js'

const DEPLOYMENTS = 'deployments.apps'
export const SESSION_TEMPLATES = ['firefox', 'vscode', 'desktop']

export function sessionLabels(name: string, user: string, template: string): Record<string, string> {
  return { app: 'streamspace-session', session: name, user, template }
}

/** The session container: the template's image, requests by template, a shared-memory emptyDir. */
export function sessionPodSpec(template: string): Obj {
  const desktop = template === 'desktop'
  return {
    containers: [{
      name: 'session',
      image: `ghcr.io/streamspace/session-${template}:1.4.2`,
      resources: { requests: { cpu: desktop ? '1' : '500m', memory: desktop ? '2Gi' : '1Gi' }, limits: { cpu: '2', memory: '4Gi' } },
      volumeMounts: [{ name: 'dshm', mountPath: '/dev/shm' }],
    }],
    volumes: [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
    terminationGracePeriodSeconds: 30,
  }
}

/** The Deployment that runs a Session. */
export function sessionDeployment(session: Obj, replicas: number, podSpec: Obj = sessionPodSpec(session.spec?.template)): Obj {
  const { name, namespace, uid } = session.metadata
  const labels = sessionLabels(name, session.spec?.user ?? '', session.spec?.template ?? '')
  return {
    metadata: {
      name,
      namespace,
      labels,
      ownerReferences: [{ apiVersion: 'stream.space/v1alpha1', kind: 'Session', name, uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'streamspace-session', session: name } },
      template: { metadata: { labels }, spec: podSpec },
    },
  }
}

export function desiredReplicas(session: Obj): number {
  return (session.spec?.state ?? 'running') === 'running' ? 1 : 0
}

/** status.phase from the state asked for and what its Deployment reports. */
export function sessionPhase(session: Obj, deployment: Obj | undefined): string {
  const state = session.spec?.state ?? 'running'
  if (state === 'terminated') return 'Terminated'
  if (state === 'hibernated') return (deployment?.status?.replicas ?? 0) === 0 ? 'Hibernated' : 'Hibernating'
  return (deployment?.status?.readyReplicas ?? 0) >= 1 ? 'Running' : 'Pending'
}

export interface SessionApi {
  createDeployment(ns: string, body: Obj): Obj
  deleteDeployment(d: Obj): void
}

export class SessionController {
  enabled = false
  private readonly queue = new Set<string>()
  private scheduled = false

  constructor(private readonly store: Store, private readonly api: SessionApi) {}

  onEvent(ev: StoreEvent): void {
    if (!this.enabled) return
    if (ev.resource === SESSIONS && ev.type !== 'DELETED') this.queue.add(objectKey(ev.obj.metadata.namespace, ev.obj.metadata.name))
    else if (ev.resource === DEPLOYMENTS && controllerOf(ev.obj)?.kind === 'Session') this.queue.add(objectKey(ev.obj.metadata.namespace, controllerOf(ev.obj)!.name))
    else return
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.flush())
  }

  private flush(): void {
    this.scheduled = false
    for (const key of [...this.queue]) {
      this.queue.delete(key)
      const session = this.store.collection(SESSIONS).objects.get(key)
      if (session) this.reconcile(session)
    }
  }

  private reconcile(session: Obj): void {
    const { name, namespace, uid } = session.metadata
    let d = this.store.get(DEPLOYMENTS, namespace, name)
    if (d && controllerOf(d)?.uid !== uid) d = undefined // someone else's Deployment: leave it alone
    const state = session.spec?.state ?? 'running'
    if (state === 'terminated') {
      if (d) this.api.deleteDeployment(d)
      d = undefined
    } else if (!d) {
      if (!this.store.get(DEPLOYMENTS, namespace, name)) d = this.api.createDeployment(namespace, sessionDeployment(session, desiredReplicas(session)))
    } else if (d.spec?.replicas !== desiredReplicas(session)) {
      d = this.store.put(DEPLOYMENTS, { ...d, metadata: { ...d.metadata, generation: (d.metadata.generation ?? 1) + 1 }, spec: { ...d.spec, replicas: desiredReplicas(session) } })
    }
    const phase = sessionPhase(session, d)
    if (session.status?.phase !== phase) this.store.put(SESSIONS, { ...session, status: { ...session.status, phase } })
  }
}
