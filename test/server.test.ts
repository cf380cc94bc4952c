// The process as operators run it: refusal on bad settings, the embedded simulator with a demo
// token, request ids in JSON logs without tokens, graceful SIGTERM.
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TEST_JWT_SECRET, waitFor } from './helpers/service.js'

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function startServer(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'home-')), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => { stdout += d })
  child.stderr.on('data', (d) => { stderr += d })
  const done = new Promise<Run>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })))
  return { child, done, out: () => stdout + stderr }
}

async function waitOutput(get: () => string, re: RegExp, ms = 30_000): Promise<RegExpMatchArray> {
  let m: RegExpMatchArray | null = null
  await waitFor(() => (m = get().match(re)) !== null, ms, `${re} in the output`).catch((err) => { throw new Error(`${(err as Error).message}:\n${get()}`) })
  return m!
}

t.test('refuses to start on invalid settings, naming them', async (t) => {
  const run = await startServer({ SCALE_UP_THRESHOLD: '120', KUBE_MODE: 'simulated' }).done
  t.equal(run.code, 2)
  t.match(run.stderr, /refuses to start.*\n.*scaleUpThreshold must be a number from 50 to 95 \(got 120\)/)
})

t.test('refuses to start without JWT_SECRET on a real cluster', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-'))
  const kubeconfig = join(dir, 'config')
  writeFileSync(kubeconfig, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user: { token: 'x' } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
  }))
  const run = await startServer({ KUBE_MODE: 'kubeconfig', KUBECONFIG: kubeconfig }).done
  t.equal(run.code, 2)
  t.match(run.stderr, /JWT_SECRET must be set/)
})

t.test('embedded simulator: demo token works, JSON logs carry request ids and no tokens, SIGTERM closes', async (t) => {
  const server = startServer({ KUBE_MODE: 'auto', PORT: '0', HOST: '127.0.0.1', JWT_SECRET: TEST_JWT_SECRET })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const [, api] = await waitOutput(server.out, /^ API: +(\S+)/m)
  const [, token] = await waitOutput(server.out, /Admin token \(12 h\):\n (\S+)/)
  t.match(server.out(), /EMBEDDED SIMULATED CLUSTER/)
  let res: Response | undefined
  await waitFor(async () => (res = await fetch(api, { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'trace-abc-123' } })).status === 200, 10_000, 'the API to answer 200')
  t.equal(res!.status, 200)
  t.equal(res!.headers.get('x-request-id'), 'trace-abc-123')
  t.ok((await res!.json()).length >= 3, 'demo cluster nodes listed')
  server.child.kill('SIGTERM')
  const run = await server.done
  t.equal(run.code, 0, 'clean exit on SIGTERM')
  const logs = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
  t.ok(logs.some((l) => l.reqId === 'trace-abc-123' && l.req?.url), 'request logged with the X-Request-ID')
  t.notOk(run.stdout.includes(token), 'the token never appears in the JSON logs')
  t.ok(logs.some((l) => /shutting down/.test(l.msg)), 'shutdown logged')
})
