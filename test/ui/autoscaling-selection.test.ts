// The Autoscaling page and the Nodes page's "Where would the next session go?" panel in Chromium on
// the demo cluster, each compared with the API's own answer; axe-core in light and dark.
import t from 'tap'
import { makeToken, waitFor } from '../helpers/service.js'
import { UI, checkBothSchemes, stepper } from './browser.js'
import { startUiCluster } from './cluster.js'

const { svc, browser } = await startUiCluster(t)
const step = stepper(t, browser, svc.url, makeToken({ username: 'alice' }))

await step('Autoscaling: the recommendation and why, utilization against the thresholds, protected nodes', async (t, page) => {
  await waitFor(async () => (await (await svc.api('/autoscaling')).json() as { recommendation: unknown }).recommendation !== null, 30_000, 'a recommendation')
  const api = await (await svc.api('/autoscaling')).json() as { recommendation: { action: string; reason: string; desired_nodes: number }; thresholds: { scale_up: number; scale_down: number } }
  await page.goto(`${svc.url}${UI}/autoscaling`)
  await checkBothSchemes(t, page, 'autoscaling', () => page.getByTestId('recommendation-reason').waitFor())
  t.equal(await page.getByTestId('recommendation-reason').innerText(), api.recommendation.reason, 'the reason in the API\'s words')
  await page.locator('[data-testid=utilization-chart] polyline[data-series^="utilization"]').or(page.locator('[data-testid=utilization-chart] circle')).first().waitFor({ state: 'attached' })
  await page.locator(`[data-testid=utilization-chart] polyline[data-series="scale up above ${api.thresholds.scale_up}%"]`).waitFor({ state: 'attached' })
  await page.locator(`[data-testid=utilization-chart] polyline[data-series="scale down below ${api.thresholds.scale_down}%"]`).waitFor({ state: 'attached' })
  const nodes = await (await svc.api('/nodes')).json() as { name: string; sessions: number }[]
  const withSessions = nodes.filter((n) => n.sessions > 0).map((n) => n.name).sort()
  t.ok(withSessions.length > 0)
  await page.locator(`[data-testid=protected] [data-node="${withSessions[0]}"]`).waitFor()
  t.same((await page.locator('[data-testid=protected] [data-node]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node')))).sort(), withSessions, 'the nodes running sessions, protected')
  t.match(await page.getByTestId('headroom').innerText(), /None/, 'no headroom without the cluster-api provider')
})

await step('Where would the next session go: the chosen node highlighted, every excluded node with its reasons', async (t, page) => {
  await page.goto(`${svc.url}${UI}/nodes`)
  await page.getByText('5 of 5 nodes').waitFor()
  await page.getByTestId('next-session-toggle').click()
  await page.getByTestId('select-cpu').fill('2')
  await page.getByTestId('select-memory').fill('4Gi')
  await page.getByTestId('select-ask').click()
  await page.getByTestId('select-chosen').waitFor()
  const api = await (await svc.api('/nodes/select', { method: 'POST', json: { cpu: '2', memory: '4Gi' } })).json() as { node: string; reason: string; excluded: { node: string; reasons: string[] }[] }
  t.match(await page.getByTestId('select-chosen').innerText(), api.node, 'the API\'s choice')
  t.equal(await page.locator('[data-testid=select-candidates] [aria-current=true]').getAttribute('data-node'), api.node, 'highlighted in the candidates')
  t.ok(api.excluded.length > 0, 'some nodes excluded on the demo cluster')
  for (const x of api.excluded) {
    t.equal(await page.locator(`[data-testid=select-excluded] [data-node="${x.node}"]`).innerText(), `${x.node}: ${x.reasons.join('; ')}`, `${x.node} with the scheduler's reasons`)
  }
  await checkBothSchemes(t, page, 'nodes with the selection panel', () => page.getByTestId('select-chosen').waitFor())
  // Nothing fits: the scheduler-style summary.
  browser.expectHttpErrors(409)
  await page.getByTestId('select-cpu').fill('64')
  await page.getByTestId('select-ask').click()
  await page.getByTestId('select-nofit').getByText(/No node would take it: 0\/5 nodes are available/).waitFor()
  t.ok(await page.locator('[data-testid=select-excluded] li').count() >= 4, 'each node with its reasons')
})
