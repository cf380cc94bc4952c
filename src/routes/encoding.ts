// Content negotiation for the prepared node list: which of its kept encodings a client takes
// (Accept-Encoding, RFC 9110 12.5.3), and conditional requests against the chosen representation.
import type { ListEncoding } from '../nodes/read-model.js'

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
