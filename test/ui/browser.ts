// Browser tests' helpers: Debian's Chromium (scripts/setup-chromium.sh installs it) driven by
// playwright-core, a fresh profile per run, console errors collected, screenshots saved under
// artifacts/ui (git-ignored), and the admin UI built when stale.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import type { Test } from 'tap'
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

const AXE = readFileSync(join(import.meta.dirname, '../../node_modules/axe-core/axe.min.js'), 'utf8')

export interface AxeViolation { id: string; impact: string | null; help: string; nodes: string[] }

/**
 * axe-core's serious and critical violations on the page as it is now. Evaluated through the
 * DevTools protocol, which the page's Content-Security-Policy does not govern (a script tag would be refused).
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!await page.evaluate(() => 'axe' in window)) await page.evaluate(AXE)
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe
    const r = await axe.run(document, { resultTypes: ['violations'] })
    // Each node named by its selector and, for contrast, the colors axe measured.
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => `${JSON.stringify(n.target)} ${(n as { failureSummary?: string }).failureSummary?.replace(/\s+/g, ' ').slice(0, 200) ?? ''} ${(n as { html?: string }).html?.slice(0, 120) ?? ''}`) }))
  })
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

/** The page in light and in dark (prefers-color-scheme), each checked by axe-core; `ready` waits for the page's content. */
export async function checkBothSchemes(t: Test, page: Page, name: string, ready: () => Promise<unknown>, shoot?: (scheme: string) => Promise<void>): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    await page.waitForFunction((s) => document.documentElement.dataset.colorScheme === s, scheme)
    await ready()
    // MUI fades colors over 200 ms: measured mid-way they would be neither scheme's.
    await page.waitForFunction(() => document.getAnimations().every((a) => !(a instanceof CSSTransition) || a.playState === 'finished'))
    t.same(await axeViolations(page), [], `${name}, ${scheme}: no serious or critical accessibility violations`)
    await shoot?.(scheme)
  }
}

/**
 * Browser steps: a fresh tab signed in through localStorage (unless signedIn is false); no console
 * errors at the end; a screenshot on failure.
 */
export function stepper(t: Test, browser: Browser, baseUrl: string, token: string, timeoutMs = 30_000) {
  return (name: string, fn: (t: Test, page: Page) => Promise<void>, opts: { signedIn?: boolean } = {}) => t.test(name, async (t) => {
    const page = await browser.page()
    page.setDefaultTimeout(timeoutMs)
    try {
      if (opts.signedIn !== false) await signInThroughStorage(page, baseUrl, token)
      await fn(t, page)
    } catch (err) {
      await browser.screenshot(page, `FAILED-${name.replace(/\W+/g, '-')}`).catch(() => {})
      throw err
    } finally {
      await page.close()
      t.same(browser.takeErrors(), [], 'no console errors')
    }
  })
}
