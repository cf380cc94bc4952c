// The informers of the control-plane stand-ins on the real API server (kubelet.ts, scheduler.ts,
// session-controller.ts): started together and kept running, as a controller's would be.
import type { Informer, ObjectCache } from '@kubernetes/client-node'

export type Watched<T extends { metadata?: object }> = Informer<T> & ObjectCache<T>

/** Where a stand-in sends what went wrong: the backend fails the test with it (backend.ts). */
export type ReportError = (err: Error) => void

/** Restarts in a row that may fail before an informer gives up and reports (about 3 s at 300 ms). */
export const MAX_INFORMER_FAILURES = 10

/** The HTTP status of a failed client-node call (ApiException.code), if it has one. */
export function codeOf(err: unknown): number | undefined {
  return (err as { code?: number }).code
}

/** An Error naming the stand-in and what it was doing, with the cause's message (and HTTP status). */
export function standInError(who: string, what: string, err: unknown): Error {
  const code = codeOf(err)
  const message = err instanceof Error ? err.message : String(err)
  return new Error(`${who}: ${what} failed${code ? ` (HTTP ${code})` : ''}: ${message}`, { cause: err })
}

/**
 * Starts the informers (named, for the report) and keeps them running: an informer stops on a
 * watch or list error, so it is started again (it relists) 300 ms later. A passing error (a watch
 * cut) heals at the next start; after MAX_INFORMER_FAILURES failures in a row the informer gives
 * up and the last error is reported, instead of retrying unseen forever.
 */
export async function startInformers(who: string, informers: Record<string, Watched<any>>, stopped: () => boolean, report: ReportError): Promise<void> {
  for (const [name, informer] of Object.entries(informers)) {
    let failures = 0
    const restart = () => {
      if (stopped()) return
      const before = failures
      // start() does not reject on a failed list: it emits 'error' (and resolves).
      informer.start().then(() => { if (failures === before) failures = 0 }, (err) => report(standInError(who, `restarting the ${name} informer`, err)))
    }
    informer.on('error', (err) => {
      if (stopped()) return
      failures++
      if (failures >= MAX_INFORMER_FAILURES) report(standInError(who, `the ${name} informer, ${failures} times in a row (given up)`, err))
      else setTimeout(restart, 300)
    })
  }
  await Promise.all(Object.values(informers).map((i) => i.start()))
}

/** Stops them; stop() makes their watches end with an AbortError: nothing to report. */
export async function stopInformers(informers: Record<string, Watched<any>>): Promise<void> {
  await Promise.all(Object.values(informers).map((i) => i.stop())).catch(() => {})
}
