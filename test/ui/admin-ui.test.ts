// The admin UI in a real browser (Debian's Chromium via playwright-core) against the service on the
// demo cluster: sign-in both ways, node list and filters, labels and taints (with validation
// errors), cordon with a reason, a drain with live progress, a NotReady node on Cluster Health, a
// graph on Node Resources. Each step checks the cluster through the API afterwards; every page is
// screenshotted into artifacts/ui; any console error fails the step.
import t from 'tap'
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import type { Page } from 'playwright-core'
import { startSim } from '../../src/sim/index.js'
import { makeToken, startService, waitFor } from '../helpers/service.js'
import { UI, buildUi, launch, signInThroughStorage, stepper } from './browser.js'

buildUi()
const sim = await startSim({ podTerminateSeconds: 1 })
const kc = new KubeConfig()
kc.loadFromString(sim.kubeconfig())
const core = kc.makeApiClient(CoreV1Api)
const svc = await startService(kc)
const browser = await launch()
const token = makeToken({ username: 'alice' })
t.teardown(async () => {
  await browser.close()
  await svc.close()
  await sim.close()
})

/** Each step: a fresh tab signed in through localStorage; no console errors at the end. */
const step = stepper(t, browser, svc.url, token, 20_000)

const countText = (page: Page) => page.getByTestId('count').innerText()

await step('sign in through the sign-in box; a refused token is explained in words', async (t, page) => {
  await page.goto(`${svc.url}${UI}/nodes`)
  await page.evaluate(() => localStorage.clear())
  await page.reload()
  await page.getByTestId('token-input').fill('not a token')
  await page.getByTestId('sign-in').click()
  await page.getByText('That is not a JWT').waitFor()
  // An expired token: the service answers 401, the page says so and asks again.
  browser.expectHttpErrors(401)
  await page.getByTestId('token-input').fill(makeToken({ expiresInSeconds: -60 }))
  await page.getByTestId('sign-in').click()
  await page.getByText(/Not signed in or the token is no longer valid \(Unauthorized: token expired\)/).waitFor()
  await browser.screenshot(page, 'sign-in')
  await page.getByTestId('token-input').fill(token)
  await page.getByTestId('sign-in').click()
  await page.getByText('5 of 5 nodes').waitFor()
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('streamspace-auth') ?? 'null'))
  t.equal(stored.state.token, token, 'kept where StreamSpace keeps it')
  t.equal(stored.version, 0)
  t.equal(await page.getByTestId('whoami').innerText(), 'alice')
}, { signedIn: false })

await step('sign in through localStorage (StreamSpace\'s zustand store); list and filter nodes', async (t, page) => {
  await page.goto(`${svc.url}${UI}/nodes`)
  await page.getByText('5 of 5 nodes').waitFor()
  t.equal(await page.locator('[data-testid=node-table] [role=row]').count(), 5)
  await browser.screenshot(page, 'nodes')
  await page.getByTestId('filter').fill('worker-medium')
  await page.getByText('2 of 5 nodes').waitFor()
  await page.getByTestId('filter').fill('topology.kubernetes.io/zone=us-east-1c')
  await page.getByText('2 of 5 nodes').waitFor()
  t.same(await page.locator('[data-testid=node-table] [role=row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node'))), ['worker-large-1', 'worker-medium-2'])
  await page.getByTestId('filter').fill('notready')
  await page.getByText('1 of 5 nodes').waitFor()
  await page.getByTestId('filter').fill('')
  await page.getByTestId('sort-sessions').click()
  await page.getByTestId('sort-sessions').click()
  t.equal(await page.locator('[data-testid=node-table] [role=row]').first().getAttribute('data-node'), 'worker-large-1', 'most sessions first')
  // The same answer through the API.
  const api = await (await svc.api('/nodes?labelSelector=topology.kubernetes.io/zone%3Dus-east-1c')).json() as { name: string }[]
  t.same(api.map((n) => n.name), ['worker-large-1', 'worker-medium-2'])
  t.match(await countText(page), /5 of 5/)
})

async function openNode(page: Page, name: string) {
  await page.goto(`${svc.url}${UI}/nodes/${name}`)
  await page.getByTestId('node-name').waitFor()
}

await step('add and remove a label, with validation errors in the API\'s words', async (t, page) => {
  await openNode(page, 'worker-small-1')
  await page.getByTestId('add-label').click()
  await page.getByTestId('label-key').fill('bad key')
  await page.getByText(/Invalid value for key "bad key": name part must consist of alphanumeric characters/).waitFor()
  t.equal(await page.getByTestId('label-save').isDisabled(), true, 'cannot save an invalid key')
  await browser.screenshot(page, 'label-validation')
  // A key Kubernetes manages: the API refuses it without force and the dialog shows its words.
  browser.expectHttpErrors(400)
  await page.getByTestId('label-key').fill('kubernetes.io/arch')
  await page.getByTestId('label-value').fill('arm64')
  await page.getByTestId('label-save').click()
  await page.getByTestId('dialog-error').getByText(/Refusing to change label kubernetes.io\/arch/).waitFor()
  await page.getByTestId('label-key').fill('example.com/team')
  await page.getByTestId('label-value').fill('desktops')
  await page.getByTestId('label-save').click()
  await page.locator('[data-label="example.com/team"]').waitFor()
  t.equal((await core.readNode({ name: 'worker-small-1' })).metadata?.labels?.['example.com/team'], 'desktops', 'label on the cluster')
  t.equal((await core.readNode({ name: 'worker-small-1' })).metadata?.labels?.['kubernetes.io/arch'], 'amd64', 'refused change not made')
  await page.locator('[data-label="example.com/team"] .MuiChip-deleteIcon').click()
  await page.locator('[data-label="example.com/team"]').waitFor({ state: 'detached' })
  t.equal((await core.readNode({ name: 'worker-small-1' })).metadata?.labels?.['example.com/team'], undefined, 'label gone from the cluster')
})

await step('add and remove a taint; NoExecute asks for confirmation naming the sessions', async (t, page) => {
  await openNode(page, 'worker-small-1')
  await page.getByTestId('add-taint').click()
  await page.getByTestId('taint-key').fill('dedicated')
  await page.getByTestId('taint-value').fill('gpu!')
  await page.getByText(/Invalid value for value "gpu!"/).waitFor()
  await page.getByTestId('taint-value').fill('gpu')
  await page.getByRole('combobox').click()
  await page.getByRole('option', { name: 'NoExecute' }).click()
  await page.getByText(/up to 1 running session/).waitFor()
  t.equal(await page.getByTestId('taint-save').isDisabled(), true, 'NoExecute needs the confirmation')
  await page.getByRole('combobox').click()
  await page.getByRole('option', { name: 'NoSchedule', exact: true }).click()
  await page.getByTestId('taint-save').click()
  await page.locator('[data-taint="dedicated"]').waitFor()
  await browser.screenshot(page, 'node')
  t.same((await core.readNode({ name: 'worker-small-1' })).spec?.taints?.filter((x) => x.key === 'dedicated').map((x) => [x.value, x.effect]), [['gpu', 'NoSchedule']])
  await page.locator('[data-taint="dedicated"] .MuiChip-deleteIcon').click()
  await page.locator('[data-taint="dedicated"]').waitFor({ state: 'detached' })
  t.notOk((await core.readNode({ name: 'worker-small-1' })).spec?.taints?.some((x) => x.key === 'dedicated'), 'taint gone from the cluster')
})

await step('cordon with a reason, then uncordon', async (t, page) => {
  await openNode(page, 'worker-medium-1')
  await page.getByTestId('cordon').click()
  await page.getByText(/Its 2 running sessions keep running/).waitFor()
  await page.getByTestId('cordon-reason').fill('disk replacement')
  await page.getByTestId('cordon-confirm').click()
  await page.getByTestId('notice').getByText('worker-medium-1 cordoned: disk replacement').waitFor()
  await page.getByTestId('uncordon').waitFor()
  t.equal((await core.readNode({ name: 'worker-medium-1' })).spec?.unschedulable, true, 'cordoned on the cluster')
  await page.getByTestId('uncordon').click()
  await page.getByTestId('cordon').waitFor()
  t.notOk((await core.readNode({ name: 'worker-medium-1' })).spec?.unschedulable, 'uncordoned on the cluster')
})

await step('drain: dry-run preview, confirmation naming the sessions, live progress to completion', async (t, page) => {
  await openNode(page, 'worker-small-1')
  await page.getByTestId('drain').click()
  await page.getByTestId('drain-preview').click()
  await page.getByTestId('drain-preview-result').getByText(/cannot delete Pods with local storage/).waitFor()
  await page.getByLabel('delete_emptydir_data').check()
  await page.getByLabel('force').check()
  await page.getByTestId('drain-preview').click()
  await page.getByTestId('drain-preview-result').getByText(/sessions disrupted: 1/).waitFor()
  await page.getByTestId('drain-sessions').getByText(/disconnects 1 session on worker-small-1/).waitFor()
  await browser.screenshot(page, 'drain-preview')
  t.equal(await page.getByTestId('drain-start').isDisabled(), true, 'needs the confirmation')
  await page.getByTestId('drain-confirm').check()
  await page.getByTestId('drain-start').click()
  await page.getByTestId('drain-events').getByText(/pod_evicted/).first().waitFor()
  await page.getByText('Drain: succeeded').waitFor({ timeout: 60_000 })
  await browser.screenshot(page, 'drain-done')
  const counts = await page.getByTestId('drain-counts').innerText()
  t.match(counts, /^(\d+) of \1 pods evicted · sessions disrupted 1 of 1/)
  const status = await (await svc.api('/nodes/worker-small-1/drain')).json() as { phase: string; sessions_disrupted: number }
  t.equal(status.phase, 'succeeded')
  const left = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=worker-small-1' })
  t.same(left.items.filter((p) => !p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet')).map((p) => p.metadata?.name), [], 'only DaemonSet pods left')
  t.equal((await core.readNode({ name: 'worker-small-1' })).spec?.unschedulable, true)
})

await step('Cluster Health shows a node that went NotReady', async (t, page) => {
  sim.setNodeReady('worker-large-1', false)
  await page.goto(`${svc.url}${UI}/health`)
  await page.locator('[data-testid=problem-nodes] [data-node="worker-large-1"]').first().waitFor({ timeout: 30_000 })
  await page.locator('[data-testid=problem-nodes] [data-node="worker-medium-2"]').first().waitFor()
  t.match(await page.getByTestId('health-status').innerText(), /DEGRADED|CRITICAL/)
  await browser.screenshot(page, 'health')
  const h = await (await svc.api('/cluster/health')).json() as { nodes: { name: string; phase: string }[] }
  t.ok(h.nodes.some((n) => n.name === 'worker-large-1' && n.phase === 'NotReady'), 'the API agrees')
  sim.setNodeReady('worker-large-1', true)
})

await step('Node Resources draws usage over time with allocatable and requested', async (t, page) => {
  await waitFor(async () => {
    const m = await (await svc.api('/nodes/worker-medium-1/metrics?window=15m')).json() as { samples: unknown[] }
    return m.samples.length >= 2
  }, 20_000, 'two usage samples')
  await page.goto(`${svc.url}${UI}/resources?node=worker-medium-1`)
  // Flat lines have no height: Playwright calls them hidden, so wait for them to be there.
  const attached = { state: 'attached' } as const
  await page.locator('[data-testid=node-cpu-chart] polyline[data-series="CPU used"]').waitFor(attached)
  await page.locator('[data-testid=node-cpu-chart] polyline[data-series="allocatable"]').waitFor(attached)
  await page.locator('[data-testid=node-cpu-chart] polyline[data-series="requested"]').waitFor(attached)
  await page.locator('[data-testid=cluster-memory-chart] polyline').first().waitFor(attached)
  const points = await page.locator('[data-testid=node-cpu-chart] polyline[data-series="CPU used"]').getAttribute('points')
  t.ok((points ?? '').split(' ').length >= 2, `a line of ${points?.split(' ').length} points`)
  await browser.screenshot(page, 'resources')
})

await step('a 401 from the API signs out with the reason in words; a 403 is explained on the page', async (t, page) => {
  await page.goto(`${svc.url}${UI}/health`)
  await page.getByTestId('health-status').waitFor()
  browser.expectHttpErrors(401)
  await page.evaluate((bad) => localStorage.setItem('streamspace-auth', JSON.stringify({ state: { token: bad }, version: 0 })), makeToken({ secret: 'another-secret-that-is-at-least-32-characters' }))
  await page.goto(`${svc.url}${UI}/nodes`)
  await page.getByText(/Not signed in or the token is no longer valid \(Unauthorized: invalid token\)/).waitFor()
  t.equal(await page.evaluate(() => localStorage.getItem('streamspace-auth')), null, 'the refused token is forgotten, as StreamSpace does')
  // A non-admin: 403 in words.
  browser.expectHttpErrors(403)
  await signInThroughStorage(page, svc.url, makeToken({ role: 'user', username: 'bob' }))
  await page.goto(`${svc.url}${UI}/nodes`)
  await page.getByTestId('error').getByText(/Your account may not do this: Forbidden: role "user" is not admin/).waitFor()
  await browser.screenshot(page, 'forbidden')
})

await step('the pages are served with a Content-Security-Policy they satisfy (Swagger UI too)', async (t, page) => {
  const res = await page.goto(`${svc.url}${UI}/nodes`)
  const csp = res?.headers()['content-security-policy'] ?? ''
  t.match(csp, /default-src 'self'/, 'the admin UI has a CSP')
  t.match(csp, /script-src 'self'(;|$)/, 'no inline or eval scripts')
  await page.getByTestId('count').waitFor()
  // A script the policy forbids is refused and reported: the check that fails these steps works.
  await page.evaluate(() => { const s = document.createElement('script'); s.src = 'https://example.invalid/x.js'; document.head.append(s) })
  await waitFor(async () => browser.takeErrors().some((e) => /CSP violation: script-src/.test(e)), 5_000, 'the violation reported')
  const docs = await page.goto(`${svc.url}/docs/static/index.html`)
  t.match(docs?.headers()['content-security-policy'] ?? '', /default-src 'self'/, 'Swagger UI has the same CSP')
  await page.getByText('StreamSpace Node Manager').first().waitFor()
  await page.locator('.opblock').first().waitFor()
  await browser.screenshot(page, 'swagger-ui')
})
