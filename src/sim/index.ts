// The simulated Kubernetes cluster: a real node:http server speaking the Kubernetes REST API for
// what StreamSpace Node Manager touches. See DESIGN.md "The simulated cluster (src/sim)".
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { writeFile } from 'node:fs/promises'
import { Cluster, idOf } from './cluster.js'
import {
  apiGroupDoc, apiGroupListDoc, apiResourceListDoc, apiVersionOf, apiVersionsDoc, findResource, hasGroupVersion, VERSION_INFO, type ResourceDef,
} from './kinds.js'
import { nodeMetrics, podIsMeasured, podMetrics } from './metrics.js'
import { nodeIsReady } from './objects.js'
import { decodeDeleteOptions, decodeObject, isProtobuf } from './protobuf.js'
import { seedCluster } from './seed.js'
import { fieldMatcher, parseFieldSelector, parseLabelSelector, type Matcher } from './selectors.js'
import { ApiError, badRequest, conflict, gone, methodNotAllowed, notFound } from './status.js'
import { jsonOf, lowerBound, objectKey, typedJsonOf, type Obj, type StoreEvent } from './store.js'
import { toTable } from './table.js'

export interface FaultSpec {
  /** 0..1: fraction of non-watch requests answered 503 (a proper Status object). */
  errorRate: number
  /** Added before every answer. */
  latencyMs: number
  /** 0 = never; else watch streams are closed by the server after this many ms. */
  dropWatchMs: number
  /** 0..1: fraction of update/patch requests answered 409 Conflict. */
  conflictRate: number
}

export interface SimOptions {
  host?: string
  port?: number
  /** undefined = the demo cluster; 0 = empty (namespaces only). */
  nodes?: number
  podsPerNode?: number
  sessionsPerNode?: number
  /** Overrides every pod's grace period when set. */
  podTerminateSeconds?: number
  /** Default true; false removes metrics.k8s.io from discovery and 404s it. */
  metrics?: boolean
  faults?: Partial<FaultSpec>
  /** Run the ReplicaSet controller (with a minimal scheduler): pods that go are replaced on a
   *  schedulable node. Default: on for the demo cluster, off otherwise. */
  controllers?: boolean
  /** Renew every Ready node's heartbeat times and Lease once per this many seconds (node MODIFIED
   *  churn, as kubelets report status; real ones every 10 s to 5 min). Default: 20 for the demo
   *  cluster (it stays fresh behind `npm start`), 0 (no churn) otherwise. */
  heartbeatSeconds?: number
  /** Seconds between BOOKMARK events on watches that allow them (> 0, fractions allowed; default 15; a real
   *  kube-apiserver sends them about once a minute, while client-node 2.0.1's Watch gives up after 30 s
   *  without data: 60 reproduces the real server's timing). CLI: --bookmark-seconds. */
  bookmarkSeconds?: number
}

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

export interface SimCluster {
  url: string
  port: number
  kubeconfig(): string
  writeKubeconfig(file: string): Promise<void>
  faults: FaultSpec
  requests: { entries: SimRequest[]; reset(): void; count(pred: (r: SimRequest) => boolean): number }
  suspend(): void
  resume(): void
  setNodeReady(name: string, ready: boolean | 'Unknown'): void
  close(): Promise<void>
  /** The object store and API semantics, for tests that need to look inside. */
  cluster: Cluster
}

const MAX_RECORDED_REQUESTS = 20_000
const MAX_BODY_BYTES = 16 * 1024 * 1024
const MAX_WATCH_BACKLOG_BYTES = 256 * 1024 * 1024
/** Node status and Lease renewal period of the demo cluster: fresh enough for health checks, little churn. */
const DEMO_HEARTBEAT_SECONDS = 20
/** Watch BOOKMARK period when not configured. A real kube-apiserver sends one about once a minute. */
export const DEFAULT_BOOKMARK_SECONDS = 15

interface Route {
  def: ResourceDef
  ns?: string
  name?: string
  sub?: string
  verb: string
  watch: boolean
}

/** Parses /api/v1/... and /apis/{group}/{version}/... resource paths; undefined when not one. */
function parseRoute(method: string, path: string, query: Record<string, string>): Route | undefined {
  const segs = path.split('/').filter(Boolean).map(decodeURIComponent)
  let group: string
  let version: string
  let rest: string[]
  if (segs[0] === 'api' && segs[1] === 'v1') [group, version, rest] = ['', 'v1', segs.slice(2)]
  else if (segs[0] === 'apis' && segs.length >= 3) [group, version, rest] = [segs[1], segs[2], segs.slice(3)]
  else return undefined
  let watch = query.watch === 'true' || query.watch === '1'
  if (rest[0] === 'watch') {
    watch = true
    rest = rest.slice(1)
  }
  let ns: string | undefined
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    ns = rest[1]
    rest = rest.slice(2)
  }
  if (rest.length === 0 || rest.length > 3) return undefined
  const [plural, name, sub] = rest
  const def = findResource(group, version, plural)
  if (!def || (ns !== undefined && !def.namespaced)) return undefined
  if (sub && !(sub === 'status' && def.status) && !(sub === 'eviction' && plural === 'pods' && group === '')) return undefined
  let verb: string
  switch (method) {
    case 'GET': verb = watch ? 'watch' : name ? 'get' : 'list'; break
    case 'POST': verb = 'create'; break
    case 'PUT': verb = 'update'; break
    case 'PATCH': verb = 'patch'; break
    case 'DELETE': verb = name ? 'delete' : 'deletecollection'; break
    default: verb = method.toLowerCase()
  }
  return { def, ns, name, sub, verb, watch: verb === 'watch' }
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  sendText(res, code, JSON.stringify(body))
}

function sendText(res: ServerResponse, code: number, data: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), 'Cache-Control': 'no-cache, private' })
  res.end(data)
}

function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.code, err.toStatus())
}

async function readBody(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large')
    chunks.push(chunk)
  }
  const body = Buffer.concat(chunks)
  if (isProtobuf(req.headers['content-type'])) {
    if (req.method === 'DELETE') return decodeDeleteOptions(body)
    if (req.method === 'POST' || req.method === 'PUT') return decodeObject(body)
    throw new ApiError(415, 'UnsupportedMediaType', 'the simulator accepts only JSON request bodies here')
  }
  const text = body.toString('utf8')
  if (!text.trim()) return undefined
  try {
    return JSON.parse(text)
  } catch {
    throw badRequest(`the body of the request was in an unknown format - accepted media types include: application/json`)
  }
}

const withType = (def: ResourceDef, obj: Obj): Obj => ({ kind: def.kind, apiVersion: apiVersionOf(def), ...obj })
const typedJson = (def: ResourceDef, obj: Obj): string => typedJsonOf(def.kind, apiVersionOf(def), obj)

interface ContinueToken { rv: number; start: string }

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: t.start })).toString('base64')
}

function decodeContinue(text: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64').toString('utf8'))
    if (typeof t.rv !== 'number' || typeof t.start !== 'string') throw new Error('bad token')
    return t
  } catch {
    throw badRequest('invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)')
  }
}

const CONTINUE_EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.'

/** Deterministic fraction: with rate r, exactly one request in 1/r is chosen, evenly spread. */
class RateGate {
  private acc = 0
  hit(rate: number): boolean {
    if (!(rate > 0)) return false
    this.acc += Math.min(rate, 1)
    if (this.acc >= 1 - 1e-9) {
      this.acc -= 1
      return true
    }
    return false
  }
}

export async function startSim(opts: SimOptions = {}): Promise<SimCluster> {
  const host = opts.host ?? '127.0.0.1'
  const metricsOn = opts.metrics !== false
  const bookmarkSeconds = opts.bookmarkSeconds ?? DEFAULT_BOOKMARK_SECONDS
  if (!(bookmarkSeconds > 0)) throw new RangeError(`bookmarkSeconds must be > 0, got ${bookmarkSeconds}`)
  const bookmarkMs = bookmarkSeconds * 1000
  const cluster = new Cluster()
  cluster.podTerminateSeconds = opts.podTerminateSeconds
  cluster.replicaSetController = opts.controllers ?? opts.nodes === undefined
  seedCluster(cluster.store, { nodes: opts.nodes, podsPerNode: opts.podsPerNode, sessionsPerNode: opts.sessionsPerNode })
  cluster.recomputeAllPdbs()
  const heartbeatSeconds = opts.heartbeatSeconds ?? (opts.nodes === undefined ? DEMO_HEARTBEAT_SECONDS : 0)
  if (heartbeatSeconds > 0) cluster.startHeartbeats(heartbeatSeconds)
  const store = cluster.store

  const faults: FaultSpec = { errorRate: 0, latencyMs: 0, dropWatchMs: 0, conflictRate: 0, ...opts.faults }
  const errorGate = new RateGate()
  const conflictGate = new RateGate()
  const entries: SimRequest[] = []
  const sockets = new Set<Socket>()
  /** Open watches: how to end each (destroying its stream), and when it started. */
  const watchEnders = new Map<() => void, number>()
  // dropWatchMs is live: changing it affects watches already open.
  const dropTimer = setInterval(() => {
    if (!(faults.dropWatchMs > 0)) return
    const now = Date.now()
    for (const [end, started] of watchEnders) if (now - started >= faults.dropWatchMs) end()
  }, 25)
  dropTimer.unref()
  let suspended = false

  // ---- lists ----

  function candidateKeys(def: ResourceDef, ns: string | undefined, fields: ReturnType<typeof parseFieldSelector>): { keys: string[]; from: number; to: number } {
    const id = idOf(def)
    const nodeField = id === 'pods' ? fields.find((f) => f.field === 'spec.nodeName' && f.op === 'eq' && f.value) : undefined
    if (nodeField) {
      const keys = [...(store.podsByNode.get(nodeField.value) ?? [])].filter((k) => !ns || k.startsWith(`${ns}/`)).sort()
      return { keys, from: 0, to: keys.length }
    }
    const nameField = fields.find((f) => f.field === 'metadata.name' && f.op === 'eq')
    const c = store.collection(id)
    if (nameField) {
      const key = objectKey(def.namespaced ? ns : undefined, nameField.value)
      const keys = ns || !def.namespaced ? (c.objects.has(key) ? [key] : []) : c.keys.filter((k) => k.endsWith(`/${nameField.value}`))
      return { keys, from: 0, to: keys.length }
    }
    if (ns && def.namespaced) {
      const prefix = `${ns}/`
      const from = lowerBound(c.keys, prefix)
      const to = lowerBound(c.keys, `${ns}0`) // '0' sorts right after '/'
      return { keys: c.keys, from, to }
    }
    return { keys: c.keys, from: 0, to: c.keys.length }
  }

  function list(def: ResourceDef, ns: string | undefined, query: Record<string, string>): { items: Obj[]; metadata: Obj } {
    const labels = parseLabelSelector(query.labelSelector)
    const fieldReqs = parseFieldSelector(query.fieldSelector, def.plural)
    const fields = fieldMatcher(fieldReqs)
    const limit = Math.max(0, Number.parseInt(query.limit ?? '0', 10) || 0)
    let listRv = store.rv
    let startAfter: string | undefined
    if (query.continue) {
      const token = decodeContinue(query.continue)
      if (token.rv < store.collection(idOf(def)).compactedRv) throw gone(CONTINUE_EXPIRED)
      listRv = token.rv
      startAfter = token.start
    }
    const objects = store.collection(idOf(def)).objects
    const { keys, from, to } = candidateKeys(def, ns, fieldReqs)
    let i = from
    if (startAfter !== undefined) i = Math.max(from, lowerBound(keys, startAfter + '\u0000'))
    const items: Obj[] = []
    for (; i < to; i++) {
      if (limit && items.length >= limit) break
      const obj = objects.get(keys[i])
      if (!obj) continue
      if (labels && !labels(obj)) continue
      if (fields && !fields(obj)) continue
      items.push(obj)
    }
    const metadata: Obj = { resourceVersion: String(listRv) }
    if (i < to && items.length > 0) {
      metadata.continue = encodeContinue({ rv: listRv, start: keys[i - 1] })
      if (!labels && !fields) metadata.remainingItemCount = to - i
    }
    return { items, metadata }
  }

  function metricsList(def: ResourceDef, ns: string | undefined, name: string | undefined, query: Record<string, string>): Obj {
    const now = new Date()
    const labels = parseLabelSelector(query.labelSelector)
    if (def.plural === 'nodes') {
      const nodes = store.collection('nodes')
      if (name) {
        const node = nodes.objects.get(name)
        if (!node || !nodeIsReady(node)) throw notFound('nodemetrics', name, 'metrics.k8s.io')
        return withType(def, nodeMetrics(node, store, now))
      }
      const items: Obj[] = []
      for (const key of nodes.keys) {
        const node = nodes.objects.get(key)!
        if (nodeIsReady(node) && (!labels || labels(node))) items.push(nodeMetrics(node, store, now))
      }
      return { kind: 'NodeMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items }
    }
    const pods = store.collection('pods')
    if (name) {
      const pod = pods.objects.get(objectKey(ns, name))
      if (!pod || !podIsMeasured(pod, store)) throw notFound('podmetrics', name, 'metrics.k8s.io')
      return withType(def, podMetrics(pod, now))
    }
    const fieldReqs = parseFieldSelector(query.fieldSelector, 'pods')
    const { keys, from, to } = candidateKeys(store.collection('pods').def, ns, fieldReqs)
    const fields = fieldMatcher(fieldReqs.filter((f) => f.field !== 'spec.nodeName'))
    const items: Obj[] = []
    for (let i = from; i < to; i++) {
      const pod = pods.objects.get(keys[i])
      if (pod && podIsMeasured(pod, store) && (!labels || labels(pod)) && (!fields || fields(pod))) items.push(podMetrics(pod, now))
    }
    return { kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items }
  }

  // ---- watch ----

  function watch(req: IncomingMessage, res: ServerResponse, route: Route, query: Record<string, string>, table: string | undefined): void {
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
    const write = (type: string, obj: Obj) => {
      const object = table ? JSON.stringify(toTable(def, [obj], { resourceVersion: obj.metadata.resourceVersion }, table)) : typedJson(def, obj)
      res.write(`{"type":"${type}","object":${object}}\n`)
      // A client that does not read its watch is dropped, as the API server drops a watcher that falls behind
      // (the initial events of a big list are exempt: they are written before the client can read).
      if (live && res.writableLength > MAX_WATCH_BACKLOG_BYTES) ender()
    }
    let live = false
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
      const { keys, from, to } = candidateKeys(def, ns, fieldReqs)
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
      watchEnders.delete(ender)
    }
    const ender = () => end(true)
    watchEnders.set(ender, Date.now())
    const timeoutSeconds = Number(query.timeoutSeconds)
    if (timeoutSeconds > 0) timers.push(setTimeout(() => end(false), timeoutSeconds * 1000))
    if (bookmarks) {
      const tick = setInterval(() => writeBookmark(), bookmarkMs)
      timers.push(tick as unknown as NodeJS.Timeout)
    }
    res.on('close', cleanup)
    req.on('error', cleanup)
  }

  // ---- requests ----

  function record(r: SimRequest): void {
    entries.push(r)
    if (entries.length > MAX_RECORDED_REQUESTS) entries.splice(0, entries.length - MAX_RECORDED_REQUESTS / 2)
  }

  function discovery(path: string): unknown {
    if (path === '/version') return VERSION_INFO
    if (path === '/api') return apiVersionsDoc()
    if (path === '/apis') return apiGroupListDoc(metricsOn)
    if (path === '/api/v1') return apiResourceListDoc('', 'v1')
    if (path === '/healthz' || path === '/livez' || path === '/readyz') return 'ok'
    const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path)
    if (m) {
      const [, group, version] = m
      if (!version) {
        const gv = (apiGroupListDoc(metricsOn).groups as Obj[]).find((g) => g.name === group)
        return gv ? apiGroupDoc(group, gv.preferredVersion.version) : undefined
      }
      if (hasGroupVersion(group, version, metricsOn)) return apiResourceListDoc(group, version)
    }
    return undefined
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim')
    const query = Object.fromEntries(url.searchParams)
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname
    const method = req.method ?? 'GET'
    const route = parseRoute(method, path, query)
    const resource = route ? route.def.plural + (route.sub ? `/${route.sub}` : '') : ''
    record({ method, path, query, watch: !!route?.watch, verb: route?.verb ?? method.toLowerCase(), resource })

    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs))
    if (res.destroyed) return
    if (!route?.watch && errorGate.hit(faults.errorRate)) {
      throw new ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request (injected fault)')
    }

    if (!route) {
      const doc = discovery(path)
      if (doc === undefined || method !== 'GET') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource')
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
      if (!metricsOn) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource')
      if (verb !== 'get' && verb !== 'list') throw methodNotAllowed()
      sendJson(res, 200, metricsList(def, ns, name, query))
      return
    }
    if ((verb === 'update' || verb === 'patch') && conflictGate.hit(faults.conflictRate)) throw conflict(def.plural, name ?? '', def.group)

    const accept = String(req.headers.accept ?? '')
    const table = /as=Table/.test(accept) ? (query.includeObject ?? 'Metadata') : undefined
    const dryRun = query.dryRun === 'All'
    switch (verb) {
      case 'watch':
        watch(req, res, route, query, table)
        return
      case 'get': {
        if (sub === 'eviction') throw methodNotAllowed()
        const obj = cluster.get(def, ns, name!)
        if (table) sendJson(res, 200, toTable(def, [obj], { resourceVersion: obj.metadata.resourceVersion }, table))
        else sendText(res, 200, typedJson(def, obj))
        return
      }
      case 'list': {
        const { items, metadata } = list(def, ns, query)
        if (table) sendJson(res, 200, toTable(def, items, metadata, table))
        else sendText(res, 200, `{"kind":"${def.kind}List","apiVersion":"${apiVersionOf(def)}","metadata":${JSON.stringify(metadata)},"items":[${items.map(jsonOf).join(',')}]}`)
        return
      }
      case 'create': {
        const body = await readBody(req)
        if (sub === 'eviction') {
          sendJson(res, 201, cluster.evict(ns!, name!, body))
          return
        }
        if (name) throw methodNotAllowed()
        const created = cluster.create(def, ns, body, dryRun)
        sendJson(res, 201, withType(def, created))
        return
      }
      case 'update': {
        if (!name) throw methodNotAllowed()
        const body = await readBody(req)
        sendJson(res, 200, withType(def, cluster.update(def, ns, name, body, sub, dryRun)))
        return
      }
      case 'patch': {
        if (!name) throw methodNotAllowed()
        const body = await readBody(req)
        if (body === undefined) throw badRequest('the body of the request was empty')
        const contentType = String(req.headers['content-type'] ?? '')
        sendJson(res, 200, withType(def, cluster.patch(def, ns, name, body, contentType, sub, dryRun)))
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
        const { items } = list(def, ns, { labelSelector: query.labelSelector, fieldSelector: query.fieldSelector } as Record<string, string>)
        const deleted = items.map((o) => cluster.delete(def, o.metadata.namespace, o.metadata.name, { gracePeriodSeconds: grace, dryRun }))
        sendJson(res, 200, { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(store.rv) }, items: deleted })
        return
      }
      default:
        throw methodNotAllowed()
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (res.headersSent || res.destroyed) {
        res.destroy()
        return
      }
      if (err instanceof ApiError) sendError(res, err)
      else sendError(res, new ApiError(500, 'InternalError', `Internal error occurred: ${err?.message ?? err}`))
    })
  })
  server.keepAliveTimeout = 60_000
  server.on('connection', (socket: Socket) => {
    if (suspended) {
      socket.destroy()
      return
    }
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
  const url = `http://${urlHost}:${port}`

  const kubeconfig = () => [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: streamspace-sim',
    '  cluster:',
    `    server: ${url}`,
    '    insecure-skip-tls-verify: true',
    'contexts:',
    '- name: streamspace-sim',
    '  context:',
    '    cluster: streamspace-sim',
    '    user: streamspace-sim-admin',
    '    namespace: default',
    'current-context: streamspace-sim',
    'preferences: {}',
    'users:',
    '- name: streamspace-sim-admin',
    '  user:',
    '    token: streamspace-sim-token',
    '',
  ].join('\n')

  return {
    url,
    port,
    cluster,
    // Live: the server reads this object on every request; assigning a new one merges it in.
    get faults() {
      return faults
    },
    set faults(next: FaultSpec) {
      Object.assign(faults, next)
    },
    kubeconfig,
    async writeKubeconfig(file: string) {
      await writeFile(file, kubeconfig(), { mode: 0o600 })
    },
    requests: {
      entries,
      reset() {
        entries.length = 0
      },
      count(pred) {
        return entries.filter(pred).length
      },
    },
    suspend() {
      suspended = true
      for (const end of [...watchEnders.keys()]) end()
      for (const s of sockets) s.destroy()
    },
    resume() {
      suspended = false
    },
    setNodeReady(name, ready) {
      cluster.setNodeReady(name, ready)
    },
    async close() {
      cluster.stop()
      clearInterval(dropTimer)
      for (const end of [...watchEnders.keys()]) end()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}
