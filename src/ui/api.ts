// Talking to the service: the StreamSpace token (where StreamSpace's web app keeps it), a fetch
// wrapper that carries it and turns every failure into words, and the server's own types.
import { useSyncExternalStore } from 'react'
import type { ClusterStats, NodeDetail, NodeMetricsHistory, NodeView } from '../schemas/node.js'
import type { DrainResult, DrainStatus } from '../schemas/drain.js'
import type { ClusterHealth } from '../schemas/health.js'

export type { ClusterStats, NodeDetail, NodeMetricsHistory, NodeView, DrainResult, DrainStatus, ClusterHealth }

/** One step of a drain on GET P/nodes/:name/drain/events (the `data` of each event). */
export interface DrainEvent {
  id: number
  type: 'started' | 'cordoned' | 'planned' | 'pod_blocked' | 'pod_evicting' | 'pod_evicted' | 'pod_failed' | 'finished'
  at: string
  pod?: string
  reason?: string
  pdb?: string | null
  evicted: number
  pending: number
  total: number
  sessions_disrupted: number
  sessions_total: number
  phase?: DrainStatus['phase']
  message?: string
}
/** NodeView as it may grow (cordon who/why from the maintenance work). */
export type Node = NodeView & { cordon?: { by?: string; reason?: string; at?: string } | null }

export const API_PREFIX = '/api/plugins/streamspace-node-manager'
/** StreamSpace's web app persists its zustand auth store here: {"state":{"token","user",...},"version":0}. */
export const AUTH_KEY = 'streamspace-auth'

// ---- token store -------------------------------------------------------------------------
type Listener = () => void
const listeners = new Set<Listener>()

export function readToken(): string | null {
  try {
    const raw = localStorage.getItem(AUTH_KEY)
    if (!raw) return null
    const token = JSON.parse(raw)?.state?.token
    return typeof token === 'string' && token ? token : null
  } catch {
    return null
  }
}

/** Who the token says we are (no verification here: the service verifies every call). */
export function tokenClaims(token: string | null): { username?: string; role?: string; exp?: number } | null {
  if (!token) return null
  try {
    const part = token.split('.')[1]
    return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/')))
  } catch {
    return null
  }
}

/** Signs in the way StreamSpace's own app does, so both share one sign-in on StreamSpace's host. */
export function saveToken(token: string): void {
  const claims = tokenClaims(token)
  const user = claims ? { id: (claims as Record<string, unknown>).user_id, username: claims.username, role: claims.role } : null
  const expiresAt = claims?.exp ? new Date(claims.exp * 1000).toISOString() : null
  signOutReason = null
  localStorage.setItem(AUTH_KEY, JSON.stringify({ state: { token, user, expiresAt, isAuthenticated: true }, version: 0 }))
  listeners.forEach((l) => l())
}

let signOutReason: string | null = null
/** Why the last sign-out happened (a refused token), for the sign-in box; null after a sign-in. */
export const lastSignOutReason = () => signOutReason

export function signOut(reason: string | null = null): void {
  signOutReason = reason
  localStorage.removeItem(AUTH_KEY)
  listeners.forEach((l) => l())
}

/**
 * The demo's sign-in link, `...#token=<jwt>`: a fragment never reaches the server (nor its log).
 * Read once at load, kept as a sign-in would, and removed from the address bar and history.
 */
export function signInFromFragment(): void {
  const token = new URLSearchParams(window.location.hash.slice(1)).get('token')
  if (!token) return
  history.replaceState(history.state, '', window.location.pathname + window.location.search)
  if (token.split('.').length === 3) saveToken(token)
}

window.addEventListener('storage', (e) => {
  if (e.key === AUTH_KEY || e.key === null) listeners.forEach((l) => l())
})

export function useToken(): string | null {
  return useSyncExternalStore((l) => {
    listeners.add(l)
    return () => listeners.delete(l)
  }, readToken)
}

// ---- errors in words ---------------------------------------------------------------------
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly details?: unknown, readonly retryAfter?: string | null) {
    super(message)
    this.name = 'ApiError'
  }
}

export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    switch (err.status) {
      case 0: return `Cannot reach the node manager service: ${err.message}. Check that it is running and reachable from this browser.`
      case 401: return `Not signed in or the token is no longer valid (${err.message}). Sign in again with a StreamSpace admin token.`
      case 403: return `Your account may not do this: ${err.message}. The node manager needs a StreamSpace account with the admin role.`
      default:
        if (err.status >= 500) return `The service failed (${err.status}): ${err.message}`
        return err.message
    }
  }
  return err instanceof Error ? err.message : String(err)
}

async function errorFrom(res: Response): Promise<ApiError> {
  let message = res.statusText || `HTTP ${res.status}`
  let details: unknown
  try {
    const body = await res.json() as { message?: string; details?: unknown }
    if (body?.message) message = body.message
    details = body?.details
  } catch { /* not JSON */ }
  const err = new ApiError(res.status, message, details, res.headers.get('retry-after'))
  // An expired or revoked token: forget it so the sign-in box shows (StreamSpace's app does the same).
  if (res.status === 401) signOut(describeError(err))
  return err
}

export async function request(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  const token = readToken()
  if (token) headers.set('authorization', `Bearer ${token}`)
  if (init.json !== undefined) headers.set('content-type', 'application/json')
  let res: Response
  try {
    res = await fetch(API_PREFIX + path, { ...init, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body })
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err
    throw new ApiError(0, (err as Error).message || 'network error')
  }
  if (!res.ok && res.status !== 304) throw await errorFrom(res)
  return res
}

export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const res = await request(path, init)
  return res.json() as Promise<T>
}

/** GET with If-None-Match: a 304 costs no body and keeps the last value. */
export function etagFetcher<T>(path: string): () => Promise<T> {
  let etag: string | null = null
  let last: T | undefined
  return async () => {
    const res = await request(path, { headers: etag && last !== undefined ? { 'if-none-match': etag } : {} })
    if (res.status === 304 && last !== undefined) return last
    etag = res.headers.get('etag')
    last = await res.json() as T
    return last
  }
}

export const enc = encodeURIComponent

/** Every node, revalidated with If-None-Match (shared by the pages that list nodes). */
export const fetchNodes = etagFetcher<Node[]>('/nodes')

/**
 * Server-Sent Events over fetch: EventSource cannot send the Authorization header.
 * Calls onEvent for each event (with its id, if it has one) until the stream ends or signal aborts.
 */
export async function streamEvents(path: string, onEvent: (type: string, data: unknown, id: string | undefined) => void, signal: AbortSignal, lastEventId?: string): Promise<void> {
  const headers: Record<string, string> = { accept: 'text/event-stream' }
  if (lastEventId) headers['last-event-id'] = lastEventId
  const res = await request(path, { signal, headers })
  if (!res.body) throw new ApiError(0, 'the browser gave no response stream')
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    let cut: number
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      let type = 'message'
      let id: string | undefined
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
        else if (line.startsWith('id:')) id = line.slice(3).trim()
      }
      if (data.length === 0) continue
      try {
        onEvent(type, JSON.parse(data.join('\n')), id)
      } catch {
        onEvent(type, data.join('\n'), id)
      }
    }
  }
}

/** Waits between reconnections: 1 s, 2 s, 4 s, then every 10 s. */
const RECONNECT_MS = [1_000, 2_000, 4_000, 10_000]

/**
 * An event stream followed to its `finished` event across dropped connections, as EventSource
 * would: each reconnection sends Last-Event-ID, so the server replays only what was missed.
 * A refusal (4xx) ends it with that error; onConnection says when the link drops and comes back.
 */
export async function followEvents(
  path: string, onEvent: (type: string, data: unknown) => void, signal: AbortSignal,
  onConnection: (connected: boolean) => void = () => {},
): Promise<void> {
  let lastId: string | undefined
  let finished = false
  for (let attempt = 0; ; attempt++) {
    try {
      await streamEvents(path, (type, data, id) => {
        attempt = 0
        onConnection(true)
        if (id !== undefined) lastId = id
        if (type === 'finished') finished = true
        onEvent(type, data)
      }, signal, lastId)
      if (finished) return
    } catch (err) {
      if (signal.aborted) throw err
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) throw err
    }
    if (finished) return
    onConnection(false)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, RECONNECT_MS[Math.min(attempt, RECONNECT_MS.length - 1)])
      signal.addEventListener('abort', () => { clearTimeout(timer); reject(new DOMException('aborted', 'AbortError')) }, { once: true })
    })
  }
}
