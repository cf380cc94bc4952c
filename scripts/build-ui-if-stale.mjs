/* global URL, process, console */
// npm start's first step: builds the admin UI (dist/ui) when it is missing or older than its
// sources, so `npm ci && npm start` on a fresh clone serves a working UI at once.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const root = new URL('..', import.meta.url).pathname
const built = join(root, 'dist/ui/index.html')

function newest(path) {
  const s = statSync(path)
  if (!s.isDirectory()) return s.mtimeMs
  return Math.max(0, ...readdirSync(path).map((f) => newest(join(path, f))))
}

// The UI also compiles the server's validation, quantity and schema modules it imports.
const sources = ['src/ui', 'src/nodes/validation.ts', 'src/kube/quantity.ts', 'src/schemas', 'src/errors.ts', 'package-lock.json']
const sourceTime = Math.max(...sources.map((p) => join(root, p)).filter(existsSync).map(newest))
if (existsSync(built) && statSync(built).mtimeMs >= sourceTime) process.exit(0)
console.error(existsSync(built) ? 'admin UI sources changed: rebuilding dist/ui' : 'admin UI not built yet: building dist/ui (about 30 s)')
const r = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'src/ui/vite.config.ts'], { cwd: root, stdio: 'inherit' })
process.exit(r.status ?? 1)
