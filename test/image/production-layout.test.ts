// The production layout starts: this does what the Dockerfile's stages do (their COPY and RUN
// steps, read from the Dockerfile) in a temporary copy, then runs the runtime stage's command,
// `node dist/server.js`, from a folder holding only what the image holds, against the simulated
// cluster over a kubeconfig, and reaches /readyz. No tsx, no TypeScript: compiled JavaScript and
// production dependencies only.
import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startSim } from '../../src/sim/index.js'
import { API_PREFIX, makeToken, TEST_JWT_SECRET, waitFor } from '../helpers/service.js'
import { listeningUrl } from '../helpers/ports.js'
import { envPairs, parseDockerfile } from '../helpers/dockerfile.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
t.setTimeout(900_000) // two npm ci and a tsc build on a busy 2-core machine


/**
 * The build context as docker sends it: .dockerignore patterns, last match wins, `!` re-includes,
 * a pattern matching a folder covers what is in it.
 */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => {
    const negate = l.startsWith('!')
    const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '')
    const re = new RegExp('^' + pattern.split(/(\*\*|\*|\?)/).map((part) =>
      part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('') + '$')
    return { negate, re }
  })
  return (path: string) => {
    const parts = path.split('/')
    let excluded = false
    for (const { negate, re } of rules) {
      for (let i = 1; i <= parts.length; i++) {
        if (re.test(parts.slice(0, i).join('/'))) { excluded = !negate; break }
      }
    }
    return !excluded
  }
}

/** Copies `source` (a file or folder under repoRoot) to `target`, only what the build context holds. */
function copyFromContext(included: (path: string) => boolean, rel: string, target: string): number {
  const source = join(repoRoot, rel)
  if (!statSync(source).isDirectory()) {
    if (!included(rel)) return 0
    mkdirSync(dirname(target), { recursive: true })
    cpSync(source, target)
    return 1
  }
  let n = 0
  for (const entry of readdirSync(source)) n += copyFromContext(included, `${rel}/${entry}`, join(target, entry))
  return n
}

function du(dir: string): number {
  const out = spawnSync('du', ['-sb', dir], { encoding: 'utf8' })
  return Number(out.stdout.split(/\s/)[0])
}

t.test('the Dockerfile\'s stages, replayed in a temporary copy, start node dist/server.js', async (t) => {
  const stages = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'))
  t.same(stages.map((s) => s.name), ['build', 'deps', 'runtime'])
  const runtime = stages.at(-1)!
  t.match(runtime.from, /distroless\/nodejs22|node:22/, 'a Node 22 runtime')
  t.same(runtime.cmd, ['--max-semi-space-size=2', '--expose-gc', '--no-allocation-site-pretenuring', 'dist/server.js'], 'the distroless entrypoint is node: the image runs node --max-semi-space-size=2 --expose-gc --no-allocation-site-pretenuring dist/server.js (a small young generation, the heap held near what it keeps once synced, no pretenuring: docs/benchmarks.md)')
  t.ok(runtime.steps.some((s) => s.op === 'ENV' && /\bMALLOC_MMAP_THRESHOLD_=131072\b/.test(s.args)), 'large buffers given back to the system when freed (docs/benchmarks.md)')
  t.notOk(runtime.steps.some((s) => s.op === 'RUN'), 'the runtime stage runs nothing (distroless has no shell)')
  t.ok(stages.find((s) => s.name === 'deps')!.steps.some((s) => s.op === 'RUN' && /npm ci --omit=dev/.test(s.args)), 'production dependencies with npm ci --omit=dev')

  const included = dockerignore(readFileSync(join(repoRoot, '.dockerignore'), 'utf8'))
  t.notOk(included('node_modules/fastify/package.json') || included('.git/config') || included('test/chart/chart.test.ts') || included('.cache/helm/bin'), '.dockerignore keeps node_modules, .git, tests and caches out of the context')
  t.ok(included('src/server.ts') && included('package-lock.json') && !included('src/kube/x.test.ts') && !included('README.md'), '...and lets src/ and the package files in')
  const root = mkdtempSync(join(tmpdir(), 'image-layout-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const dirs = new Map<string, string>()
  for (const stage of stages) {
    t.equal(stage.workdir, '/app', `${stage.name}: WORKDIR /app`)
    const dir = join(root, stage.name)
    mkdirSync(dir)
    dirs.set(stage.name, dir)
    const env: NodeJS.ProcessEnv = {}
    for (const step of stage.steps) {
      if (step.op === 'ENV') {
        Object.assign(env, envPairs(step.args))
      } else if (step.op === 'COPY') {
        const words = step.args.split(/\s+/)
        const from = words[0].startsWith('--from=') ? words.shift()!.slice('--from='.length) : undefined
        const dest = words.pop()!
        for (const src of words) {
          const target = dest.endsWith('/') ? join(dir, dest, src.split('/').pop()!) : join(dir, dest)
          if (from) {
            const source = join(dirs.get(from)!, src.replace(/^\/app\/?/, ''))
            t.ok(existsSync(source), `${stage.name}: COPY --from=${from} ${src}`)
            cpSync(source, target, { recursive: true, verbatimSymlinks: true })
          } else {
            // From the build context: what .dockerignore lets through, nothing else.
            t.ok(copyFromContext(included, src, target) > 0, `${stage.name}: COPY ${src} (in the build context)`)
          }
        }
      } else {
        const started = Date.now()
        const run = spawnSync('sh', ['-c', step.args], {
          cwd: dir,
          encoding: 'utf8',
          env: { ...process.env, ...env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
          timeout: 600_000,
        })
        t.equal(run.status, 0, `${stage.name}: RUN ${step.args} (${Math.round((Date.now() - started) / 1000)} s)${run.status === 0 ? '' : '\n' + run.stdout.slice(-2000) + run.stderr.slice(-2000)}`)
        if (run.status !== 0) return
      }
    }
  }

  const app = dirs.get('runtime')!
  t.same(readdirSync(app).sort(), ['dist', 'node_modules', 'package.json'], 'the image holds only dist, node_modules and package.json')
  t.ok(existsSync(join(app, 'dist/server.js')), 'dist/server.js is there')
  for (const dev of ['tsx', 'typescript', 'tap', 'esbuild', '@tapjs/core']) {
    t.notOk(existsSync(join(app, 'node_modules', dev)), `no ${dev} in production node_modules`)
  }
  t.notOk(existsSync(join(app, 'dist/src')) || existsSync(join(app, 'dist/test')), 'dist is the compiled src/ alone')
  const leftovers = spawnSync('find', [join(app, 'node_modules'), '-type', 'f', '(', '-name', '*.map', '-o', '-name', '*.d.ts', ')'], { encoding: 'utf8' }).stdout.trim()
  t.equal(leftovers, '', 'no type declarations or source maps in node_modules')
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
  t.comment(`image content besides the Node runtime: node_modules ${mb(du(join(app, 'node_modules')))}, dist ${mb(du(join(app, 'dist')))}`)

  // The simulated cluster, reached over a kubeconfig as a real one would be.
  const sim = await startSim({ nodes: 3, podsPerNode: 2 })
  t.teardown(() => sim.close())
  const kubeconfig = join(root, 'kubeconfig')
  await sim.writeKubeconfig(kubeconfig)
  let output = ''
  const child: ChildProcess = spawn(process.execPath, runtime.cmd!, {
    cwd: app,
    // Only what the image and the chart give it: no npm, no tsx, no dev tools on the way.
    env: { PATH: '/usr/bin:/bin', NODE_ENV: 'production', KUBE_MODE: 'kubeconfig', KUBECONFIG: kubeconfig, JWT_SECRET: TEST_JWT_SECRET, HOST: '127.0.0.1', PORT: '0', POD_NAMESPACE: 'streamspace' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { output += d.toString() })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const base = await listeningUrl('node dist/server.js', () => output, () => child.exitCode)
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`node dist/server.js exited ${child.exitCode}:\n${output}`)
    return (await fetch(`${base}/readyz`)).status === 200
  }, 60_000, `/readyz of node dist/server.js (output so far:\n${output})`)
  t.pass('/readyz answers 200')
  t.equal((await fetch(`${base}/healthz`)).status, 200)
  t.equal((await fetch(`${base}/metrics`)).status, 200, '/metrics')
  const docs = await fetch(`${base}/docs`)
  t.equal(docs.status, 200, 'Swagger UI (/docs) from the pruned node_modules')
  t.match(await docs.text(), /swagger/i)
  t.equal((await fetch(`${base}/docs/static/swagger-ui-bundle.js`)).status, 200, 'its script is served')
  t.equal((await fetch(`${base}/docs/json`)).status, 200, 'the OpenAPI document')
  const res = await fetch(`${base}${API_PREFIX}/nodes`, { headers: { authorization: `Bearer ${makeToken()}` } })
  t.equal(res.status, 200)
  t.equal(((await res.json()) as unknown[]).length, 3, 'it serves the cluster\'s nodes')
  t.match(output, /connected to Kubernetes/, 'it logs where the cluster is')
  t.match(output, /"gcMs":\d+.*caches synced: one full compacting GC, the heap now grows at most 10% past what a GC keeps/, 'once synced, the heap\'s growth is held (gc exposed by the image\'s flags)')
  t.notMatch(output, /SIMULATED CLUSTER/, 'a kubeconfig cluster, not the embedded simulator')

  // SIGTERM, as Kubernetes sends: it closes well within its 10 s grace.
  const stopAt = Date.now()
  child.kill('SIGTERM')
  const code = await exited
  t.equal(code, 0, 'exits 0 on SIGTERM')
  t.ok(Date.now() - stopAt < 10_000, `closed in ${Date.now() - stopAt} ms`)

  // The chart's pre-delete hook Job runs `node dist/cleanup.js` (the same entrypoint): from the image alone.
  t.ok(existsSync(join(app, 'dist/cleanup.js')), 'dist/cleanup.js is there')
  const cleanup = spawn(process.execPath, ['dist/cleanup.js'], {
    cwd: app,
    env: { PATH: '/usr/bin:/bin', NODE_ENV: 'production', KUBE_MODE: 'kubeconfig', KUBECONFIG: kubeconfig, POD_NAMESPACE: 'streamspace', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let cleanupOutput = ''
  cleanup.stdout.on('data', (d: Buffer) => { cleanupOutput += d.toString() })
  cleanup.stderr.on('data', (d: Buffer) => { cleanupOutput += d.toString() })
  t.equal(await new Promise<number | null>((r) => cleanup.once('exit', (c) => r(c))), 0, `node dist/cleanup.js exits 0:\n${cleanupOutput}`)
  t.match(cleanupOutput, /^cleanup: \d+ removed, 0 left, 0 failed$/m, 'it says what it removed')
})
