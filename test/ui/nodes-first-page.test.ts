// The Nodes page on a larger cluster (1,200 nodes, first page of 500): the first page is shown
// while the whole list is held back, the stats cards come from P/nodes/stats (they count 1,200
// while the table has 500), then every node exactly once once the whole list arrives, sorted across
// all of it, and the list is polled with If-None-Match (304 while unchanged).
import t from 'tap'
import type { Request, Response } from 'playwright-core'
import { API_PREFIX, makeToken } from '../helpers/service.js'
import { UI, signInThroughStorage } from './browser.js'
import { startUiCluster } from './cluster.js'

const { svc, browser } = await startUiCluster(t, { nodes: 1200, podsPerNode: 1, sessionsPerNode: 1 })
const token = makeToken()

t.test('first page at once, the rest after it; stats from P/nodes/stats', async (t) => {
  const page = await browser.page()
  page.setDefaultTimeout(60_000)
  await signInThroughStorage(page, svc.url, token)
  const stats = await (await fetch(`${svc.url}${API_PREFIX}/nodes/stats`, { headers: { authorization: `Bearer ${token}` } })).json() as { total_nodes: number; total_pods: number }
  t.equal(stats.total_nodes, 1200, 'the cluster has 1,200 nodes')

  const asked: string[] = []
  page.on('request', (r: Request) => { if (r.url().includes(`${API_PREFIX}/nodes`)) asked.push(new URL(r.url()).pathname.slice(API_PREFIX.length) + new URL(r.url()).search) })
  // The whole list is held (not changed: it goes on to the service) until the first page has been looked at.
  let release!: () => void
  const held = new Promise<void>((r) => { release = r })
  await page.route((url) => url.pathname === `${API_PREFIX}/nodes` && url.search === '', async (route) => {
    await held
    await route.continue()
  })

  await page.goto(`${svc.url}${UI}/nodes`)
  await page.getByText('500 of the first 500 nodes; loading the rest').waitFor()
  t.equal(await page.locator('[data-testid=node-table] [role=row]').first().getAttribute('data-node'), 'node-00001', 'the first page starts with the first name')
  await page.getByTestId('stats').waitFor()
  const cards = await page.getByTestId('stats').innerText()
  t.match(cards, new RegExp(`Nodes\\s+1200\\b`), 'the Nodes card counts 1,200 while the table holds 500: it comes from P/nodes/stats')
  t.match(cards, new RegExp(`Pods\\s+${stats.total_pods}\\b`), 'the Pods card is P/nodes/stats\' total_pods')
  t.ok(asked.includes('/nodes/stats'), 'P/nodes/stats was asked')
  t.ok(asked.indexOf('/nodes?limit=500') >= 0 && asked.indexOf('/nodes?limit=500') < asked.indexOf('/nodes'), 'the first page was asked before the whole list')

  const whole = page.waitForResponse((r: Response) => r.url().endsWith(`${API_PREFIX}/nodes`))
  release()
  const wholeEtag = (await whole).headers().etag
  await page.getByText('1200 of 1200 nodes').waitFor()
  // Every node once: the first page's nodes are not doubled by the whole list.
  const filterTo = async (text: string, count: string) => {
    await page.getByTestId('filter').fill(text)
    await page.getByText(count).waitFor()
  }
  await filterTo('node-000', '99 of 1200 nodes') // node-00001 to node-00099
  await filterTo('node-01200', '1 of 1200 nodes')
  t.equal(await page.locator('[data-testid=node-table] [role=row]').first().getAttribute('data-node'), 'node-01200', 'a node of the last page is there')
  await filterTo('', '1200 of 1200 nodes')
  // Sorted across the whole list, not only the first page.
  await page.getByTestId('sort-name').click()
  await page.locator('[data-testid=node-table] [role=row][data-node=node-01200]').first().waitFor()
  t.equal(await page.locator('[data-testid=node-table] [role=row]').first().getAttribute('data-node'), 'node-01200', 'descending by name starts with the last node')

  // Polling goes on with If-None-Match: the next poll names the ETag of the list it has, and is a
  // 304, or a 200 with a new ETag when the list changed meanwhile (the simulator's usage moves).
  const poll = await page.waitForResponse((r: Response) => r.url().endsWith(`${API_PREFIX}/nodes`) && r.request().headers()['if-none-match'] !== undefined, { timeout: 30_000 })
  t.equal(poll.request().headers()['if-none-match'], wholeEtag, 'the poll names the ETag of the list it has')
  t.ok(poll.status() === 304 || (poll.status() === 200 && poll.headers().etag !== wholeEtag), `304, or 200 with a new ETag (${poll.status()})`)
  t.equal(asked.filter((a) => a === '/nodes?limit=500').length, 1, 'the first page was asked once')
  await page.close()
  t.same(browser.takeErrors(), [], 'no console errors')
})
