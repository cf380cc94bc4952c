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
 * The whole list as prepared bytes (made once per change, compressed off the event loop when
 * first asked for), each representation with its own ETag; 304 on a revalidation, answered
 * before anything is compressed.
 */
export async function sendPreparedList(request: FastifyRequest, reply: FastifyReply, source: PreparedListSource): Promise<FastifyReply> {
  const list = source.preparedList()
  reply.header('vary', 'Accept-Encoding')
  const encoding = negotiateEncoding(request.headers['accept-encoding'])
  const encodedTag = encodedEtag(list.etag, encoding)
  if (noneMatch(request.headers['if-none-match'], encodedTag)) {
    reply.header('etag', encodedTag)
    // No payload at all: a 304 has no body, so nothing must be serialized (not even "null").
    return reply.code(304).send(undefined)
  }
  // The list's memory is written again for a later list once nothing reads it: held from here
  // (before any await) until this answer's socket has taken every byte or is gone ('close' comes
  // after 'finish').
  if (source.hold) reply.raw.once('close', source.hold(list))
  let body = list.body
  let etag = list.etag
  if (encoding) {
    const compressed = await source.encodedList(list, encoding).catch((err: unknown) => {
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
