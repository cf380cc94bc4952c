// The HTTP side of the sim: a node:http server that routes each request to discovery, metrics,
// a watch, or a verb on the cluster; records what was asked; injects faults; and can be suspended.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Cluster } from './cluster.js'
import { RateGate, noFaultCounts, type FaultCounts, type FaultSpec } from './faults.js'
import { readBody, sendError, sendJson, sendList, sendText, typedJson, withType } from './http.js'
import { apiVersionOf, discoveryDoc, idOf } from './kinds.js'
import { list } from './lists.js'
import { metricsGet } from './metrics.js'
import { openApiV2, openApiV3Text } from './openapi.js'
import { parseRoute } from './routing.js'
import { ApiError, badRequest, conflict, methodNotAllowed } from './status.js'
import { jsonOf } from './store.js'
import { toTable } from './table.js'
import { WatchHub } from './watch.js'

export interface SimRequest {
  method: string
  path: string
  query: Record<string, string>
  watch: boolean
  /** get|list|watch|create|update|patch|delete|deletecollection ("get" for discovery). */
  verb: string
  /** e.g. "nodes", "pods", "pods/eviction", "nodes/status"; "" for discovery and other paths. */
  resource: string
}

/**
 * One line of the audit log: a write (create, update, patch, delete: evictions, pod deletions,
 * node patches...) or any request answered 5xx, with when, who and the answer's status.
 */
export interface AuditEntry {
  /** When the answer was sent (ms since the epoch). */
  at: number
  /** When the request arrived. */
  start: number
  method: string
  verb: string
  resource: string
  namespace?: string
  name?: string
  /** The Host header: which address the client dialed (a proxy per client tells clients apart). */
  host: string
  userAgent: string
  /** 0 when the client left before an answer. */
  status: number
  /** For a request on a pod: the pod as it was when the request arrived. */
  pod?: { uid: string; node: string | null; labels: Record<string, string>; terminating: boolean }
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection'])

export interface ServerOptions {
  host: string
  port: number
  metrics: boolean
  bookmarkMs: number
  /** Read on every request: changes apply at once. */
  faults: FaultSpec
  /** Called for every write and every 5xx answer once it is answered (the --audit-log). */
  audit?: (entry: AuditEntry) => void
}

const MAX_RECORDED_REQUESTS = 20_000
const NOT_FOUND = 'the server could not find the requested resource'

export class ApiHttpServer {
  readonly entries: SimRequest[] = []
  url = ''
  port = 0
  private readonly server = createServer((req, res) => this.onRequest(req, res))
  private readonly sockets = new Set<Socket>()
  private readonly watches: WatchHub
  private readonly errorGate = new RateGate()
  private readonly conflictGate = new RateGate()
  /** Faults injected so far. */
  readonly injected: FaultCounts = noFaultCounts()
  private readonly dropTimer: NodeJS.Timeout
  private suspended = false
  /** TCP connections accepted so far (a client that reuses its connections opens few). */
  connectionsAccepted = 0

  constructor(private readonly cluster: Cluster, private readonly opts: ServerOptions) {
    this.watches = new WatchHub(cluster.store, opts.bookmarkMs)
    this.server.keepAliveTimeout = 60_000
    this.server.on('connection', (socket: Socket) => {
      if (this.suspended) {
        socket.destroy()
        return
      }
      this.connectionsAccepted++
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    })
    // dropWatchMs is live: changing it affects watches already open.
    this.dropTimer = setInterval(() => {
      if (this.opts.faults.dropWatchMs > 0) this.injected.watchesDropped += this.watches.endOlderThan(this.opts.faults.dropWatchMs)
    }, 25)
    this.dropTimer.unref()
  }

  async listen(): Promise<void> {
    const { host, port } = this.opts
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => resolve())
    })
    const address = this.server.address()
    this.port = typeof address === 'object' && address ? address.port : 0
    const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
    this.url = `http://${urlHost}:${this.port}`
  }

  /** Refuses new connections and cuts the open ones (watches included), as an unreachable API server. */
  suspend(): void {
    this.suspended = true
    this.watches.endAll()
    for (const s of this.sockets) s.destroy()
  }

  resume(): void {
    this.suspended = false
  }

  async close(): Promise<void> {
    clearInterval(this.dropTimer)
    this.watches.endAll()
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.handle(req, res).catch((err) => {
      if (res.headersSent || res.destroyed) {
        res.destroy()
        return
      }
      if (err instanceof ApiError) sendError(res, err)
      else sendError(res, new ApiError(500, 'InternalError', `Internal error occurred: ${err?.message ?? err}`))
    })
  }

  private record(r: SimRequest): void {
    this.entries.push(r)
    if (this.entries.length > MAX_RECORDED_REQUESTS) this.entries.splice(0, this.entries.length - MAX_RECORDED_REQUESTS / 2)
  }

  private auditOnAnswer(req: IncomingMessage, res: ServerResponse, route: ReturnType<typeof parseRoute>, resource: string): void {
    const audit = this.opts.audit!
    const start = Date.now()
    const verb = route?.verb ?? (req.method ?? 'GET').toLowerCase()
    const pod = route?.def.plural === 'pods' && route.ns && route.name ? this.cluster.store.get('pods', route.ns, route.name) : undefined
    const entry: AuditEntry = {
      at: 0, start, method: req.method ?? 'GET', verb, resource, namespace: route?.ns, name: route?.name,
      host: String(req.headers.host ?? ''), userAgent: String(req.headers['user-agent'] ?? ''), status: 0,
      ...(pod ? { pod: { uid: pod.metadata.uid, node: pod.spec?.nodeName ?? null, labels: { ...pod.metadata.labels }, terminating: !!pod.metadata.deletionTimestamp } } : {}),
    }
    // 'close' comes after 'finish', and alone when the client left first.
    res.once('close', () => {
      entry.at = Date.now()
      entry.status = res.headersSent ? res.statusCode : 0
      if (WRITE_VERBS.has(verb) || entry.status >= 500) audit(entry)
    })
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { cluster } = this
    const faults = this.opts.faults
    const url = new URL(req.url ?? '/', 'http://sim')
    const query = Object.fromEntries(url.searchParams)
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname
    const method = req.method ?? 'GET'
    const route = parseRoute(method, path, query)
    const resource = route ? route.def.plural + (route.sub ? `/${route.sub}` : '') : ''
    this.record({ method, path, query, watch: !!route?.watch, verb: route?.verb ?? method.toLowerCase(), resource })
    if (this.opts.audit) this.auditOnAnswer(req, res, route, resource)

    if (faults.latencyMs > 0) {
      this.injected.delayed++
      await new Promise((r) => setTimeout(r, faults.latencyMs))
    }
    if (res.destroyed) return
    if (!route?.watch && this.errorGate.hit(faults.errorRate)) {
      this.injected.errors++
      throw new ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request (injected fault)')
    }
    if (route?.watch && faults.watchErrorCode > 0) {
      this.injected.watchErrors++
      const code = faults.watchErrorCode
      const err = code === 504
        ? new ApiError(504, 'Timeout', `Too large resource version: ${query.resourceVersion ?? ''}, current: ${this.cluster.store.rv} (injected fault)`,
          { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 })
        : new ApiError(code, 'InternalError', `watch failed (injected fault ${code})`)
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ type: 'ERROR', object: err.toStatus() }) + '\n')
      return
    }

    if (!route && method === 'GET' && (path === '/openapi/v3' || path.startsWith('/openapi/v3/'))) {
      const text = openApiV3Text(path)
      if (text === undefined) throw new ApiError(404, 'NotFound', NOT_FOUND)
      sendText(res, 200, text)
      return
    }
    if (!route && method === 'GET' && path === '/openapi/v2') {
      // kubectl asks for protobuf only (and copes without it); JSON for everyone else.
      const accept = String(req.headers.accept ?? '')
      if (accept && !/json|\*\/\*/.test(accept)) throw new ApiError(406, 'NotAcceptable', 'only the following media types are accepted: application/json')
      sendJson(res, 200, openApiV2())
      return
    }
    if (!route) {
      const doc = discoveryDoc(path, this.opts.metrics)
      if (doc === undefined || method !== 'GET') throw new ApiError(404, 'NotFound', NOT_FOUND)
      if (typeof doc === 'string') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' })
        res.end(doc)
        return
      }
      sendJson(res, 200, doc)
      return
    }

    const { def, ns, name, sub, verb } = route
    if (def.group === 'metrics.k8s.io') {
      if (!this.opts.metrics) throw new ApiError(404, 'NotFound', NOT_FOUND)
      if (verb !== 'get' && verb !== 'list') throw methodNotAllowed()
      sendJson(res, 200, metricsGet(cluster.store, def, ns, name, query))
      return
    }
    if ((verb === 'update' || verb === 'patch') && this.conflictGate.hit(faults.conflictRate)) {
      this.injected.conflicts++
      throw conflict(def.plural, name ?? '', def.group)
    }

    const accept = String(req.headers.accept ?? '')
    const table = /as=Table/.test(accept) ? (query.includeObject ?? 'Metadata') : undefined
    const dryRun = query.dryRun === 'All'
    switch (verb) {
      case 'watch':
        this.watches.serve(req, res, route, query, table)
        return
      case 'get': {
        if (sub === 'eviction') throw methodNotAllowed()
        if (sub === 'scale') {
          sendJson(res, 200, cluster.getScale(def, ns, name!))
          return
        }
        const obj = cluster.get(def, ns, name!)
        if (table) sendJson(res, 200, toTable(def, [obj], { resourceVersion: obj.metadata.resourceVersion }, table))
        else sendText(res, 200, typedJson(def, obj))
        return
      }
      case 'list': {
        const { items, metadata } = list(cluster.store, def, ns, query)
        if (table) sendJson(res, 200, toTable(def, items, metadata, table))
        else await sendList(res, `{"kind":"${def.kind}List","apiVersion":"${apiVersionOf(def)}","metadata":${JSON.stringify(metadata)},"items":`, items.map(jsonOf))
        return
      }
      case 'create': {
        const body = await readBody(req)
        if (sub === 'eviction') {
          sendJson(res, 201, cluster.evict(ns!, name!, body))
          return
        }
        if (name) throw methodNotAllowed()
        sendJson(res, 201, withType(def, cluster.create(def, ns, body, dryRun, query.fieldValidation)))
        return
      }
      case 'update': {
        if (!name) throw methodNotAllowed()
        const body = await readBody(req)
        const updated = cluster.update(def, ns, name, body, sub, dryRun, query.fieldValidation)
        sendJson(res, 200, sub === 'scale' ? updated : withType(def, updated))
        return
      }
      case 'patch': {
        if (!name) throw methodNotAllowed()
        const body = await readBody(req)
        if (body === undefined) throw badRequest('the body of the request was empty')
        const contentType = String(req.headers['content-type'] ?? '')
        const patched = cluster.patch(def, ns, name, body, contentType, sub, dryRun, query.fieldValidation)
        sendJson(res, 200, sub === 'scale' ? patched : withType(def, patched))
        return
      }
      case 'delete': {
        if (sub) throw methodNotAllowed()
        const body = (await readBody(req)) ?? {}
        const grace = query.gracePeriodSeconds !== undefined ? Number(query.gracePeriodSeconds) : body.gracePeriodSeconds
        const deleted = cluster.delete(def, ns, name!, { gracePeriodSeconds: grace, preconditions: body.preconditions, dryRun: dryRun || body.dryRun?.includes?.('All') })
        if (idOf(def) === 'namespaces') {
          // The namespace controller empties it at once here; the answer shows it Terminating, as the server does.
          sendJson(res, 200, withType(def, { ...deleted, metadata: { ...deleted.metadata, deletionTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }, status: { phase: 'Terminating' } }))
        } else if (idOf(def) === 'pods') sendJson(res, 200, withType(def, deleted))
        else sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, ...(def.group ? { group: def.group } : {}), kind: def.plural, uid: deleted.metadata.uid } })
        return
      }
      case 'deletecollection': {
        const body = (await readBody(req)) ?? {}
        const grace = query.gracePeriodSeconds !== undefined ? Number(query.gracePeriodSeconds) : body.gracePeriodSeconds
        const { items } = list(cluster.store, def, ns, { labelSelector: query.labelSelector, fieldSelector: query.fieldSelector } as Record<string, string>)
        const deleted = items.map((o) => cluster.delete(def, o.metadata.namespace, o.metadata.name, { gracePeriodSeconds: grace, dryRun }))
        sendJson(res, 200, { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(cluster.store.rv) }, items: deleted })
        return
      }
      default:
        throw methodNotAllowed()
    }
  }
}
