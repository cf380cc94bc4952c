// Where pages go during a chaos run, recorded: a webhook receiver that refuses some deliveries
// (500, so the service retries) and a recording proxy in front of a real Alertmanager.
import { createServer, request, type IncomingMessage, type Server } from 'node:http'
import type { AlertmanagerReceipt, WebhookReceipt } from './history.js'

const readBody = (req: IncomingMessage) => new Promise<Buffer>((resolve) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => resolve(Buffer.concat(chunks)))
})

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

const closing = (server: Server) => () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })

/** Answers 500 to a fraction `refuse()` says, 200 otherwise; records every delivery and its answer. */
export async function webhookReceiver(receipts: WebhookReceipt[], refuse: () => boolean): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const body = JSON.parse((await readBody(req)).toString() || '{}') as { status?: string; alerts?: { labels?: Record<string, string> }[] }
    const answered = refuse() ? 500 : 200
    receipts.push({ at: Date.now(), id: String(req.headers['x-streamspace-delivery'] ?? ''), answered, status: body.status ?? '', labels: body.alerts?.[0]?.labels ?? {} })
    res.writeHead(answered)
    res.end()
  })
  return { url: await listen(server), close: closing(server) }
}

/** Forwards to Alertmanager at `target`, recording each POST /api/v2/alerts and Alertmanager's answer. */
export async function alertmanagerRecorder(target: string, receipts: AlertmanagerReceipt[]): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const body = await readBody(req)
    const up = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
      if (req.method === 'POST' && req.url?.startsWith('/api/v2/alerts')) {
        const alerts = JSON.parse(body.toString() || '[]') as AlertmanagerReceipt['alerts']
        receipts.push({ at: Date.now(), answered: answer.statusCode ?? 0, alerts: alerts.map((a) => ({ labels: a.labels, startsAt: a.startsAt, endsAt: a.endsAt })) })
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    up.on('error', () => res.destroy())
    up.end(body)
  })
  return { url: await listen(server), close: closing(server) }
}
