// One ConfigMap of the service's own in its namespace (the runtime configuration, the maintenance
// plans): read (absent: undefined), created with our labels, replaced conditionally on the
// resourceVersion that was read, or some of its keys merged in. Failures are KubeErrors naming
// what was refused; a 409 stays recognisable (isConflict) so a caller can re-read and try again.
// And watched: list-then-watch of that one name (fieldSelector metadata.name, which RBAC matches
// against resourceNames), so replicas see each other's writes at once instead of polling.
import { PatchStrategy, setHeaderOptions, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node'
import type { KubeClients } from './client.js'
import { isConflict, isNotFound, toKubeError } from './errors.js'
import { Reflector, type Clock, type RawObject } from './reflector.js'
import type { Log } from '../shared/log.js'

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)

export class OwnConfigMap {
  constructor(
    private readonly clients: KubeClients,
    readonly namespace: string,
    readonly name: string,
    /** Its app.kubernetes.io/component label, e.g. "runtime-config". */
    private readonly component: string,
  ) {}

  /** The ConfigMap as stored now, or undefined when there is none. */
  async read(): Promise<V1ConfigMap | undefined> {
    try {
      return await this.clients.core.readNamespacedConfigMap({ name: this.name, namespace: this.namespace })
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw toKubeError(err, `get configmaps/${this.name} in namespace ${this.namespace}`)
    }
  }

  /**
   * Creates it (no `current`) or replaces `current` conditionally on its resourceVersion, holding
   * `data` and `current`'s annotations with `annotations` over them; our labels are kept. A 409
   * (another writer created or changed it first) is a KubeError of kind conflict: read again.
   */
  async write(current: V1ConfigMap | undefined, data: Record<string, string>, annotations: Record<string, string> = {}): Promise<V1ConfigMap> {
    const body: V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        ...(current?.metadata ?? {}),
        name: this.name,
        namespace: this.namespace,
        labels: { ...(current?.metadata?.labels ?? {}), 'app.kubernetes.io/name': 'streamspace-node-manager', 'app.kubernetes.io/component': this.component },
        annotations: { ...(current?.metadata?.annotations ?? {}), ...annotations },
      },
      data,
    }
    try {
      if (!current) return await this.clients.core.createNamespacedConfigMap({ namespace: this.namespace, body })
      return await this.clients.core.replaceNamespacedConfigMap({ name: this.name, namespace: this.namespace, body })
    } catch (err) {
      throw toKubeError(err, `${current ? 'update' : 'create'} configmaps${current ? '/' + this.name : ''} in namespace ${this.namespace}`)
    }
  }

  /**
   * Sets these keys with a JSON merge patch (other keys untouched, no precondition: last write
   * wins per key), creating the ConfigMap when there is none yet.
   */
  async mergeData(data: Record<string, string>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.clients.core.patchNamespacedConfigMap({ name: this.name, namespace: this.namespace, body: { data } }, mergePatch)
        return
      } catch (err) {
        if (!isNotFound(err)) throw toKubeError(err, `patch configmaps/${this.name} in namespace ${this.namespace}`)
      }
      try {
        await this.write(undefined, data)
        return
      } catch (err) {
        // Another replica created it first: patch it.
        if (!isConflict(err) || attempt > 2) throw err
      }
    }
  }
}

export interface ConfigMapObject extends RawObject { data?: Record<string, string> }

export interface ConfigMapWatchOptions {
  kc: KubeConfig
  namespace: string
  name: string
  log: Log
  clock?: Clock
}

/** A Reflector over the one ConfigMap `name`: `seen` gets each version of it, null when there is none. */
export function configMapReflector(opts: ConfigMapWatchOptions, seen: (cm: ConfigMapObject | null) => void): Reflector<ConfigMapObject | null> {
  return new Reflector<ConfigMapObject | null>({
    kc: opts.kc,
    path: `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/configmaps`,
    query: { fieldSelector: `metadata.name=${opts.name}` },
    log: opts.log,
    clock: opts.clock,
    transform: (raw) => raw as ConfigMapObject,
    sink: {
      replace: (items) => seen(items.find((i) => i?.metadata?.name === opts.name) ?? null),
      upsert: (cm) => seen(cm),
      remove: () => seen(null),
    },
  })
}

/**
 * Tells listeners whenever the ConfigMap changes (and once its first list is in). The watch runs
 * only while someone listens: started by the first subscriber, stopped after the last one leaves.
 */
export class ConfigMapWatch {
  private readonly listeners = new Set<() => void>()
  private reflector?: Reflector<ConfigMapObject | null>
  private stopping: Promise<void> = Promise.resolve()
  private closed = false

  constructor(private readonly opts: ConfigMapWatchOptions) {}

  get watching(): boolean { return this.reflector !== undefined }

  subscribe(listener: () => void): () => void {
    if (this.closed) return () => {}
    this.listeners.add(listener)
    if (!this.reflector) {
      const reflector = configMapReflector(this.opts, () => { for (const l of [...this.listeners]) l() })
      this.reflector = reflector
      // A new watch starts after the last one has stopped (one watch at a time).
      void this.stopping.then(() => { if (this.reflector === reflector) reflector.start() })
    }
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size) return
      const reflector = this.reflector
      this.reflector = undefined
      if (reflector) this.stopping = this.stopping.then(() => reflector.stop())
    }
  }

  /** Stops the watch (service shutdown); waits until it has. */
  async close(): Promise<void> {
    this.closed = true
    this.listeners.clear()
    const reflector = this.reflector
    this.reflector = undefined
    if (reflector) this.stopping = this.stopping.then(() => reflector.stop())
    await this.stopping
  }
}
