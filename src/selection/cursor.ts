// round-robin's cursor, shared by every replica: the last node handed out, kept in a ConfigMap of
// the service's own (in its namespace) and moved by a replace conditional on the resourceVersion
// just read, so two replicas never hand out the same step: the one that loses the race reads the
// new cursor and steps from there. A ConfigMap of its own, not the runtime configuration's nor the
// leader Lease: a write per selection there would wake every replica's configuration watch, or make
// the leader's renewal conflict.
import type { KubeClients } from '../kube/client.js'
import { OwnConfigMap } from '../kube/configmap.js'
import { isConflict } from '../kube/errors.js'
// The ConfigMap that holds the cursor, in POD_NAMESPACE: named with its permissions.
import { SELECTION_CONFIGMAP_NAME } from '../kube/permissions.js'

export { SELECTION_CONFIGMAP_NAME }
const KEY = 'round-robin-last'

export interface RoundRobinCursor {
  /**
   * Moves the cursor atomically: `step` gets the node handed out last (undefined at first) and
   * returns the next one, which is stored and returned. `step` may be called again after a conflict.
   */
  advance(step: (last: string | undefined) => string): Promise<string>
}

export class ConfigMapCursor implements RoundRobinCursor {
  private readonly cm: OwnConfigMap
  /** One advance at a time in this process: our own requests never conflict with each other. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(clients: KubeClients, namespace: string, private readonly maxAttempts = 20) {
    this.cm = new OwnConfigMap(clients, namespace, SELECTION_CONFIGMAP_NAME, 'node-selection')
  }

  advance(step: (last: string | undefined) => string): Promise<string> {
    const run = this.queue.then(() => this.tryAdvance(step))
    this.queue = run.catch(() => {})
    return run
  }

  private async tryAdvance(step: (last: string | undefined) => string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.cm.read()
      const next = step(current?.data?.[KEY])
      try {
        await this.cm.write(current, { ...(current?.data ?? {}), [KEY]: next })
        return next
      } catch (err) {
        // Another replica moved it (or created it) first: step from where it is now.
        if (!isConflict(err) || attempt >= this.maxAttempts) throw err
      }
    }
  }
}

/** This process's own cursor: for tests and the fallback when the shared one cannot be used. */
export class LocalCursor implements RoundRobinCursor {
  private last: string | undefined
  async advance(step: (last: string | undefined) => string): Promise<string> {
    this.last = step(this.last)
    return this.last
  }
}
