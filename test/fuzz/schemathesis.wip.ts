// WORK IN PROGRESS, not run by tap (not *.test.ts): the full run takes over 8 minutes on the shared
// machine (the fuzzing phase, likely the waiting compat drain and the SSE route); rename to
// schemathesis.test.ts once its run time is cut (fewer examples for those two, or exclude them).
// Contract fuzzing: schemathesis (installed by scripts/setup-schemathesis.sh into .cache/schemathesis/venv)
// generates requests for every operation in openapi/openapi.json and sends them, with an admin token,
// to the live service built in-process on the simulated demo cluster. Fixed seed, at least 1,000
// requests in all. Any 5xx, any status code the spec does not document, any response whose content
// type, body or headers do not conform to the spec fails the test, with schemathesis' summary printed.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import t from 'tap'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import { makeToken, startService } from '../helpers/service.js'

const root = resolve(import.meta.dirname, '../..')
const st = resolve(root, '.cache/schemathesis/venv/bin/st')
const SEED = 20261128
// Per operation and phase: with the examples, coverage, fuzzing and stateful phases over the 29
// operations this generates about 1,400 requests (the test checks for at least 1,000).
const MAX_EXAMPLES = 20
const CHECKS = [
  'not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_schema_conformance',
  'response_headers_conformance', 'unsupported_method',
]

// About 3 minutes on a quiet machine; the suite's 300 s per file is too tight on a loaded one.
t.setTimeout(600_000)

if (!existsSync(st)) throw new Error(`schemathesis is not installed at ${st}: run bash scripts/setup-schemathesis.sh`)

const sim = await startSim({ podTerminateSeconds: 1 })
const kc = new KubeConfig()
kc.loadFromString(sim.kubeconfig())
const svc = await startService(kc)
t.teardown(async () => {
  await svc.close()
  await sim.close()
})

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(st, args, { cwd: root, env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false', PYTHONUNBUFFERED: '1' } })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    child.on('error', fail)
    child.on('close', (code) => done({ code, out }))
  })
}

t.test('schemathesis finds no contract violation in any operation', async (t) => {
  const { code, out } = await run([
    'run', 'openapi/openapi.json',
    '--url', svc.url,
    '--header', `Authorization: Bearer ${makeToken({ role: 'admin' })}`,
    '--checks', CHECKS.join(','),
    '--seed', String(SEED),
    '--max-examples', String(MAX_EXAMPLES),
    // The StreamSpace-compatible drain waits for the drain's outcome; nothing else comes near this.
    '--request-timeout', '20',
    '--workers', '1',
    '--generation-database', 'none', // nothing carried over between runs: the seed alone decides
    '--no-color',
  ])
  // On failure: from the FAILURES / ERRORS sections on, which end with the SUMMARY.
  const first = ['ERRORS', 'FAILURES', 'SUMMARY'].map((h) => out.indexOf(`= ${h} =`)).filter((i) => i >= 0)
  const summary = first.length ? out.slice(Math.max(0, out.lastIndexOf('\n', Math.min(...first)))) : out
  const cases = Number(/(\d+) generated/.exec(out)?.[1] ?? NaN)
  t.comment(`schemathesis ${SEED}: ${Number.isNaN(cases) ? 'unknown number of' : cases} test cases, exit code ${code}`)
  if (code !== 0) t.comment(summary || out)
  t.equal(code, 0, 'schemathesis reports no failure')
  t.ok(cases >= 1000, `at least 1,000 generated requests (${cases})`)
})
