// A real redis-server (Debian's package, installed by scripts/setup-redis.sh) on a free loopback
// port, standing in for StreamSpace's session store. stop() and start() again keep the port, so a
// client configured with the URL sees the store go away and come back; SIGSTOP/SIGCONT freeze it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'

export function redisServerPath(): string {
  for (const p of [process.env.REDIS_SERVER, '/usr/bin/redis-server', '/usr/local/bin/redis-server']) {
    if (p && existsSync(p)) return p
  }
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' })
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim()
  throw new Error('redis-server not found: run scripts/setup-redis.sh (npm test does)')
}

/** Sends one inline command and returns the first reply line (enough for PING, SET, DEL, EXISTS). */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1')
    let buf = ''
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`redis ${args[0]}: no answer in 5 s`)) }, 5000)
    sock.on('error', (err) => { clearTimeout(timer); reject(err) })
    sock.on('data', (d) => {
      buf += d.toString()
      const nl = buf.indexOf('\r\n')
      if (nl >= 0) { clearTimeout(timer); sock.end(); resolve(buf.slice(0, nl)) }
    })
    // RESP array of bulk strings: safe for any key.
    sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
  })
}

export class RedisServer {
  private child?: ChildProcess
  private readonly dir = mkdtempSync(join(tmpdir(), 'redis-'))
  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const r = new RedisServer(await freePort())
    await r.start()
    return r
  }

  get url(): string { return `redis://127.0.0.1:${this.port}` }
  get pid(): number | undefined { return this.child?.pid }

  async start(): Promise<void> {
    if (this.child) return
    // Data persists across stop/start in its own directory, as StreamSpace's Redis keeps sessions.
    const child = spawn(redisServerPath(), [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir,
      '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--daemonize', 'no', '--loglevel', 'warning',
    ], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr!.on('data', (d) => { stderr += d.toString() })
    this.child = child
    const deadline = Date.now() + 10_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${stderr}`)
      try {
        if ((await redisCommand(this.port, 'PING')) === '+PONG') return
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on ${this.port} within 10 s: ${stderr}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child
    if (!child) return
    this.child = undefined
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGCONT')
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  /** Freezes the server: it keeps its port open but answers nothing. */
  freeze(): void { this.child?.kill('SIGSTOP') }
  thaw(): void { this.child?.kill('SIGCONT') }

  set(key: string, value: string): Promise<string> { return redisCommand(this.port, 'SET', key, value) }
  del(key: string): Promise<string> { return redisCommand(this.port, 'DEL', key) }

  async close(): Promise<void> {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}
