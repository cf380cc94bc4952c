// The informers of the control-plane stand-ins on the real API server (kubelet.ts, scheduler.ts,
// session-controller.ts): started together and kept running, as a controller's would be.
import type { Informer, ObjectCache } from '@kubernetes/client-node'

export type Watched<T extends { metadata?: object }> = Informer<T> & ObjectCache<T>

/** The HTTP status of a failed client-node call (ApiException.code), if it has one. */
export function codeOf(err: unknown): number | undefined {
  return (err as { code?: number }).code
}

/**
 * Starts the informers and keeps them running: an informer stops on a watch error, so each is
 * started again (it relists) 300 ms later, until stopped() says so. A failed restart goes to errors.
 */
export async function startInformers(informers: Array<Watched<any>>, stopped: () => boolean, errors: unknown[]): Promise<void> {
  for (const informer of informers) {
    informer.on('error', () => {
      if (!stopped()) setTimeout(() => { if (!stopped()) informer.start().catch((e) => errors.push(e)) }, 300)
    })
  }
  await Promise.all(informers.map((i) => i.start()))
}

/** Stops them; stop() makes their watches end with an AbortError: nothing to report. */
export async function stopInformers(informers: Array<Watched<any>>): Promise<void> {
  await Promise.all(informers.map((i) => i.stop())).catch(() => {})
}
