// The HS256 secrets that verify StreamSpace JWTs, and the mounted file they come from.
// StreamSpace's chart makes a new jwt-secret on an upgrade when none is set: tokens it signed with
// the old one must keep working here for a grace (nobody is logged out by the upgrade), new ones at
// once, without a restart. JwtSecrets says which secrets are valid now (time from a Clock, so tests
// use a fake one); watchSecretFile re-reads the file when it changes.
import { readFileSync, watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { Clock } from '../clock.js'
import type { Log } from '../shared/log.js'

/** StreamSpace's own rule for JWT_SECRET. */
export const MIN_SECRET_LENGTH = 32

export interface SecretKey { id: number; secret: string }

export class JwtSecrets {
  private current: SecretKey
  private previous: (SecretKey & { until: number }) | undefined
  private nextId = 1

  constructor(initial: string, private readonly graceMs: number, private readonly clock: Pick<Clock, 'now'>) {
    this.current = { id: this.nextId++, secret: initial }
  }

  /** A new secret: the current one stays valid for the grace. The same secret again: nothing (false). */
  rotate(secret: string): boolean {
    if (secret === this.current.secret) return false
    this.previous = { ...this.current, until: this.clock.now() + this.graceMs }
    this.current = { id: this.nextId++, secret }
    return true
  }

  /** The secrets a token may be signed with now: the current one first. */
  valid(): SecretKey[] {
    return this.previous && this.clock.now() < this.previous.until ? [this.current, this.previous] : [this.current]
  }

  /** Whether the secret with this id still verifies tokens (a cached verification is kept only while it does). */
  accepts(id: number): boolean {
    return this.valid().some((k) => k.id === id)
  }
}

/** The secret in the file, or why it cannot be used. A trailing newline (`echo ... >`) is not part of it. */
export function readSecretFile(file: string): { secret: string } | { problem: string } {
  let secret: string
  try {
    secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '')
  } catch (err) {
    return { problem: `JWT_SECRET_FILE (${file}) cannot be read: ${(err as Error).message}` }
  }
  if (secret.length < MIN_SECRET_LENGTH) return { problem: `JWT_SECRET_FILE (${file}) holds ${secret.length} characters, at least ${MIN_SECRET_LENGTH} are needed` }
  return { secret }
}

export interface SecretFileWatch {
  file: string
  secrets: JwtSecrets
  clock: Clock
  /** How often the file is read again whatever fs.watch said (a missed event, a network volume). */
  pollMs: number
  log: Log
  /** Called after each look at the file (tests wait on it). */
  onCheck?(result: 'rotated' | 'unchanged' | 'refused'): void
}

/**
 * Re-reads the secret file when it may have changed: Kubernetes updates a mounted Secret by pointing
 * the `..data` symlink at a new directory, which fs.watch on the file itself never reports, so the
 * directory is watched, and the file is also read every pollMs (a few bytes: cheap). An unreadable
 * or too short secret keeps the current one, said once in the log (until the problem changes).
 * Returns the stop function.
 */
export function watchSecretFile(w: SecretFileWatch): () => void {
  let lastProblem: string | undefined
  const check = () => {
    const read = readSecretFile(w.file)
    if ('problem' in read) {
      if (read.problem !== lastProblem) w.log.warn({ file: w.file }, `${read.problem}: the current JWT secret is kept`)
      lastProblem = read.problem
      w.onCheck?.('refused')
      return
    }
    lastProblem = undefined
    const rotated = w.secrets.rotate(read.secret)
    if (rotated) w.log.info({ file: w.file }, 'JWT secret changed: new tokens verify with it; tokens signed with the previous one are accepted for the grace period')
    w.onCheck?.(rotated ? 'rotated' : 'unchanged')
  }
  let watcher: FSWatcher | undefined
  try {
    // Any change in the directory (the ..data swap is a rename there; an edit in place a change of the file).
    watcher = watch(dirname(w.file), { persistent: false }, (_event, name) => {
      if (!name || name === basename(w.file) || name.startsWith('..')) check()
    })
    watcher.on('error', (err) => w.log.warn({ err, file: w.file }, 'cannot watch the JWT secret file\'s directory: polling only'))
  } catch (err) {
    w.log.warn({ err, file: w.file }, 'cannot watch the JWT secret file\'s directory: polling only')
  }
  const abort = new AbortController()
  void (async () => {
    while (!abort.signal.aborted) {
      await w.clock.sleep(w.pollMs, abort.signal)
      if (!abort.signal.aborted) check()
    }
  })()
  return () => {
    abort.abort()
    watcher?.close()
  }
}
