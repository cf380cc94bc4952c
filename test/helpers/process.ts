// The service as operators run it: `node --import tsx src/server.ts` against a backend's
// kubeconfig, as a child process a test can SIGTERM or SIGKILL; and its API with an admin token.
import type { Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Backend } from './backend.js'
import { API_PREFIX, makeToken, TEST_JWT_SECRET, waitFor } from './service.js'
import { listeningUrl } from './ports.js'

export interface Proc { url: string; child: ChildProcess; log: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

/** Starts the service (POD_NAME `name`) and waits until it is ready; killed at teardown if still running. */
export async function startProcess(t: Test, b: Backend, name: string, env: Record<string, string> = {}): Promise<Proc> {
  let out = ''
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'home-')),
      KUBE_MODE: 'kubeconfig', KUBECONFIG: b.kubeconfigPath, JWT_SECRET: TEST_JWT_SECRET, PORT: '0', HOST: '127.0.0.1',
      POD_NAME: name, POD_NAMESPACE: 'streamspace', LOG_LEVEL: 'info', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { out += d })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const url = await listeningUrl(name, () => out, () => child.exitCode)
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${out}`)
    return (await fetch(`${url}/readyz`).catch(() => undefined))?.ok === true
  }, 60_000, `${name} ready`)
  return { url, child, log: () => out, exited }
}

const token = makeToken({ username: 'ops', user_id: 'u-ops' })

/** A request to P<path> at `base` (a process's URL, or a proxy's) as an admin (or with `token`, e.g. one of another secret). */
export const apiAt = (base: string, path: string, init: { method?: string; json?: unknown; token?: string } = {}) => fetch(`${base}${API_PREFIX}${path}`, {
  method: init.method ?? 'GET',
  headers: { authorization: `Bearer ${init.token ?? token}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
  body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
})
