// The Settings page in Chromium: the options in force from GET P/config, a change saved with
// If-Match, the server's validation message beside the option it names, and a change someone else
// made meanwhile shown instead of overwritten. axe-core in light and dark.
import t from 'tap'
import { makeToken } from '../helpers/service.js'
import { UI, checkBothSchemes, stepper } from './browser.js'
import { startUiCluster } from './cluster.js'

const { svc, browser } = await startUiCluster(t)
const step = stepper(t, browser, svc.url, makeToken({ username: 'alice' }))
const config = async () => await (await svc.api('/config')).json() as Record<string, unknown>
const field = (key: string) => `[data-testid=setting-${key}]`

await step('a setting changed; the server\'s validation message shown beside its option', async (t, page) => {
  await page.goto(`${svc.url}${UI}/settings`)
  await checkBothSchemes(t, page, 'settings', () => page.getByTestId('settings-save').waitFor())
  t.equal(await page.locator(field('maxNodes')).inputValue(), '10', 'the option in force')
  await page.locator(field('scaleUpThreshold')).fill('120')
  browser.expectHttpErrors(400)
  await page.getByTestId('settings-save').click()
  const problem = page.locator('#setting-scaleUpThreshold-helper-text')
  await problem.getByText(/scaleUpThreshold must be a number from 50 to 95 \(got 120\)/).waitFor()
  t.equal(await page.locator(field('scaleUpThreshold')).getAttribute('aria-invalid'), 'true', 'the field is marked invalid')
  t.equal((await config()).scaleUpThreshold, 80, 'nothing saved')
  await page.locator(field('scaleUpThreshold')).fill('85')
  await page.locator(field('maxNodes')).fill('12')
  await page.getByTestId('settings-save').getByText('Save 2 changes').waitFor()
  await page.getByTestId('settings-save').click()
  await page.getByTestId('saved').waitFor()
  const now = await config()
  t.same([now.scaleUpThreshold, now.maxNodes], [85, 12], 'saved on the service')
})

await step('a concurrent change is shown, not overwritten; then applied on top', async (t, page) => {
  await page.goto(`${svc.url}${UI}/settings`)
  await page.getByTestId('settings-save').waitFor()
  t.equal(await page.locator(field('maxNodes')).inputValue(), '12')
  // Someone else saves while this page is open.
  const other = await svc.api('/config', { method: 'PUT', json: { maxNodes: 30, minNodes: 2 } })
  t.equal(other.status, 200)
  await page.locator(field('healthCheckInterval')).fill('120')
  browser.expectHttpErrors(412)
  await page.getByTestId('settings-save').click()
  const conflict = page.getByTestId('conflict')
  await conflict.getByText(/Someone else changed the settings since this page loaded; nothing of yours was saved/).waitFor()
  t.match(await conflict.innerText(), /They changed: minNodes to 2, maxNodes to 30/)
  let now = await config()
  t.same([now.maxNodes, now.minNodes, now.healthCheckInterval], [30, 2, 60], 'their change stands, mine is not saved')
  // Saving the stale form again is refused again: only an explicit choice goes on.
  const again = page.waitForResponse((r) => r.url().endsWith('/config') && r.request().method() === 'PUT')
  await page.getByTestId('settings-save').click()
  t.equal((await again).status(), 412, 'refused again')
  await page.getByTestId('conflict').waitFor()
  t.equal((await config()).healthCheckInterval, 60)
  await page.getByTestId('conflict-apply').click()
  await page.getByTestId('saved').waitFor()
  now = await config()
  t.same([now.maxNodes, now.minNodes, now.healthCheckInterval], [30, 2, 120], 'mine on top of theirs')
  t.equal(await page.locator(field('maxNodes')).inputValue(), '30', 'the form shows what is in force')
})
