// The service's replicas as separate processes (so SIGKILL is real), each reaching the simulated
// cluster through its own TCP forwarder: the Host header the sim's audit log records then names
// the replica process (each start of a replica gets a new forwarder, a new identity).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { kubeconfigFor } from '../../src/sim/kubeconfig.js'
import { TEST_JWT_SECRET } from '../helpers/service.js'
import { listeningUrl } from '../helpers/ports.js'

/** Output kept per process (the tail), for a failure's message. */
const LOG_TAIL = 20_000

export interface Replica {
  /** POD_NAME: the leader-election identity. */
  name: string
  /** The address it dials the cluster at (the audit's Host). */
  host: string
  url: string
  child: ChildProcess
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  log(): string
  /** Closes the forwarder once the process is gone. */
  close(): Promise<void>
}

/** A TCP forwarder from a fresh loopback port to the cluster's port. */
async function forwarder(targetPort: number): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = createConnection(targetPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => { client.destroy(); upstream.destroy() })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return { server, port: (server.address() as { port: number }).port, sockets }
}

/** Starts replica `name` against the cluster at `simPort`; resolves once it is ready. */
export async function startReplica(name: string, simPort: number, env: Record<string, string>): Promise<Replica> {
  const fwd = await forwarder(simPort)
  const host = `127.0.0.1:${fwd.port}`
  const dir = mkdtempSync(join(tmpdir(), `chaos-${name}-`))
  const kubeconfig = join(dir, 'kubeconfig')
  writeFileSync(kubeconfig, kubeconfigFor(`http://${host}`), { mode: 0o600 })
  let out = ''
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      PATH: process.env.PATH, HOME: dir,
      KUBE_MODE: 'kubeconfig', KUBECONFIG: kubeconfig, JWT_SECRET: TEST_JWT_SECRET, PORT: '0', HOST: '127.0.0.1',
      POD_NAME: name, POD_NAMESPACE: 'streamspace', LOG_LEVEL: 'info', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const keep = (d: Buffer) => { out = (out + d.toString()).slice(-LOG_TAIL) }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const close = async () => {
    for (const s of fwd.sockets) s.destroy()
    await new Promise<void>((resolve) => fwd.server.close(() => resolve()))
  }
  try {
    const url = await listeningUrl(name, () => out, () => child.exitCode, 120_000)
    const deadline = Date.now() + 120_000
    while (!(await fetch(`${url}/readyz`).catch(() => undefined))?.ok) {
      if (child.exitCode !== null) throw new Error(`${name} exited: ${out}`)
      if (Date.now() > deadline) throw new Error(`${name} not ready after 120 s: ${out}`)
      await new Promise((r) => setTimeout(r, 200))
    }
    return { name, host, url, child, exited, log: () => out, close }
  } catch (err) {
    child.kill('SIGKILL')
    await exited
    await close()
    throw err
  }
}
