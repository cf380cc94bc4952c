// Browser tests' helpers: Debian's Chromium (scripts/setup-chromium.sh installs it) driven by
// playwright-core, a fresh profile per run, console errors collected, screenshots saved under
// artifacts/ui (git-ignored), and the admin UI built when stale.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const ARTIFACTS = join(import.meta.dirname, '../../artifacts/ui')
export const UI = '/api/plugins/streamspace-node-manager/admin'

export function buildUi(): void {
  const r = spawnSync(process.execPath, ['scripts/build-ui-if-stale.mjs'], { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`building the admin UI failed:\n${r.stdout}${r.stderr}`)
}

export interface Browser {
  context: BrowserContext
  /** A new tab; console errors and page errors go to `errors`. */
  page(): Promise<Page>
  /** Console errors seen so far (minus HTTP statuses a test said it expects), then cleared. */
  takeErrors(): string[]
  /** The next "Failed to load resource" console errors with these statuses are expected (the UI shows them in words). */
  expectHttpErrors(...statuses: number[]): void
  screenshot(page: Page, name: string): Promise<void>
  close(): Promise<void>
}

export async function launch(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const profile = mkdtempSync(join(tmpdir(), 'nm-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  })
  const errors: string[] = []
  let expected: number[] = []
  const watch = (page: Page) => {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return
      const text = msg.text()
      const status = /status of (\d{3})/.exec(text)?.[1]
      if (status && expected.includes(Number(status))) return
      errors.push(`${text} (${msg.location().url})`)
    })
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`))
  }
  // A Content-Security-Policy violation fails the step even where Chromium would not log it as an
  // error (report-only, or a blocked eval): the page reports each one as a console error.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`)
    })
  })
  for (const p of context.pages()) watch(p)
  return {
    context,
    async page() {
      const p = await context.newPage()
      watch(p)
      return p
    },
    takeErrors() {
      const out = errors.splice(0)
      expected = []
      return out
    },
    expectHttpErrors(...statuses) { expected.push(...statuses) },
    async screenshot(page, name) { await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true }) },
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

/** Puts a token where StreamSpace's web app keeps it (zustand persist), as StreamSpace's login does. */
export async function signInThroughStorage(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}${UI}/nodes`)
  await page.evaluate((t) => localStorage.setItem('streamspace-auth', JSON.stringify({
    state: { token: t, user: { username: 'alice', role: 'admin' }, expiresAt: null, isAuthenticated: true }, version: 0,
  })), token)
}
