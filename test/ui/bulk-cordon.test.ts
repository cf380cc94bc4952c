// Bulk cordon and uncordon from the Nodes page over the per-user change limit: the dialog lists
// the nodes, each 429 is waited out as its Retry-After says, and every node ends up changed.
import t from 'tap'
import { CoreV1Api } from '@kubernetes/client-node'
import { makeToken } from '../helpers/service.js'
import { UI, stepper } from './browser.js'
import { startUiCluster } from './cluster.js'

// Two changes per 2 s per user: cordoning four nodes must go over the limit.
const { svc, browser, kc } = await startUiCluster(t, {}, { CHANGE_RATE_LIMIT_MAX: '2', CHANGE_RATE_LIMIT_WINDOW_SECONDS: '2' })
const core = kc.makeApiClient(CoreV1Api)
const step = stepper(t, browser, svc.url, makeToken({ username: 'alice' }))
const WORKERS = ['worker-large-1', 'worker-medium-1', 'worker-medium-2', 'worker-small-1']

await step('bulk cordon of four nodes over a limit of two: every 429 waited out, all cordoned', async (t, page) => {
  const statuses: number[] = []
  page.on('response', (r) => { if (/\/(un)?cordon$/.test(r.url())) statuses.push(r.status()) })
  await page.goto(`${svc.url}${UI}/nodes`)
  await page.getByTestId('filter').fill('worker-')
  await page.getByText('4 of 5 nodes').waitFor()
  await page.getByLabel('select all shown').check()
  await page.getByTestId('bulk-cordon').click()
  t.same(await page.getByTestId('bulk-nodes').locator('li').allInnerTexts(), WORKERS, 'the dialog lists the four')
  await page.getByTestId('bulk-reason').fill('rack move')
  browser.expectHttpErrors(429)
  await page.getByTestId('bulk-confirm').click()
  await page.getByTestId('bulk-result').getByText('4 cordoned.').waitFor({ timeout: 60_000 })
  t.ok(statuses.includes(429), `the limit was hit (${statuses.join(' ')})`)
  t.equal(statuses.filter((s) => s === 200).length, 4, 'then each node cordoned once')
  for (const n of WORKERS) t.equal((await core.readNode({ name: n })).spec?.unschedulable, true, `${n} cordoned on the cluster`)
  await page.getByRole('button', { name: 'Close' }).click()
  await page.getByLabel('select all shown').check()
  await page.getByTestId('bulk-uncordon').click()
  await page.getByTestId('bulk-confirm').click()
  await page.getByTestId('bulk-result').getByText('4 uncordoned.').waitFor({ timeout: 60_000 })
  for (const n of WORKERS) t.notOk((await core.readNode({ name: n })).spec?.unschedulable, `${n} uncordoned`)
})
