// Waits for pods to be gone by watching the pods on the node (one watch for the whole drain,
// not a GET per pod per second as kubectl does). A pod counts as gone when it is deleted or a
// pod of the same name with another UID shows up. When the watch ends (server timeout, 410 Gone,
// network), the pods are listed again and the watch resumes from that list.
import type { KubeClients } from '../kube/client.js'
import { listPodsOnNode, podKey, watchPodsOnNode, type WatchedPod } from '../kube/pods.js'
import type { Clock } from './types.js'

interface Target { uid: string; gone: boolean; promise: Promise<void>; resolve: () => void }

export class PodGoneTracker {
  private targets = new Map<string, Target>()
  private stopWatch?: () => void
  private stopped = false
  private generation = 0

  constructor(
    private clients: KubeClients,
    private node: string,
    private clock: Clock,
    pods: Array<{ key: string; uid: string }>,
    private onError: (err: unknown) => void = () => {},
  ) {
    for (const p of pods) {
      let resolve!: () => void
      const promise = new Promise<void>((r) => (resolve = r))
      this.targets.set(p.key, { uid: p.uid, gone: false, promise, resolve })
    }
  }

  /** Starts watching from the resourceVersion of the list the targets came from. */
  async start(resourceVersion: string): Promise<void> {
    await this.watchFrom(resourceVersion)
  }

  isGone(key: string): boolean {
    return this.targets.get(key)?.gone ?? true
  }

  /** Resolves true once the pod is gone, false if signal aborts first. */
  waitGone(key: string, signal: AbortSignal): Promise<boolean> {
    const t = this.targets.get(key)
    if (!t || t.gone) return Promise.resolve(true)
    if (signal.aborted) return Promise.resolve(false)
    return new Promise<boolean>((resolve) => {
      const onAbort = () => resolve(false)
      signal.addEventListener('abort', onAbort, { once: true })
      // t.promise never rejects: it is resolved when the watch sees the pod go.
      void t.promise.then(() => { signal.removeEventListener('abort', onAbort); resolve(true) })
    })
  }

  stop(): void {
    this.stopped = true
    this.stopWatch?.()
  }

  private markGone(key: string) {
    const t = this.targets.get(key)
    if (t && !t.gone) { t.gone = true; t.resolve() }
  }

  private onEvent = (type: string, pod: WatchedPod) => {
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return
    const key = podKey(pod)
    const t = this.targets.get(key)
    if (!t || t.gone) return
    const uid = pod.metadata?.uid
    if (type === 'DELETED' ? uid === t.uid || !uid : uid !== t.uid) this.markGone(key)
  }

  private async watchFrom(resourceVersion: string): Promise<void> {
    if (this.stopped) return
    const gen = ++this.generation
    const stop = await watchPodsOnNode(this.clients, this.node, resourceVersion, this.onEvent, (err) => {
      if (this.stopped || gen !== this.generation) return
      if (err) this.onError(err)
      void this.resync()
    })
    if (gen === this.generation) this.stopWatch = stop
    if (this.stopped) stop()
  }

  /** After the watch ended: list again, settle the pods that went meanwhile, watch on. */
  private async resync(): Promise<void> {
    while (!this.stopped) {
      try {
        const { pods, resourceVersion } = await listPodsOnNode(this.clients, this.node)
        const present = new Map(pods.map((p) => [podKey(p), p.metadata?.uid]))
        for (const [key, t] of this.targets) if (present.get(key) !== t.uid) this.markGone(key)
        await this.watchFrom(resourceVersion)
        return
      } catch (err) {
        this.onError(err)
        await this.clock.sleep(1000)
      }
    }
  }
}
