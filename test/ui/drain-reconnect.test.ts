// The drain progress stream survives a dropped connection: the browser talks to the service
// through a TCP proxy the test controls; the test cuts the event stream mid-drain, the page says
// so, reconnects with Last-Event-ID and follows the drain to its end without losing or repeating a step.
import t from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import { makeToken, startService } from '../helpers/service.js'
import { UI, buildUi, launch, stepper } from './browser.js'

buildUi()
const sim = await startSim({ podTerminateSeconds: 2 })
const kc = new KubeConfig()
kc.loadFromString(sim.kubeconfig())
const svc = await startService(kc)
const browser = await launch()

/** A TCP proxy to the service that remembers what each client connection asked for. */
const upstream = new URL(svc.url)
const connections: { client: Socket; sent: string }[] = []
const proxy = createServer((client) => {
  const entry = { client, sent: '' }
  connections.push(entry)
  const server = connect(Number(upstream.port), upstream.hostname)
  client.on('data', (d) => { entry.sent += d.toString('latin1') })
  client.pipe(server).pipe(client)
  client.on('error', () => server.destroy())
  server.on('error', () => client.destroy())
  client.on('close', () => server.destroy())
})
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
const viaProxy = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`
t.teardown(async () => {
  await browser.close()
  for (const c of connections) c.client.destroy()
  proxy.close()
  await svc.close()
  await sim.close()
})
const step = stepper(t, browser, viaProxy, makeToken({ username: 'alice' }))
const eventRequests = () => connections.flatMap((c) => c.sent.split(/(?=GET )/).filter((r) => r.startsWith('GET ') && r.includes('/drain/events')))

await step('the drain stream reconnects with Last-Event-ID after the connection is cut', async (t, page) => {
  const started = await svc.api('/nodes/worker-large-1/drain', { method: 'POST', json: { wait: false, force: true, delete_emptydir_data: true } })
  t.equal(started.status, 202)
  await page.goto(`${viaProxy}${UI}/nodes/worker-large-1`)
  await page.getByTestId('drain-events').getByText(/pod_evicting/).first().waitFor()
  t.equal(eventRequests().length, 1, 'one event stream so far')
  t.notMatch(eventRequests()[0], /last-event-id/i, 'the first asks from the start')
  // Cut every connection that carried the event stream.
  for (const c of connections.filter((c) => c.sent.includes('/drain/events'))) c.client.destroy()
  await page.getByTestId('drain-reconnecting').waitFor()
  // Chromium logs the cut stream; nothing else may be logged.
  t.same(browser.takeErrors().map((e) => e.replace(/\(http.*\/nodes\//, '(.../nodes/')), ['Failed to load resource: net::ERR_INCOMPLETE_CHUNKED_ENCODING (.../nodes/worker-large-1/drain/events)'], 'only the cut stream failed')
  await page.getByText('Drain: succeeded').waitFor({ timeout: 60_000 })
  t.equal(await page.getByTestId('drain-reconnecting').count(), 0, 'connected again')
  const again = eventRequests().slice(1)
  t.ok(again.length >= 1, 'reconnected')
  t.match(again[0], /\r\nlast-event-id: \d+\r\n/i, 'with the last event id it had')
  // Every step once: no gap and no repeat across the cut.
  const status = await (await svc.api('/nodes/worker-large-1/drain')).json() as { evicted: string[] }
  const shown = (await page.getByTestId('drain-events').innerText()).split('\n')
  for (const pod of status.evicted) t.equal(shown.filter((l) => l.endsWith(`pod_evicted ${pod}`)).length, 1, `${pod} evicted, shown once`)
  t.match(await page.getByTestId('drain-counts').innerText(), new RegExp(`^${status.evicted.length} of ${status.evicted.length} pods evicted`))
})
