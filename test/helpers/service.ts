// Starts the service in-process on a loopback port against a cluster (simulated or real), and
// makes StreamSpace JWTs for it. Tests talk to it over real HTTP with fetch.
import { randomUUID } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import type { KubeConfig } from '@kubernetes/client-node'
import { buildApp, API_PREFIX, type App } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { createKubeClients } from '../../src/kube/client.js'
import type { Clock } from '../../src/kube/reflector.js'
import { ensureNamespace, waitFor } from './fixtures.js'

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long'
export { API_PREFIX, waitFor }

export interface TokenClaims {
  role?: 'admin' | 'operator' | 'user'
  username?: string
  user_id?: string
  iss?: string
  expiresInSeconds?: number
  notBeforeSeconds?: number
  secret?: string
  algorithm?: 'HS256' | 'HS384' | 'HS512'
  omitExp?: boolean
  omitIss?: boolean
}

export function makeToken(claims: TokenClaims = {}): string {
  const now = Math.floor(Date.now() / 1000)
  const payload: Record<string, unknown> = {
    user_id: claims.user_id ?? 'u-1',
    username: claims.username ?? 'alice',
    email: `${claims.username ?? 'alice'}@example.com`,
    role: claims.role ?? 'admin',
    groups: ['team'],
    jti: randomUUID(),
    iss: claims.iss ?? 'streamspace-api',
    sub: claims.user_id ?? 'u-1',
    iat: now,
    nbf: now + (claims.notBeforeSeconds ?? 0),
  }
  if (claims.omitIss) delete payload.iss
  if (!claims.omitExp) payload.exp = now + (claims.expiresInSeconds ?? 3600)
  const sign = createSigner({ key: claims.secret ?? TEST_JWT_SECRET, algorithm: claims.algorithm ?? 'HS256' })
  return sign(payload)
}

export interface Service {
  app: App
  url: string
  /** fetch under the API prefix with an admin token (or the given one; null for none). */
  api(path: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<Response>
  close(): Promise<void>
}

export interface StartServiceOptions {
  env?: NodeJS.ProcessEnv
  config?: Config
  clock?: Clock
  /** Capture the service's log lines (JSON) here. */
  logStream?: { write(line: string): void }
  /** Wait until /readyz says ready (default true). */
  waitReady?: boolean
}

export async function startService(kc: KubeConfig, opts: StartServiceOptions = {}): Promise<Service> {
  const config = opts.config ?? loadConfig({ JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent', METRICS_POLL_SECONDS: '1', ...opts.env })
  const kube = createKubeClients(kc)
  // The service's namespace holds its Lease: as on a real install (the release namespace), it
  // exists. Without it nobody leads, and drains and plans (run by the leader) never start. A
  // client without the right to create namespaces (RBAC tests) finds it made before.
  await ensureNamespace(kube, config.service.podNamespace ?? 'streamspace').catch(() => undefined)
  const app = await buildApp({ config, kube, jwtSecret: TEST_JWT_SECRET, clock: opts.clock, logStream: opts.logStream })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const token = makeToken()
  const service: Service = {
    app,
    url: address,
    api(path, init = {}) {
      const { token: t = token, json, ...rest } = init
      const headers = new Headers(rest.headers)
      if (t !== null) headers.set('authorization', `Bearer ${t}`)
      if (json !== undefined) headers.set('content-type', 'application/json')
      return fetch(`${address}${API_PREFIX}${path}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body })
    },
    close: () => app.close(),
  }
  if (opts.waitReady !== false) await waitFor(async () => (await fetch(`${address}/readyz`)).status === 200, 20_000, 'service ready')
  return service
}

/**
 * Waits until a replica has run `n` more health checks (the last_check of GET P/cluster/health
 * changed n times): a page it were to send twice, retry, or send again after a takeover, would
 * have gone by then. `api` calls under the prefix as an admin: Service.api, or a process's
 * `(path) => apiAt(url, path)`.
 */
export async function moreHealthChecks(api: (path: string) => Promise<Response>, n = 2): Promise<void> {
  const lastCheck = async () => ((await (await api('/cluster/health')).json()) as { last_check: string | null }).last_check
  let seen = await lastCheck()
  for (let i = 1; i <= n; i++) {
    await waitFor(async () => {
      const now = await lastCheck()
      const moved = now !== seen
      seen = now
      return moved
    }, 10_000, `health check ${i} of ${n} more`)
  }
}
