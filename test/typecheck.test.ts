import t from 'tap'
import { spawnSync } from 'node:child_process'

t.test('the project typechecks (tsc --noEmit, strict)', async (t) => {
  const run = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'tsconfig.json'], { encoding: 'utf8' })
  t.equal(run.status, 0, run.stdout + run.stderr)
})

t.test('the admin UI typechecks (src/ui has its own tsconfig: DOM, JSX, bundler resolution)', async (t) => {
  const run = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'src/ui/tsconfig.json'], { encoding: 'utf8' })
  t.equal(run.status, 0, run.stdout + run.stderr)
})
