// npm run bench: runs every benchmark in this folder, one after another, each in its own process
// (so one's memory and JIT state do not colour the next). Each prints its own figures and ratios.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const benches = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'run.ts' && (only.length === 0 || only.some((o) => f.includes(o)))).sort()
let failed = 0
for (const file of benches) {
  console.log(`\n=== ${file} ===`)
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(dir, file)], { stdio: 'inherit' })
  if (run.status !== 0) failed++
}
process.exit(failed ? 1 : 0)
