// The layer rules (.dependency-cruiser.cjs, DESIGN.md "Layout") and the linter (eslint.config.js)
// run in the suite: any violation fails this test with the tool's own report.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')
const DEPCRUISE = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs')
const ESLINT = join(root, 'node_modules/eslint/bin/eslint.js')
const CONFIG = join(root, '.dependency-cruiser.cjs')
const KNOWN = join(root, '.dependency-cruiser-known-violations.json')

function depcruise(cwd: string, args: string[]) {
  const run = spawnSync(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', 'err', ...args], { cwd, encoding: 'utf8' })
  return { status: run.status, output: run.stdout + run.stderr }
}

t.test('the code keeps the layer rules (dependency-cruiser)', async (t) => {
  const known = existsSync(KNOWN) ? ['--ignore-known', KNOWN] : []
  const run = depcruise(root, [...known, 'src', 'scripts', 'test'])
  t.equal(run.status, 0, run.output)
})

t.test('the code passes the linter (eslint)', async (t) => {
  const run = spawnSync(process.execPath, [ESLINT, '--max-warnings', '0', '.'], { cwd: root, encoding: 'utf8' })
  t.equal(run.status, 0, run.stdout + run.stderr)
})

/** A throwaway project holding the given files, cruised with our config. */
function cruiseFixture(t: Test, files: Record<string, string>) {
  const dir = t.testdir({})
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return depcruise(dir, ['src'])
}

// Each rule is shown to fire on the import it forbids, so a config typo cannot silently pass all.
const bad: Array<{ rule: string; from: string; to: string; importText: string }> = [
  { rule: 'kube-knows-no-room-above-it', from: 'src/kube/cache.ts', to: 'src/nodes/read-model.ts', importText: "import { x } from '../nodes/read-model.js'" },
  { rule: 'kube-knows-no-room-above-it', from: 'src/kube/connect.ts', to: 'src/sim/index.ts', importText: "import { x } from '../sim/index.js'" },
  { rule: 'only-server-starts-the-sim', from: 'src/app.ts', to: 'src/sim/index.ts', importText: "import { x } from './sim/index.js'" },
  { rule: 'domain-rooms-stay-below-http', from: 'src/health/monitor.ts', to: 'src/schemas/node.ts', importText: "import { x } from '../schemas/node.js'" },
  { rule: 'routes-reach-the-cluster-through-the-domain', from: 'src/routes/nodes.ts', to: 'src/kube/types.ts', importText: "import type { x } from '../kube/types.js'" },
  { rule: 'sim-imports-nothing-of-the-product', from: 'src/sim/store.ts', to: 'src/kube/quantity.ts', importText: "import { x } from '../kube/quantity.js'" },
  { rule: 'shared-helpers-import-nothing-of-the-product', from: 'src/errors.ts', to: 'src/kube/errors.ts', importText: "import { x } from './kube/errors.js'" },
  { rule: 'schemas-are-wire-shapes-only', from: 'src/schemas/node.ts', to: 'src/kube/types.ts', importText: "import type { x } from '../kube/types.js'" },
  { rule: 'plugins-and-app-below-the-composition-root', from: 'src/plugins/kube.ts', to: 'src/server.ts', importText: "import { x } from '../server.js'" },
  { rule: 'no-circular', from: 'src/nodes/a.ts', to: 'src/nodes/b.ts', importText: "import { x } from './b.js'" },
  { rule: 'domain-rooms-know-no-fastify', from: 'src/drain/run.ts', to: 'node_modules/fastify/index.js', importText: "import x from 'fastify'" },
  { rule: 'shared-modules-are-pure', from: 'src/shared/rules.ts', to: 'src/errors.ts', importText: "import { x } from '../errors.js'" },
  { rule: 'shared-modules-are-pure', from: 'src/shared/uses-fs.ts', to: 'fs', importText: "import { readFileSync as x } from 'node:fs'" },
  { rule: 'shared-modules-are-pure', from: 'src/shared/uses-a-package.ts', to: 'node_modules/fastify/index.js', importText: "import x from 'fastify'" },
  { rule: 'ui-is-a-separate-app', from: 'src/ui/page.ts', to: 'src/nodes/validation.ts', importText: "import { x } from '../nodes/validation.js'" },
  { rule: 'client-node-only-in-kube', from: 'src/drain/plan.ts', to: 'node_modules/@kubernetes/client-node/dist/index.js', importText: "import { ApiException as x } from '@kubernetes/client-node'" },
]

// Stand-ins for the two packages the rules name, so the fixture resolves them as npm modules.
const PACKAGES: Record<string, string> = {
  'node_modules/fastify/package.json': JSON.stringify({ name: 'fastify', version: '5.0.0', main: 'index.js' }),
  'node_modules/fastify/index.js': 'module.exports = {}\n',
  'node_modules/@kubernetes/client-node/package.json': JSON.stringify({ name: '@kubernetes/client-node', version: '2.0.0', main: 'dist/index.js' }),
  'node_modules/@kubernetes/client-node/dist/index.js': 'exports.ApiException = class {}\n',
}

t.test('each rule fires on the import it forbids', async (t) => {
  const files: Record<string, string> = { ...PACKAGES }
  for (const b of bad) {
    files[b.from] = `${b.importText}\nexport const y = x\n`
    if (b.to.startsWith('src/')) files[b.to] ??= b.rule === 'no-circular' ? "import { y } from './a.js'\nexport const x = () => y\n" : 'export const x = 1\n'
  }
  const run = cruiseFixture(t, files)
  t.not(run.status, 0, 'depcruise fails')
  const report = run.output.replace(/\s+/g, ' ')
  for (const b of bad) t.match(report, `error ${b.rule}: ${b.from} → ${b.to}`, `${b.rule}: ${b.from} -> ${b.to}`)
  t.comment(run.output)
})

t.test('imports the rules allow pass (the fixture itself is sound)', async (t) => {
  const run = cruiseFixture(t, {
    ...PACKAGES,
    'src/nodes/read-model.ts': "import { x } from '../kube/cache.js'\nexport const y = x\n",
    'src/kube/cache.ts': "import { ApiException } from '@kubernetes/client-node'\nexport const x = ApiException\n",
    'src/drain/types.ts': "import type { V1Pod } from '@kubernetes/client-node'\nexport type P = V1Pod\n",
    'src/shared/rules.ts': "import { z } from './other.js'\nexport const x = z\n",
    'src/shared/other.ts': 'export const z = 1\n',
    'src/ui/page.ts': "import { x } from '../shared/rules.js'\nexport const y = x\n",
    'src/nodes/validation.ts': "import { x } from '../shared/rules.js'\nexport const y = x\n",
  })
  t.equal(run.status, 0, run.output)
})
