// Content negotiation for the prepared node list: which of its kept encodings a client takes
// (Accept-Encoding, RFC 9110 12.5.3), and conditional requests against the chosen representation.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ListEncoding, PreparedList } from '../nodes/read-model.js'

/** Preferred first when a client weighs them equally: brotli's list is the smaller. */
const OFFERED: ListEncoding[] = ['br', 'gzip']

/**
 * The coding to send for an Accept-Encoding header: the offered one with the highest q > 0
 * (brotli on a tie; `*` stands for any coding not named), undefined for identity (no header,
 * or nothing offered acceptable).
 */
export function negotiateEncoding(header: string | undefined): ListEncoding | undefined {
  if (!header) return undefined
  const q = new Map<string, number>()
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';')
    if (!coding) continue
    let weight = 1
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p)
      if (m) weight = Number(m[1])
    }
    q.set(coding.trim(), Number.isFinite(weight) ? weight : 0)
  }
  let best: ListEncoding | undefined
  let bestQ = 0
  for (const coding of OFFERED) {
    const weight = q.get(coding) ?? q.get('*') ?? 0
    if (weight > bestQ) { best = coding; bestQ = weight }
  }
  return best
}

/** The ETag of the list in a coding: each representation has its own (`"hash"`, `"hash-gzip"`, `"hash-br"`). */
export function encodedEtag(etag: string, encoding: ListEncoding | undefined): string {
  return encoding ? `${etag.slice(0, -1)}-${encoding}"` : etag
}

/** If-None-Match against the representation's ETag (weak comparison, as RFC 9110 13.1.2 asks; `*` matches). */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false
  return header.split(',').some((t) => {
    const tag = t.trim()
    return tag === '*' || tag.replace(/^W\//, '') === etag
  })
}

/** Where a prepared list comes from: P/nodes' read model, or StreamSpace's shape of it. */
export interface PreparedListSource {
  preparedList(): PreparedList
  encodedList(list: PreparedList, encoding: ListEncoding): Promise<Buffer>
  /** Keeps the list's memory from being reused until the returned release is called. */
  hold?(list: PreparedList): () => void
}

/**
 * Lists at least this large may be answered compressed from the list before while the newest is
 * being compressed (at 65,000 nodes: 55 MB, ~1 s to compress, and AGE texts change every second,
 * so waiting for the newest would mean compressing without end). Smaller lists always wait.
 */
export const STALE_COMPRESSED_MIN_BYTES = 16 * 1024 * 1024
/** How much older than the newest a compressed list may be when it is answered instead. */
export const STALE_COMPRESSED_MAX_MS = 5000

/** Per source and coding: the last list compressed, and the one being compressed. */
interface Compressions { done?: { list: PreparedList; bytes: Buffer; at: number }; running?: PreparedList }
const compressions = new WeakMap<PreparedListSource, Partial<Record<ListEncoding, Compressions>>>()

/**
 * The list to answer in `encoding` and its bytes: `list`'s own, or (for a large list, while its
 * compression runs) the last list compressed if it is recent: a cache serving while it revalidates.
 */
export function compressedChoice(source: PreparedListSource, list: PreparedList, encoding: ListEncoding, now: number): { list: PreparedList; bytes: Promise<Buffer> } {
  let bySource = compressions.get(source)
  if (!bySource) compressions.set(source, (bySource = {}))
  const c = (bySource[encoding] ??= {})
  const own = () => {
    const bytes = source.encodedList(list, encoding)
    if (c.running !== list) {
      c.running = list
      bytes.then((b) => { if (!c.done || c.done.at <= now) c.done = { list, bytes: b, at: now } }, () => undefined)
        .finally(() => { if (c.running === list) c.running = undefined })
    }
    return { list, bytes }
  }
  if (c.done?.list === list) return { list, bytes: Promise.resolve(c.done.bytes) }
  if (list.body.length < STALE_COMPRESSED_MIN_BYTES || !c.done || now - c.done.at > STALE_COMPRESSED_MAX_MS) return own()
  // One compression at a time: the newest list is compressed once the one running is done.
  if (!c.running) own()
  return { list: c.done.list, bytes: Promise.resolve(c.done.bytes) }
}

/**
 * The whole list as prepared bytes (made once per change, compressed off the event loop when
 * first asked for), each representation with its own ETag; 304 on a revalidation, answered
 * before anything is compressed.
 */
export async function sendPreparedList(request: FastifyRequest, reply: FastifyReply, source: PreparedListSource): Promise<FastifyReply> {
  const newest = source.preparedList()
  reply.header('vary', 'Accept-Encoding')
  const encoding = negotiateEncoding(request.headers['accept-encoding'])
  const choice = encoding ? compressedChoice(source, newest, encoding, Date.now()) : undefined
  const list = choice?.list ?? newest
  const encodedTag = encodedEtag(list.etag, encoding)
  if (noneMatch(request.headers['if-none-match'], encodedTag)) {
    reply.header('etag', encodedTag)
    // No payload at all: a 304 has no body, so nothing must be serialized (not even "null").
    return reply.code(304).send(undefined)
  }
  // The list's memory is written again for a later list once nothing reads it: held from here
  // (before any await) until this answer's socket has taken every byte or is gone ('close' comes
  // after 'finish'). An older list answered compressed needs only its compressed bytes.
  if (source.hold) reply.raw.once('close', source.hold(newest))
  let body = newest.body
  let etag = newest.etag
  if (encoding && choice) {
    const compressed = await choice.bytes.catch((err: unknown) => {
      request.log.warn({ err, encoding }, 'compressing the node list failed: answering uncompressed')
      return undefined
    })
    if (compressed) {
      body = compressed
      etag = encodedTag
      reply.header('content-encoding', encoding)
    }
  }
  reply.header('etag', etag)
  // Prepared JSON: Fastify sends a Buffer as it is, without re-serializing.
  return reply.type('application/json; charset=utf-8').send(body)
}
