// The Maintenance page in Chromium on the demo cluster: a plan made from the form, with the fit
// check's warning shown while too many nodes are picked, followed to its end over Server-Sent
// Events and completed; a second plan cancelled while it waits for sessions (their users shown);
// a bulk drain from the Nodes page over three filtered nodes, its dialog listing exactly those.
// axe-core in light and dark on the page.
import t from 'tap'
import { CoreV1Api } from '@kubernetes/client-node'
import type { Page } from 'playwright-core'
import { makeToken, waitFor } from '../helpers/service.js'
import { UI, checkBothSchemes, stepper } from './browser.js'
import { startUiCluster } from './cluster.js'

const { svc, browser, kc } = await startUiCluster(t, { podTerminateSeconds: 1 })
const core = kc.makeApiClient(CoreV1Api)
await waitFor(() => svc.app.health.isLeader(), 30_000, 'leadership (plans run on the leader)')
const step = stepper(t, browser, svc.url, makeToken({ username: 'alice' }))
interface Plan { id: string; state: string; nodes: { name: string; state: string; sessions: { user: string | null }[] }[] }

/** A datetime-local value `ms` from now, in the browser's time zone. */
const localTime = (page: Page, ms: number) => page.evaluate((ms) => {
  const d = new Date(Date.now() + ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}, ms)

async function pickNodes(page: Page, names: string[]) {
  for (const n of names) {
    await page.getByTestId('plan-node-picker').fill(n)
    await page.getByRole('option', { name: n, exact: true }).click()
  }
}

t.test('POST P/maintenance with dry_run: the checks and the fit, nothing made', async (t) => {
  const three = ['worker-large-1', 'worker-medium-1', 'worker-small-1']
  const res = await svc.api('/maintenance', { method: 'POST', json: { nodes: three, reason: 'probe', dry_run: true } })
  t.equal(res.status, 200)
  const body = await res.json() as { dry_run: boolean; nodes: string[]; fit: { fits: boolean; unplaced: { session_user: string | null }[] } }
  t.same([body.dry_run, body.nodes], [true, three])
  t.equal(body.fit.fits, false)
  t.same([...new Set(body.fit.unplaced.map((u) => u.session_user).filter(Boolean))].sort(), ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'], 'whose sessions would find no room')
  const bySelector = await (await svc.api('/maintenance', { method: 'POST', json: { node_selector: 'topology.kubernetes.io/zone=us-east-1c', reason: 'probe', dry_run: true } })).json() as { nodes: string[] }
  t.same(bySelector.nodes, ['worker-large-1', 'worker-medium-2'])
  const bad = await svc.api('/maintenance', { method: 'POST', json: { nodes: ['nope'], reason: 'probe', dry_run: true } })
  t.equal(bad.status, 404, 'the same checks as a real plan')
  t.same(await (await svc.api('/maintenance')).json(), [], 'nothing made')
})

await step('a plan from the form: fit warning shown, followed to the end over SSE, then completed', async (t, page) => {
  const streams: string[] = []
  page.on('request', (r) => { if (r.url().includes('/events')) streams.push(r.url()) })
  await page.goto(`${svc.url}${UI}/maintenance`)
  await checkBothSchemes(t, page, 'maintenance', () => page.getByTestId('plan-new').waitFor())
  await page.getByTestId('plan-new').click()
  // Three workers out at once: their pods would find no room on what stays schedulable.
  await pickNodes(page, ['worker-large-1', 'worker-medium-1', 'worker-small-1'])
  const warning = page.getByTestId('fit-warning')
  await warning.waitFor()
  t.match(await warning.innerText(), /would find no room, sessions of [a-z, ]+:/, 'whose sessions would find no room')
  await checkBothSchemes(t, page, 'maintenance form with a fit warning', () => warning.waitFor())
  // Down to one node: the check follows.
  await page.getByRole('button', { name: 'worker-large-1' }).locator('.MuiChip-deleteIcon').click()
  await page.getByRole('button', { name: 'worker-medium-1' }).locator('.MuiChip-deleteIcon').click()
  await page.getByTestId('fit-check').getByText(/find room on the \d+ node\(s\) that stay schedulable/).waitFor()
  await page.getByTestId('plan-reason').fill('kernel upgrade OPS-7')
  await page.getByTestId('plan-policy').click()
  await page.getByRole('option', { name: 'Evict at the deadline' }).click()
  await page.getByTestId('plan-deadline').fill(await localTime(page, 4_000))
  // A live check still under way when the plan is made finds its nodes taken (409): nobody sees it.
  browser.expectHttpErrors(409)
  await page.getByTestId('plan-create').click()
  const detail = page.getByTestId('plan-detail')
  await detail.waitFor()
  const id = await detail.getAttribute('data-plan')
  await detail.locator('[data-node="worker-small-1"][data-state="waiting_for_sessions"]').waitFor()
  t.match(await detail.locator('[data-node="worker-small-1"] [data-testid=waited-sessions]').innerText(), /alice/, 'the session waited for, and whose')
  await page.locator('[data-testid=plan-detail][data-state=succeeded]').waitFor({ timeout: 90_000 })
  await detail.locator('[data-node="worker-small-1"][data-state="drained"]').waitFor()
  t.same(streams.filter((u) => u.includes(`/maintenance/${id}/events`)).length, 1, 'followed over one event stream')
  const plan = await (await svc.api(`/maintenance/${id}`)).json() as Plan
  t.equal(plan.state, 'succeeded', 'the API agrees')
  t.equal((await core.readNode({ name: 'worker-small-1' })).spec?.unschedulable, true, 'cordoned while in maintenance')
  await page.getByTestId('plan-complete').click()
  await page.getByText(/are uncordoned and their cordon reason cleared/).waitFor()
  await page.getByTestId('confirm').click()
  await page.locator('[data-testid=plan-detail][data-state=completed]').waitFor()
  t.notOk((await core.readNode({ name: 'worker-small-1' })).spec?.unschedulable, 'uncordoned on the cluster')
})

await step('a second plan cancelled while it waits for sessions', async (t, page) => {
  await page.goto(`${svc.url}${UI}/maintenance`)
  await page.getByTestId('plan-new').click()
  await pickNodes(page, ['worker-medium-1'])
  await page.getByTestId('fit-check').getByText(/Fit check:/).waitFor()
  await page.getByTestId('plan-reason').fill('disk swap')
  await page.getByTestId('plan-create').click()
  const detail = page.getByTestId('plan-detail')
  await detail.locator('[data-node="worker-medium-1"][data-state="waiting_for_sessions"]').waitFor()
  const id = await detail.getAttribute('data-plan')
  const plan = await (await svc.api(`/maintenance/${id}`)).json() as Plan
  const users = plan.nodes[0].sessions.map((s) => s.user).sort()
  t.ok(users.includes('bob') && users.includes('carol'), `the API waits for bob's and carol's sessions, among ${users.join(', ')}`)
  const shown = await detail.locator('[data-testid=waited-sessions]').innerText()
  for (const u of users) t.match(shown, u!, `${u} shown`)
  await page.getByTestId('plan-cancel').click()
  await page.getByText(/cordoned nodes stay cordoned/).waitFor()
  await page.getByTestId('confirm').click()
  await page.locator('[data-testid=plan-detail][data-state=cancelled]').waitFor()
  t.equal((await (await svc.api(`/maintenance/${id}`)).json() as Plan).state, 'cancelled')
  t.equal((await core.readNode({ name: 'worker-medium-1' })).spec?.unschedulable, true, 'left cordoned, as the dialog said')
  await page.getByTestId('plan-complete').click()
  await page.getByTestId('confirm').click()
  await page.locator('[data-testid=plan-detail][data-state=completed]').waitFor()
})

await step('bulk drain of three filtered nodes: one plan, the dialog lists exactly those three', async (t, page) => {
  await page.goto(`${svc.url}${UI}/nodes`)
  await page.getByText('5 of 5 nodes').waitFor()
  // Select everything, then filter: the selection follows what is shown.
  await page.getByLabel('select all shown').check()
  await page.getByTestId('filter').fill('worker-')
  await page.getByText('4 of 5 nodes').waitFor()
  await page.getByLabel('select worker-medium-2').uncheck()
  await page.getByTestId('bulk-drain').getByText('Drain (3)').waitFor()
  let requests = 0
  page.on('request', (r) => { if (r.method() === 'POST' && /\/(maintenance|cordon|drain)$/.test(new URL(r.url()).pathname) && !r.postData()?.includes('dry_run')) requests++ })
  await page.getByTestId('bulk-drain').click()
  const listed = await page.getByTestId('plan-nodes').locator('li').allInnerTexts()
  t.same(listed, ['worker-large-1', 'worker-medium-1', 'worker-small-1'], 'exactly the three selected and shown')
  await checkBothSchemes(t, page, 'bulk drain dialog', () => page.getByTestId('plan-nodes').waitFor())
  await page.getByTestId('plan-reason').fill('rack move')
  await page.getByTestId('plan-max-unavailable').fill('3')
  await page.getByTestId('fit-warning').waitFor()
  // The server checks the three together and refuses: nothing started, its reasons shown.
  browser.expectHttpErrors(422, 409)
  await page.getByTestId('plan-create').click()
  await page.getByTestId('plan-refused').getByText(/pods would find no room/).waitFor()
  t.equal((await (await svc.api('/maintenance')).json() as Plan[]).filter((p) => p.state !== 'completed').length, 0, 'no plan made')
  await page.getByTestId('plan-create-force').click()
  await page.waitForURL(/\/maintenance\?plan=/)
  const id = new URL(page.url()).searchParams.get('plan')
  const plan = await (await svc.api(`/maintenance/${id}`)).json() as Plan
  t.same(plan.nodes.map((n) => n.name).sort(), ['worker-large-1', 'worker-medium-1', 'worker-small-1'], 'one plan over the three')
  t.equal(requests, 2, 'one request for the plan (and the refused one before it)')
  await page.getByTestId('plan-cancel').click()
  await page.getByTestId('confirm').click()
  await page.locator('[data-testid=plan-detail][data-state=cancelled]').waitFor()
})
