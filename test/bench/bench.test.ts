// `npm run bench -- --quick` in the suite: the benchmark runs end to end on a small cluster and
// writes every figure issue 16 names. No speed is asserted here (the machine is shared and the
// cluster tiny); the figures themselves come from a full run on a quiet machine (docs/benchmarks.md).
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { KEYS } from './keys.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

t.test('npm run bench -- --quick writes every figure, each a finite number', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'quick.json')
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/bench/run.ts'), '--quick', '--json', out], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout.on('data', (d) => { log += d })
  child.stderr.on('data', (d) => { log += d })
  const code = await new Promise<number | null>((res) => child.once('exit', res))
  t.equal(code, 0, `bench exits 0\n${log.slice(-4000)}`)
  const result = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>
  for (const key of KEYS) {
    const v = result[key]
    t.ok(typeof v === 'number' && Number.isFinite(v), `${key} is a finite number (got ${JSON.stringify(v)})`)
  }
  t.ok(Number(result.nodes) > 0 && Number(result.pods) > 0, 'the cluster had nodes and pods')
  t.equal(result.apiserver_lists_during_load, 0, 'no LIST of nodes or pods reached the API server during the load')
  t.match(log, /GET \/nodes req\/s vs bare node:http/, 'the table of ratios is printed')
})
