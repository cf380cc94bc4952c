// WATCH as the API server serves it: from a resourceVersion (replaying the kept history, 410
// Expired when it is older), or from the current state (ADDED for each object); selectors with
// objects entering and leaving them; BOOKMARKs; timeoutSeconds; and slow readers dropped.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { typedJson } from './http.js'
import { apiVersionOf, idOf } from './kinds.js'
import { candidateKeys } from './lists.js'
import type { Route } from './routing.js'
import { fieldMatcher, parseFieldSelector, parseLabelSelector, type Matcher } from './selectors.js'
import { ApiError, badRequest } from './status.js'
import type { Obj, Store, StoreEvent } from './store.js'
import { toTable } from './table.js'

/** A client that lets this much of its watch pile up unread is dropped. */
const MAX_WATCH_BACKLOG_BYTES = 256 * 1024 * 1024

export class WatchHub {
  /** Open watches: how to end each (destroying its stream), and when it started. */
  private readonly open = new Map<() => void, number>()

  constructor(private readonly store: Store, private readonly bookmarkMs: number) {}

  /** Destroys every open watch (suspend, close). */
  endAll(): void {
    for (const end of [...this.open.keys()]) end()
  }

  /** Destroys the watches open for at least ms (the drop-watch fault). */
  /** Ends the watches open for at least ms; returns how many. */
  endOlderThan(ms: number): number {
    const now = Date.now()
    let n = 0
    for (const [end, started] of this.open) {
      if (now - started >= ms) {
        end()
        n++
      }
    }
    return n
  }

  serve(req: IncomingMessage, res: ServerResponse, route: Route, query: Record<string, string>, table: string | undefined): void {
    const store = this.store
    const { def, ns } = route
    const id = idOf(def)
    const labels = parseLabelSelector(query.labelSelector)
    const fieldReqs = parseFieldSelector(query.fieldSelector, def.plural)
    const nameMatch: Matcher | undefined = route.name ? (o) => o.metadata.name === route.name : undefined
    const fields = fieldMatcher(fieldReqs)
    const matches = (o: Obj | undefined) => !!o && (!labels || labels(o)) && (!fields || fields(o)) && (!nameMatch || nameMatch(o))
    const bookmarks = query.allowWatchBookmarks === 'true' || query.allowWatchBookmarks === '1'

    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' })
    res.flushHeaders()
    let live = false
    const write = (type: string, obj: Obj) => {
      const object = table ? JSON.stringify(toTable(def, [obj], { resourceVersion: obj.metadata.resourceVersion }, table)) : typedJson(def, obj)
      res.write(`{"type":"${type}","object":${object}}\n`)
      // A client that does not read its watch is dropped, as the API server drops a watcher that falls behind
      // (the initial events of a big list are exempt: they are written before the client can read).
      if (live && res.writableLength > MAX_WATCH_BACKLOG_BYTES) ender()
    }
    const writeBookmark = (extra?: Obj) => {
      res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(store.rv), ...extra } } }) + '\n')
    }
    const deliver = (ev: StoreEvent) => {
      const now = matches(ev.obj)
      if (ev.type === 'MODIFIED') {
        const before = matches(ev.prev)
        if (now && before) write('MODIFIED', ev.obj)
        else if (now) write('ADDED', ev.obj)
        else if (before) write('DELETED', ev.obj)
      } else if (now) write(ev.type, ev.obj)
    }

    const rvParam = query.resourceVersion
    if (rvParam === undefined || rvParam === '' || rvParam === '0' || query.sendInitialEvents === 'true') {
      const { keys, from, to } = candidateKeys(store, def, ns, fieldReqs)
      const objects = store.collection(id).objects
      for (let i = from; i < to; i++) {
        const obj = objects.get(keys[i])
        if (matches(obj)) write('ADDED', obj!)
      }
      if (query.sendInitialEvents === 'true') writeBookmark({ annotations: { 'k8s.io/initial-events-end': 'true' } })
    } else {
      const rv = Number(rvParam)
      if (!Number.isFinite(rv)) {
        res.end(JSON.stringify({ type: 'ERROR', object: badRequest(`invalid resource version "${rvParam}"`).toStatus() }) + '\n')
        return
      }
      const events = store.eventsSince(id, rv)
      if (!events) {
        const err = new ApiError(410, 'Expired', `too old resource version: ${rv} (${store.collection(id).compactedRv + 1})`)
        res.end(JSON.stringify({ type: 'ERROR', object: err.toStatus() }) + '\n')
        return
      }
      for (const ev of events) if (!ns || ev.obj.metadata.namespace === ns) deliver(ev)
    }

    live = true
    const watcher = { namespace: def.namespaced ? ns : undefined, onEvent: deliver }
    const collection = store.collection(id)
    collection.watchers.add(watcher)
    const timers: NodeJS.Timeout[] = []
    const end = (destroy: boolean) => {
      cleanup()
      if (destroy) res.destroy()
      else res.end()
    }
    const cleanup = () => {
      collection.watchers.delete(watcher)
      for (const t of timers) clearTimeout(t)
      this.open.delete(ender)
    }
    const ender = () => end(true)
    this.open.set(ender, Date.now())
    const timeoutSeconds = Number(query.timeoutSeconds)
    if (timeoutSeconds > 0) timers.push(setTimeout(() => end(false), timeoutSeconds * 1000))
    if (bookmarks) {
      const tick = setInterval(() => writeBookmark(), this.bookmarkMs)
      timers.push(tick as unknown as NodeJS.Timeout)
    }
    res.on('close', cleanup)
    req.on('error', cleanup)
  }
}
