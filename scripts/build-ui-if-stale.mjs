/* global URL, process, console */
// npm start's first step: builds the admin UI (dist/ui) when it is missing or older than its
// sources, so `npm ci && npm start` on a fresh clone serves a working UI at once. The browser
// tests call it too; a lock keeps two of them from building into dist/ui at the same time.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const root = new URL('..', import.meta.url).pathname
const built = join(root, 'dist/ui/index.html')
const lock = join(root, 'dist/.ui-build.lock')

function newest(path) {
  const s = statSync(path)
  if (!s.isDirectory()) return s.mtimeMs
  return Math.max(0, ...readdirSync(path).map((f) => newest(join(path, f))))
}

// The UI takes only types from the service's wire shapes (src/schemas, erased in the build) and the
// pure rules of src/shared (bundled): those, its own folder and its dependencies decide the bundle.
const sources = ['src/ui', 'src/shared', 'package-lock.json']
const fresh = () => existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map((p) => join(root, p)).filter(existsSync).map(newest))
if (fresh()) process.exit(0)

mkdirSync(join(root, 'dist'), { recursive: true })
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
for (;;) {
  try {
    mkdirSync(lock)
    break
  } catch {
    // Another build runs: wait for it (a lock older than 5 minutes was left by a killed build).
    try { if (Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true }) } catch { /* gone */ }
    sleep(200)
  }
}
let status = 0
try {
  if (!fresh()) {
    console.error(existsSync(built) ? 'admin UI sources changed: rebuilding dist/ui' : 'admin UI not built yet: building dist/ui (about 30 s)')
    const r = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'src/ui/vite.config.ts'], { cwd: root, stdio: 'inherit' })
    status = r.status ?? 1
  }
} finally {
  rmSync(lock, { recursive: true, force: true })
}
process.exit(status)
