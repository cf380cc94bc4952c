// List-then-watch of one resource, feeding a cache: the initial list is paginated (limit/continue),
// then a watch resumes from the list's resourceVersion. 410 Gone relists; other failures retry with
// capped backoff from the last resourceVersion; a watch that goes silent is restarted (client-node's
// Watch aborts after 30 s without data, and we ask for bookmarks so a healthy quiet watch still talks).
import { Watch, type KubeConfig } from '@kubernetes/client-node'
import { getJson } from './raw.js'
import { kubeStatusOf, toKubeError } from './errors.js'

export interface Clock {
  now(): number
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  }),
}

export interface RawObject {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string }
}

export interface ReflectorSink<T> {
  /** A full, consistent list: replaces everything the sink held. */
  replace(items: T[]): void
  upsert(item: T): void
  remove(item: T): void
}

export interface ReflectorLog {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

export interface ReflectorOptions<T> {
  kc: KubeConfig
  /** e.g. /api/v1/nodes */
  path: string
  /** Raw API object -> what the sink keeps. */
  transform: (raw: RawObject) => T
  sink: ReflectorSink<T>
  log: ReflectorLog
  pageSize?: number
  clock?: Clock
  /** Ask the server to end each watch after this long (it is then resumed from its resourceVersion). */
  watchTimeoutSeconds?: number
  maxBackoffMs?: number
  /** Called whenever synced/stale change. */
  onState?: () => void
}

interface ListPage { metadata: { resourceVersion: string; continue?: string }; items: RawObject[] }

class Gone extends Error {}

export class Reflector<T> {
  /** The first full list has been delivered. */
  synced = false
  /** The last list or watch attempt failed: what the sink holds may be out of date. */
  stale = false
  staleSince: number | undefined
  lastError: string | undefined
  resourceVersion = ''
  lists = 0
  watches = 0

  private readonly abort = new AbortController()
  private readonly watcher: Watch
  private readonly clock: Clock
  private running: Promise<void> | undefined

  constructor(private readonly opts: ReflectorOptions<T>) {
    this.watcher = new Watch(opts.kc)
    this.clock = opts.clock ?? systemClock
  }

  start(): void {
    this.running ??= this.run()
  }

  async stop(): Promise<void> {
    this.abort.abort()
    await this.running
  }

  private setStale(stale: boolean, err?: unknown): void {
    if (err !== undefined) this.lastError = err instanceof Error ? err.message : String(err)
    if (stale === this.stale) return
    this.stale = stale
    this.staleSince = stale ? this.clock.now() : undefined
    if (stale) this.opts.log.warn({ path: this.opts.path, err: this.lastError }, 'kubernetes watch cache is stale')
    else this.opts.log.info({ path: this.opts.path }, 'kubernetes watch cache is current again')
    this.opts.onState?.()
  }

  private async run(): Promise<void> {
    let backoff = 0
    let needList = true
    const signal = this.abort.signal
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.list(signal)
          needList = false
        }
        const outcome = await this.watchOnce(signal)
        if (outcome === 'gone') needList = true
        backoff = 0
      } catch (err) {
        if (signal.aborted) break
        if (err instanceof Gone || kubeStatusOf(err) === 410 || (err as { statusCode?: number }).statusCode === 410) {
          needList = true
          continue
        }
        this.setStale(true, toKubeError(err, `list and watch ${this.opts.path}`))
        backoff = Math.min(Math.max(backoff * 2, 200), this.opts.maxBackoffMs ?? 10_000)
        await this.clock.sleep(backoff * (0.75 + Math.random() * 0.5), signal)
      }
    }
  }

  private async list(signal: AbortSignal): Promise<void> {
    const items: T[] = []
    let cont: string | undefined
    let rv = ''
    do {
      const page = await getJson<ListPage>(this.opts.kc, this.opts.path, { limit: this.opts.pageSize ?? 500, continue: cont }, signal)
      for (const raw of page.items) items.push(this.opts.transform(raw))
      cont = page.metadata.continue || undefined
      rv = page.metadata.resourceVersion
    } while (cont)
    this.lists++
    this.resourceVersion = rv
    this.opts.sink.replace(items)
    const first = !this.synced
    this.synced = true
    this.setStale(false)
    if (first) this.opts.onState?.()
  }

  /** One watch connection; resolves when it ends normally, 'gone' when the resourceVersion expired. */
  private watchOnce(signal: AbortSignal): Promise<'ended' | 'gone'> {
    return new Promise((resolve, reject) => {
      let gone = false
      let settled = false
      const finish = (err: unknown) => {
        if (settled) return
        settled = true
        signal.removeEventListener('abort', onAbort)
        if (gone) resolve('gone')
        else if (err && !isTimeout(err) && !signal.aborted) reject(err)
        else resolve('ended')
      }
      let controller: AbortController | undefined
      const onAbort = () => controller?.abort()
      signal.addEventListener('abort', onAbort, { once: true })
      this.watches++
      this.watcher.watch(this.opts.path, {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300,
      }, (type, obj: RawObject & { code?: number }) => {
        if (type === 'ERROR') {
          if (obj.code === 410) gone = true
          else this.lastError = JSON.stringify(obj)
          controller?.abort()
          return
        }
        const rv = obj.metadata?.resourceVersion
        if (rv) this.resourceVersion = rv
        if (type === 'BOOKMARK') return
        if (type === 'DELETED') this.opts.sink.remove(this.opts.transform(obj))
        else this.opts.sink.upsert(this.opts.transform(obj))
      }, finish).then((c) => {
        controller = c
        if (signal.aborted) c.abort()
        // Connected: the cache follows the server again.
        if (!settled) this.setStale(false)
      }, finish)
    })
  }
}

function isTimeout(err: unknown): boolean {
  return (err as { name?: string })?.name === 'TimeoutError' || (err as { name?: string })?.name === 'AbortError'
}
