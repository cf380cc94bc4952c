// The admin UI's look and keyboard use, in Chromium on the demo cluster: every page in light and
// dark (following prefers-color-scheme, StreamSpace's palettes) with no serious or critical axe-core
// violation; sort headers are buttons with aria-sort, usable from the keyboard; the sidebar spans
// long pages; a failed statistics request is shown in words.
import t from 'tap'
import { makeToken } from '../helpers/service.js'
import { UI, checkBothSchemes, stepper } from './browser.js'
import { startUiCluster } from './cluster.js'

const { svc, browser } = await startUiCluster(t)
const step = stepper(t, browser, svc.url, makeToken({ username: 'alice' }))

await step('every page, light and dark: StreamSpace\'s palettes, no serious or critical axe-core violation', async (t, page) => {
  const pages: [string, () => Promise<unknown>][] = [
    ['nodes', () => page.getByText('5 of 5 nodes').waitFor()],
    ['nodes/worker-small-1', () => page.getByTestId('node-name').waitFor()],
    ['health', () => page.getByTestId('health-status').waitFor()],
    ['resources', () => page.getByText('Node Resources').first().waitFor()],
    ['settings', () => page.getByTestId('settings-save').waitFor()],
  ]
  for (const [path, ready] of pages) {
    await page.goto(`${svc.url}${UI}/${path}`)
    await checkBothSchemes(t, page, path, ready)
  }
  await page.emulateMedia({ colorScheme: 'light' })
  await page.waitForFunction(() => document.documentElement.dataset.colorScheme === 'light')
  t.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(245, 245, 245)', 'light: StreamSpace\'s #f5f5f5')
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.waitForFunction(() => document.documentElement.dataset.colorScheme === 'dark')
  t.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(10, 25, 41)', 'dark: StreamSpace\'s #0a1929')
})

await step('sort headers are buttons with aria-sort, usable from the keyboard', async (t, page) => {
  await page.goto(`${svc.url}${UI}/nodes`)
  await page.getByText('5 of 5 nodes').waitFor()
  const header = (name: string) => page.getByRole('columnheader', { name })
  t.equal(await header('Name').getAttribute('aria-sort'), 'ascending')
  t.equal(await header('Sessions').getAttribute('aria-sort'), 'none')
  const sessions = page.getByRole('button', { name: 'Sessions' })
  await sessions.focus()
  await page.keyboard.press('Enter')
  await page.waitForFunction(() => document.querySelector('[data-testid=sort-sessions]')?.parentElement?.getAttribute('aria-sort') === 'ascending')
  await page.keyboard.press('Space')
  await page.waitForFunction(() => document.querySelector('[data-testid=sort-sessions]')?.parentElement?.getAttribute('aria-sort') === 'descending')
  t.equal(await header('Name').getAttribute('aria-sort'), 'none')
  t.equal(await page.locator('[data-testid=node-table] [role=row]').first().getAttribute('data-node'), 'worker-large-1', 'most sessions first')
})

await step('the sidebar spans a page longer than the window', async (t, page) => {
  await page.setViewportSize({ width: 1000, height: 400 })
  await page.goto(`${svc.url}${UI}/settings`)
  await page.getByTestId('settings-save').waitFor()
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.waitForFunction(() => document.documentElement.dataset.colorScheme === 'dark')
  const doc = await page.evaluate(() => document.documentElement.scrollHeight)
  t.ok(doc > 400, `the page is longer than the window (${doc} px)`)
  // What a full-page screenshot shows at the sidebar's bottom-left corner: its paper (#132f4c), not the page's background (#0a1929).
  const png = await page.screenshot({ fullPage: true })
  const pixels = await browser.page()
  const [r, g, b] = await pixels.evaluate(async (b64) => {
    const img = new Image()
    img.src = `data:image/png;base64,${b64}`
    await img.decode()
    const canvas = document.createElement('canvas')
    canvas.width = img.width; canvas.height = img.height
    const ctx = canvas.getContext('2d')!
    ctx.drawImage(img, 0, 0)
    return [...ctx.getImageData(10, img.height - 5, 1, 1).data.slice(0, 3)]
  }, png.toString('base64'))
  await pixels.close()
  t.same([r, g, b], [0x13, 0x2f, 0x4c], 'the sidebar reaches the bottom of the page')
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight))
  t.ok(await page.getByRole('link', { name: 'Cluster Nodes' }).isVisible(), 'its links stay in view when scrolled')
})

await step('a failed statistics request is shown in words', async (t, page) => {
  // The service's statistics come from its caches and do not fail on their own: the browser is
  // made to see a 503 for that one request (the rest of the page talks to the service).
  await page.route('**/nodes/stats', (route) => route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message: 'Kubernetes caches are not synced yet' }) }))
  browser.expectHttpErrors(503)
  await page.goto(`${svc.url}${UI}/nodes`)
  await page.getByText('5 of 5 nodes').waitFor()
  const shown = await page.getByTestId('stats-error').innerText({ timeout: 20_000 })
  t.match(shown, /Cluster statistics: The service failed \(503\): Kubernetes caches are not synced yet/)
})
