// JWT secret rotation without a restart (JWT_SECRET_FILE, src/plugins/jwt-secrets.ts): the file
// re-read when it changes, also when Kubernetes swaps a mounted Secret's `..data` symlink; tokens
// signed with the previous secret pass for the grace (JWT_SECRET_GRACE_SECONDS) and are refused
// after it (a fake clock moved past it); a too short or unreadable new secret keeps the current one.
// The cluster is the simulator (auth never touches it).
import t, { type Test } from 'tap'
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBackend, type Backend } from '../helpers/backend.js'
import { makeToken, startService, TEST_JWT_SECRET, waitFor, type Service } from '../helpers/service.js'
import { apiAt, startProcess } from '../helpers/process.js'
import { FakeClock } from '../helpers/clock.js'
import { loadConfig } from '../../src/config.js'
import { JwtSecrets, readSecretFile } from '../../src/plugins/jwt-secrets.js'
import { spawnSync } from 'node:child_process'

const SECRET_B = 'second-secret-after-the-streamspace-upgrade'
const SECRET_C = 'third-secret-after-yet-another-upgrade-xyz'
const GRACE_S = 300

/** A directory laid out as the kubelet mounts a Secret: key -> ..data/key, ..data -> ..<timestamp>/. */
class MountedSecret {
  readonly dir = mkdtempSync(join(tmpdir(), 'jwt-mount-'))
  readonly file = join(this.dir, 'jwt-secret')
  private version = 0
  private current: string | undefined

  constructor(secret: string) {
    this.swap(secret)
    symlinkSync('..data/jwt-secret', this.file)
  }

  /** What the kubelet's AtomicWriter does: a new timestamped directory, ..data_tmp renamed over ..data, the old directory removed. */
  swap(secret: string): void {
    const next = `..2026_12_05_00_00_0${this.version++}.${process.pid}`
    mkdirSync(join(this.dir, next))
    writeFileSync(join(this.dir, next, 'jwt-secret'), secret)
    symlinkSync(next, join(this.dir, '..data_tmp'))
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'))
    if (this.current) rmSync(join(this.dir, this.current), { recursive: true })
    this.current = next
  }
}

let backend: Backend
t.before(async () => { backend = await startBackend('sim') })
t.teardown(async () => { await backend?.close() })

async function serviceOn(t: Test, file: string, clock: FakeClock, log: string[]): Promise<Service> {
  const config = loadConfig({ JWT_SECRET_FILE: file, JWT_SECRET_GRACE_SECONDS: String(GRACE_S), LOG_LEVEL: 'info' })
  const svc = await startService(backend.kc, { config, clock, logStream: { write: (l: string) => { log.push(l) } } })
  t.teardown(() => svc.close())
  return svc
}

const status = async (svc: Service, token: string) => (await svc.api('/nodes', { token })).status

t.test('JwtSecrets: the previous secret is valid for the grace, then only the current one', async (t) => {
  const clock = new FakeClock()
  const secrets = new JwtSecrets('a'.repeat(32), 1000, clock)
  t.same(secrets.valid().map((k) => k.secret), ['a'.repeat(32)])
  t.equal(secrets.rotate('a'.repeat(32)), false, 'the same secret again: no rotation')
  t.equal(secrets.rotate('b'.repeat(32)), true)
  const [current, previous] = secrets.valid()
  t.same([current!.secret, previous!.secret], ['b'.repeat(32), 'a'.repeat(32)], 'current first, then the previous one')
  clock.advance(999)
  t.ok(secrets.accepts(previous!.id), 'within the grace')
  clock.advance(1)
  t.notOk(secrets.accepts(previous!.id), 'grace over')
  t.same(secrets.valid().map((k) => k.secret), ['b'.repeat(32)])
  const noGrace = new JwtSecrets('a'.repeat(32), 0, clock)
  noGrace.rotate('b'.repeat(32))
  t.same(noGrace.valid().map((k) => k.secret), ['b'.repeat(32)], 'grace 0: the old secret stops at once')
})

t.test('readSecretFile: a trailing newline is not part of the secret; short or missing files are refused with why', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-file-'))
  writeFileSync(join(dir, 's'), `${TEST_JWT_SECRET}\n`)
  t.same(readSecretFile(join(dir, 's')), { secret: TEST_JWT_SECRET })
  writeFileSync(join(dir, 's'), 'short')
  t.match(readSecretFile(join(dir, 's')), { problem: /holds 5 characters, at least 32/ })
  t.match(readSecretFile(join(dir, 'missing')), { problem: /JWT_SECRET_FILE \(.*missing\) cannot be read/ })
})

t.test('JWT_SECRET and JWT_SECRET_FILE together are refused, naming both', async (t) => {
  t.throws(() => loadConfig({ JWT_SECRET: TEST_JWT_SECRET, JWT_SECRET_FILE: '/x' }), /JWT_SECRET and JWT_SECRET_FILE are both set/)
  t.throws(() => loadConfig({ JWT_SECRET_FILE: '/x', JWT_SECRET_GRACE_SECONDS: '-1' }), /JWT_SECRET_GRACE_SECONDS must be an integer from 0 to 86400/)
})

t.test('a running service follows the mounted Secret through two ..data swaps; old tokens pass within the grace and fail after it', async (t) => {
  const mount = new MountedSecret(TEST_JWT_SECRET)
  const clock = new FakeClock(Date.now())
  const log: string[] = []
  const svc = await serviceOn(t, mount.file, clock, log)
  const oldToken = makeToken()
  const tokenB = makeToken({ secret: SECRET_B })
  t.equal(await status(svc, oldToken), 200, 'the secret at start')
  t.equal(await status(svc, tokenB), 401, 'a token of a secret not yet mounted')

  mount.swap(SECRET_B)
  // Seen through the directory watch: the fake clock has not moved, so no poll ran.
  await waitFor(async () => await status(svc, tokenB) === 200, 10_000, 'a token signed with the new secret to pass')
  t.equal(await status(svc, makeToken({ secret: SECRET_B })), 200, 'new tokens pass, no restart')
  t.equal(await status(svc, oldToken), 200, 'a token of the previous secret passes within the grace (its cached verification too)')
  t.equal(await status(svc, makeToken()), 200, 'a fresh token of the previous secret too')
  clock.advance(GRACE_S * 1000 - 1)
  t.equal(await status(svc, makeToken()), 200, 'still within the grace, 1 ms before its end')
  clock.advance(1)
  t.equal(await status(svc, oldToken), 401, 'grace over: the previous secret\'s token is refused')
  t.equal(await status(svc, makeToken()), 401, 'and so is any other token of it')
  t.equal(await status(svc, tokenB), 200, 'the current secret\'s token still passes')
  t.ok(log.some((l) => l.includes('JWT secret changed')), 'the change is logged')

  // A second swap: a watch on the first file itself would now watch a deleted file.
  const tokenC = makeToken({ secret: SECRET_C })
  mount.swap(SECRET_C)
  await waitFor(async () => await status(svc, tokenC) === 200, 10_000, 'a token signed with the third secret to pass')
  t.equal(await status(svc, tokenB), 200, 'the second secret is now the previous one, within its grace')
})

t.test('a secret file edited in place is followed too; a too short or removed secret keeps the current one and says why', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-plain-'))
  const file = join(dir, 'jwt-secret')
  writeFileSync(file, TEST_JWT_SECRET)
  const clock = new FakeClock(Date.now())
  const log: string[] = []
  const svc = await serviceOn(t, file, clock, log)
  writeFileSync(file, `${SECRET_B}\n`)
  const tokenB = makeToken({ secret: SECRET_B })
  await waitFor(async () => await status(svc, tokenB) === 200, 10_000, 'the edited secret to be used')

  writeFileSync(file, 'too-short')
  await waitFor(() => log.some((l) => l.includes('holds 9 characters, at least 32 are needed: the current JWT secret is kept')), 10_000, 'the refusal in the log')
  t.equal(await status(svc, tokenB), 200, 'the current secret is kept')
  t.equal(await status(svc, makeToken({ secret: 'too-short'.padEnd(32, '-') })), 401, 'nothing else took its place')

  rmSync(file)
  await waitFor(() => log.some((l) => l.includes('cannot be read') && l.includes('the current JWT secret is kept')), 10_000, 'the missing file in the log')
  t.equal(await status(svc, tokenB), 200, 'still the current secret')
  t.equal(log.filter((l) => l.includes('cannot be read')).length, 1, 'said once, not on every look')
})

t.test('the process reads JWT_SECRET_FILE at start and refuses to start on an unreadable one', async (t) => {
  const mount = new MountedSecret(SECRET_B)
  const proc = await startProcess(t, backend, 'jwt-file', { JWT_SECRET: '', JWT_SECRET_FILE: mount.file })
  const ok = await apiAt(proc.url, '/nodes', { token: makeToken({ secret: SECRET_B }) })
  t.equal(ok.status, 200, 'a token of the file\'s secret passes')
  proc.child.kill('SIGTERM')
  await proc.exited

  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH, KUBE_MODE: 'kubeconfig', KUBECONFIG: backend.kubeconfigPath, JWT_SECRET_FILE: join(mount.dir, 'nope'), PORT: '0' },
    encoding: 'utf8', timeout: 60_000,
  })
  t.equal(run.status, 2, 'refuses to start')
  t.match(run.stderr, /refuses to start: JWT_SECRET_FILE \(.*nope\) cannot be read/)
})
