// A client that reads the node list slowly gets the bytes of the version it was sent, whole, while
// newer lists are made meanwhile: the list's memory is used again for later lists only once its
// answers have been sent (src/nodes/list-buffers.ts). The list is larger than what the kernel
// buffers on loopback (~4 MB send buffer), so part of it is still in the service when newer lists
// are written.
import t from 'tap'
import { createHash } from 'node:crypto'
import { connect } from 'node:net'
import { KubeConfig } from '@kubernetes/client-node'
import { startSim } from '../../src/sim/index.js'
import { startService, makeToken, API_PREFIX, waitFor } from '../helpers/service.js'
import { kubeRequest } from '../helpers/fixtures.js'

t.test('a slow reader gets its list whole while newer lists are written', async (t) => {
  const sim = await startSim({ nodes: 8_000, podsPerNode: 0, metrics: false })
  const kc = new KubeConfig()
  kc.loadFromString(sim.kubeconfig())
  const svc = await startService(kc)
  t.teardown(async () => { await svc.close(); await sim.close() })
  const first = await svc.api('/nodes')
  const names = (await first.json() as { name: string }[]).map((n) => n.name)

  // The slow reader: asks, then reads nothing for a while.
  const { port } = new URL(svc.url)
  const socket = connect(Number(port), '127.0.0.1')
  socket.pause()
  socket.write(`GET ${API_PREFIX}/nodes HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${makeToken()}\r\nconnection: close\r\n\r\n`)
  await new Promise((r) => setTimeout(r, 500))

  // Newer lists, each asked for (and so written) by another client.
  let etag = first.headers.get('etag')
  for (let i = 1; i <= 4; i++) {
    await kubeRequest(kc, 'PATCH', `/api/v1/nodes/${names[0]}`, { metadata: { labels: { round: String(i) } } }, 'application/merge-patch+json')
    await waitFor(async () => {
      const res = await svc.api('/nodes')
      await res.arrayBuffer()
      return res.headers.get('etag') !== etag && (etag = res.headers.get('etag'), true)
    }, 10_000, `list ${i}`)
  }

  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  socket.resume()
  await new Promise((r) => socket.once('end', r))
  const answer = Buffer.concat(chunks)
  const split = answer.indexOf('\r\n\r\n')
  const head = answer.subarray(0, split).toString()
  const body = answer.subarray(split + 4)
  t.match(head, /^HTTP\/1\.1 200/)
  const sentEtag = /^etag: (.+)$/mi.exec(head)?.[1]?.trim()
  t.equal(body.length, Number(/^content-length: (\d+)/mi.exec(head)?.[1]), 'every byte came')
  t.ok(body.length > 6_000_000, `the list (${body.length} bytes) is larger than loopback buffers`)
  t.equal(`"${createHash('sha1').update(body).digest('base64url')}"`, sentEtag, 'the bytes are those of the version its ETag names')
  t.equal((JSON.parse(body.toString()) as unknown[]).length, names.length)
})
