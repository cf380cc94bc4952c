// The embedded demo's sign-in link (`...#token=<jwt>`, printed by src/server.ts): opened in
// Chromium it signs in at once, the token leaves the address bar, and it never reaches the
// server's request log (a fragment is not sent).
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildUi, launch } from './browser.js'

buildUi()

t.test('the demo prints a sign-in link that signs in at once', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'home-')), KUBE_MODE: 'simulated', PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => { stdout += d })
  child.stderr.on('data', (d) => { stderr += d })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  t.teardown(() => { child.kill('SIGKILL') })
  const link = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no sign-in link in:\n${stderr}`)), 60_000)
    child.stderr.on('data', () => {
      const m = /Sign in \(opens the admin UI signed in\): (\S+)/.exec(stderr)
      if (m) { clearTimeout(timer); resolve(m[1]) }
    })
  })
  const [page, token] = [link.split('#')[0], new URL(link).hash.replace(/^#token=/, '')]
  t.match(page, /\/api\/plugins\/streamspace-node-manager\/admin\/nodes$/)
  t.equal(token.split('.').length, 3, 'a JWT in the fragment')
  const browser = await launch()
  t.teardown(() => browser.close())
  const tab = await browser.page()
  tab.setDefaultTimeout(30_000)
  await tab.goto(link)
  await tab.getByText('5 of 5 nodes').waitFor()
  t.equal(await tab.getByTestId('whoami').innerText(), 'demo-admin', 'signed in without pasting anything')
  t.equal(tab.url(), page, 'the token is gone from the address bar')
  t.equal(await tab.evaluate(() => JSON.parse(localStorage.getItem('streamspace-auth') ?? 'null')?.state?.token), token, 'kept where StreamSpace keeps it')
  t.same(browser.takeErrors(), [], 'no console errors')
  await tab.goBack()
  t.notMatch(tab.url(), /token=/, 'nor does the entry before it in the history')
  child.kill('SIGTERM')
  await exited
  t.ok(stdout.includes('/admin/nodes'), 'the page load is in the request log')
  t.notOk(stdout.includes(token), 'the token never reaches the request log')
})
