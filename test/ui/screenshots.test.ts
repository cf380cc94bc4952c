// Every page of the admin UI at 5,000 nodes (the simulator), in Chromium: a screenshot each, in
// dark (StreamSpace's default) and the node list in light too. Written to artifacts/ui; with
// SCREENSHOTS_DIR=docs/screenshots they are the ones docs/ui.md shows. Each page must render its
// content without a console error.
import t from 'tap'
import { mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { makeToken, waitFor } from '../helpers/service.js'
import { ARTIFACTS, UI, signInThroughStorage } from './browser.js'
import { startUiCluster } from './cluster.js'

const { svc, browser } = await startUiCluster(t, { nodes: 5000, podsPerNode: 1, sessionsPerNode: 1 })
const dir = process.env.SCREENSHOTS_DIR ?? ARTIFACTS
mkdirSync(dir, { recursive: true })

t.test('every page at 5,000 nodes', async (t) => {
  await waitFor(() => svc.app.health.isLeader(), 60_000, 'leadership')
  const created = await svc.api('/maintenance', { method: 'POST', json: { nodes: ['node-00001', 'node-00002', 'node-00003'], reason: 'kernel upgrade OPS-7', max_unavailable: 2 } })
  t.equal(created.status, 201)
  const plan = (await created.json() as { id: string }).id
  const page = await browser.page()
  page.setDefaultTimeout(60_000)
  await signInThroughStorage(page, svc.url, makeToken({ username: 'alice' }))
  const shots: [string, string, () => Promise<unknown>, ('light' | 'dark')?][] = [
    ['nodes', 'nodes', () => page.getByText('5000 of 5000 nodes').waitFor()],
    ['nodes-light', 'nodes', () => page.getByText('5000 of 5000 nodes').waitFor(), 'light'],
    ['node', 'nodes/node-00042', () => page.getByTestId('node-name').waitFor()],
    ['health', 'health', () => page.getByTestId('health-status').waitFor()],
    ['resources', 'resources?node=node-00042', () => page.getByText('Node Resources').first().waitFor()],
    ['maintenance', `maintenance?plan=${plan}`, () => page.locator('[data-testid=plan-detail] [data-state=waiting_for_sessions]').first().waitFor()],
    ['autoscaling', 'autoscaling', () => page.getByTestId('recommendation').waitFor()],
    ['settings', 'settings', () => page.getByTestId('settings-save').waitFor()],
  ]
  for (const [name, path, ready, scheme = 'dark'] of shots) {
    await page.emulateMedia({ colorScheme: scheme })
    await page.goto(`${svc.url}${UI}/${path}`)
    await ready()
    await page.waitForFunction(() => document.getAnimations().every((a) => !(a instanceof CSSTransition) || a.playState === 'finished'))
    const file = join(dir, `${name}.png`)
    await page.screenshot({ path: file })
    t.ok(statSync(file).size > 10_000, `${name}.png written, not blank (${statSync(file).size} bytes)`)
  }
  // The next-session panel on the Nodes page.
  await page.goto(`${svc.url}${UI}/nodes`)
  await page.getByText('5000 of 5000 nodes').waitFor()
  await page.getByTestId('next-session-toggle').click()
  await page.getByTestId('select-ask').click()
  await page.getByTestId('select-chosen').waitFor()
  await page.screenshot({ path: join(dir, 'next-session.png') })
  // The bulk drain dialog over three filtered nodes.
  await page.getByTestId('next-session-toggle').click()
  await page.getByTestId('filter').fill('node-0420')
  await page.getByText(/^10 of 5000 nodes/).waitFor()
  for (const n of ['node-04201', 'node-04202', 'node-04203']) await page.getByLabel(`select ${n}`).check()
  await page.getByTestId('bulk-drain').click()
  await page.getByTestId('plan-nodes').waitFor()
  await page.getByTestId('plan-reason').fill('rack move')
  await page.getByTestId('fit-check').getByText(/Fit check/).waitFor()
  await page.screenshot({ path: join(dir, 'bulk-drain.png') })
  await page.close()
  t.same(browser.takeErrors(), [], 'no console errors')
})
