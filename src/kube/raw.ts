// Plain JSON reads through client-node's authentication and TLS setup. Used for the big lists
// behind the watch caches: client-node's model objects make a list ~1.8x slower than
// JSON.parse, and we keep only a few fields anyway.
import { ApiException, HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node'
import { fetch, request } from 'undici'

/**
 * The body of one page of a LIST, as bytes: readListPage hands its items over one by one, so no
 * string of the whole page (MBs: large-object space, freed only by a full GC) is ever made, and
 * the raw items die young once the caller has taken what it keeps. At 150,000 pods that is the
 * difference between ~370 and ~250 MB of RSS after a sync. The bytes are gathered in `into`: the
 * result is a view of it, valid until it takes the next page.
 */
export async function getListBody(kc: KubeConfig, path: string, query: Record<string, string | number | undefined>, signal: AbortSignal | undefined, into: PageBuffer): Promise<Buffer> {
  const cluster = kc.getCurrentCluster()
  if (!cluster) throw new Error('kubeconfig has no current cluster')
  const url = new URL(cluster.server.replace(/\/+$/, '') + path)
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v))
  const ctx = new RequestContext(url.toString(), HttpMethod.GET)
  await kc.applySecurityAuthentication(ctx)
  // undici's request, not fetch: no WHATWG stream between the socket and us (~2 ms less a 1.2 MB page).
  const res = await request(url, { headers: { ...ctx.getHeaders(), accept: 'application/json' }, dispatcher: ctx.getDispatcher(), signal })
  into.reset()
  for await (const chunk of res.body) into.append(chunk as Buffer)
  const body = into.bytes()
  if (res.statusCode !== 200) {
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v
    throw new ApiException(res.statusCode, `HTTP ${res.statusCode} from GET ${path}`, body.toString(), headers)
  }
  return body
}

/**
 * Memory for one page's bytes at a time, reused page after page: a new MB-size buffer per page
 * (mapped afresh, as the image's malloc maps every block over 128 KiB) cost its page faults,
 * ~1.5 ms of a 150,000-pod sync's ~15 ms a page. bytes() is valid until the next reset().
 */
export class PageBuffer {
  private buf = Buffer.allocUnsafe(0)
  private length = 0

  reset(): void { this.length = 0 }

  append(chunk: Buffer): void {
    if (this.length + chunk.length > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.length + chunk.length, this.buf.length * 2))
      this.buf.copy(grown, 0, 0, this.length)
      this.buf = grown
    }
    chunk.copy(this.buf, this.length)
    this.length += chunk.length
  }

  bytes(): Buffer { return this.buf.subarray(0, this.length) }
}

const QUOTE = 0x22, BACKSLASH = 0x5c, OPEN_BRACE = 0x7b, CLOSE_BRACE = 0x7d, OPEN_BRACKET = 0x5b, CLOSE_BRACKET = 0x5d, COMMA = 0x2c, COLON = 0x3a

/** Index after the string that starts at `i` (a quote). */
function skipString(buf: Buffer, i: number): number {
  let j = i + 1
  for (;;) {
    const k = buf.indexOf(QUOTE, j)
    if (k < 0) throw new SyntaxError('unterminated string in JSON list')
    let backslashes = 0
    while (buf[k - 1 - backslashes] === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return k + 1
    j = k + 1
  }
}

function skipWs(buf: Buffer, i: number): number {
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++
  return i
}

/** Index after the JSON value that starts at `i`. */
function skipValue(buf: Buffer, i: number): number {
  const c = buf[i]
  if (c === QUOTE) return skipString(buf, i)
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    // A list page is MBs of bytes: each string is skipped whole (its end found by indexOf, not
    // byte by byte: ~1.9 against ~3 ms a page of 500 pods), so brackets inside strings are not counted.
    let depth = 0
    for (let j = i, n = buf.length; j < n; j++) {
      const d = buf[j]
      if (d === QUOTE) j = skipString(buf, j) - 1
      else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++
      else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) { if (--depth === 0) return j + 1 }
    }
    throw new SyntaxError('unterminated object in JSON list')
  }
  let j = i
  while (j < buf.length && buf[j] !== COMMA && buf[j] !== CLOSE_BRACE && buf[j] !== CLOSE_BRACKET && buf[j] !== 0x20 && buf[j] !== 0x0a && buf[j] !== 0x0d && buf[j] !== 0x09) j++
  return j
}

/**
 * A list's `metadata.continue` read before its items are parsed, so the next page can be asked for
 * while this one is: '' when the list has no more pages, undefined when the items come first (the
 * API server writes metadata before items; anything else waits for the whole parse).
 */
export function continueOf(buf: Buffer): string | undefined {
  let i = skipWs(buf, 0)
  if (buf[i] !== OPEN_BRACE) return undefined
  i = skipWs(buf, i + 1)
  while (buf[i] === QUOTE) {
    const keyEnd = skipString(buf, i)
    const key = JSON.parse(buf.toString('utf8', i, keyEnd)) as string
    i = skipWs(buf, keyEnd)
    if (buf[i] !== COLON || key === 'items') return undefined
    i = skipWs(buf, i + 1)
    const end = skipValue(buf, i)
    if (key === 'metadata') return String((JSON.parse(buf.toString('utf8', i, end)) as { continue?: unknown } | null)?.continue ?? '')
    i = skipWs(buf, end)
    if (buf[i] !== COMMA) return undefined
    i = skipWs(buf, i + 1)
  }
  return undefined
}

/**
 * The members of a JSON value to keep: `true` keeps the value whole; an object keeps only the
 * members it names, each cut by its own mask (on an array, the mask applies to every element).
 */
export type FieldMask = true | { readonly [member: string]: FieldMask }

interface CompiledMask { readonly members: readonly { readonly name: string; readonly bytes: Buffer; readonly mask: CompiledMask | true }[] }

const compiledMasks = new WeakMap<object, CompiledMask>()

function compile(mask: FieldMask): CompiledMask | true {
  if (mask === true) return true
  let c = compiledMasks.get(mask)
  if (!c) {
    c = { members: Object.entries(mask).map(([name, sub]) => ({ name, bytes: Buffer.from(name), mask: compile(sub) })) }
    compiledMasks.set(mask, c)
  }
  return c
}

/**
 * Parses JSON values from a list page's bytes, keeping only what a FieldMask names: the members
 * left out are skipped over, never made into objects. A pod is ~2.5 KB of JSON of which the cache
 * keeps a tenth; parsing it whole made most of a sync's garbage (a 150,000-pod sync: ~10 s of CPU
 * with the GC's threads, which took the second core from the API server writing the next pages).
 * Member names are matched on their bytes as the API server writes them (it escapes none).
 */
class MaskedReader {
  /** Index after the value last read. */
  end = 0
  constructor(private readonly buf: Buffer) {}

  value(i: number, mask: CompiledMask | true): unknown {
    const buf = this.buf
    if (mask === true) return this.whole(i)
    if (buf[i] === OPEN_BRACKET) {
      const out: unknown[] = []
      i = skipWs(buf, i + 1)
      while (buf[i] !== CLOSE_BRACKET) {
        out.push(this.value(i, mask))
        i = this.next(this.end, CLOSE_BRACKET)
      }
      this.end = i + 1
      return out
    }
    if (buf[i] !== OPEN_BRACE) return this.whole(i)
    const out: Record<string, unknown> = {}
    i = skipWs(buf, i + 1)
    while (buf[i] !== CLOSE_BRACE) {
      if (buf[i] !== QUOTE) throw new SyntaxError(`expected a key at byte ${i} of a JSON list`)
      const keyEnd = skipString(buf, i)
      const member = this.member(mask, i + 1, keyEnd - 1)
      i = skipWs(buf, keyEnd)
      if (buf[i] !== COLON) throw new SyntaxError(`expected ':' at byte ${i} of a JSON list`)
      i = skipWs(buf, i + 1)
      if (member) out[member.name] = this.value(i, member.mask)
      else this.end = skipValue(buf, i)
      i = this.next(this.end, CLOSE_BRACE)
    }
    this.end = i + 1
    return out
  }

  /** The value at `i` parsed whole; a string without escapes is decoded directly. */
  private whole(i: number): unknown {
    const buf = this.buf
    const end = (this.end = skipValue(buf, i))
    if (buf[i] === QUOTE) {
      let j = i + 1
      while (j < end - 1 && buf[j] !== BACKSLASH) j++
      if (j === end - 1) return buf.toString('utf8', i + 1, end - 1)
    }
    return JSON.parse(buf.toString('utf8', i, end))
  }

  private member(mask: CompiledMask, from: number, to: number) {
    const buf = this.buf
    const len = to - from
    for (const m of mask.members) {
      if (m.bytes.length !== len) continue
      let j = 0
      while (j < len && m.bytes[j] === buf[from + j]) j++
      if (j === len) return m
    }
    return undefined
  }

  /** Past the comma after a member or element, or at the closing bracket. */
  private next(i: number, close: number): number {
    const buf = this.buf
    i = skipWs(buf, i)
    if (buf[i] === COMMA) return skipWs(buf, i + 1)
    if (buf[i] !== close) throw new SyntaxError(`expected ',' or '${String.fromCharCode(close)}' at byte ${i} of a JSON list`)
    return i
  }
}

/**
 * A Kubernetes list (`{"kind":..,"metadata":{..},"items":[..]}`) from its bytes: yields each item,
 * parsed from its own slice (only the members `fields` names, when given), and returns the other
 * top-level members. Anything that is not such an object is parsed whole (and its items, if any,
 * yielded the same way). A generator, so that a caller can let the event loop run between items.
 */
export function* readListPage<M>(buf: Buffer, fields?: FieldMask): Generator<unknown, M, undefined> {
  const head: Record<string, unknown> = {}
  let i = skipWs(buf, 0)
  if (buf[i] !== OPEN_BRACE) {
    const whole = JSON.parse(buf.toString()) as { items?: unknown[] }
    for (const item of whole?.items ?? []) yield item
    return whole as M
  }
  const mask = fields === undefined ? undefined : compile(fields)
  const reader = new MaskedReader(buf)
  i = skipWs(buf, i + 1)
  if (buf[i] === CLOSE_BRACE) return head as M
  for (;;) {
    if (buf[i] !== QUOTE) throw new SyntaxError(`expected a key at byte ${i} of a JSON list`)
    const keyEnd = skipString(buf, i)
    const key = JSON.parse(buf.toString('utf8', i, keyEnd)) as string
    i = skipWs(buf, keyEnd)
    if (buf[i] !== COLON) throw new SyntaxError(`expected ':' at byte ${i} of a JSON list`)
    i = skipWs(buf, i + 1)
    if (key === 'items' && buf[i] === OPEN_BRACKET) {
      i = skipWs(buf, i + 1)
      while (buf[i] !== CLOSE_BRACKET) {
        let end: number
        if (mask) {
          const item = reader.value(i, mask)
          end = reader.end
          yield item
        } else {
          end = skipValue(buf, i)
          yield JSON.parse(buf.toString('utf8', i, end))
        }
        i = skipWs(buf, end)
        if (buf[i] === COMMA) i = skipWs(buf, i + 1)
        else if (buf[i] !== CLOSE_BRACKET) throw new SyntaxError(`expected ',' or ']' at byte ${i} of a JSON list`)
      }
      i++
    } else {
      const end = skipValue(buf, i)
      head[key] = JSON.parse(buf.toString('utf8', i, end))
      i = end
    }
    i = skipWs(buf, i)
    if (buf[i] === COMMA) { i = skipWs(buf, i + 1); continue }
    if (buf[i] === CLOSE_BRACE) return head as M
    throw new SyntaxError(`expected ',' or '}' at byte ${i} of a JSON list`)
  }
}

/**
 * A JSON request (create, update, merge patch) through client-node's authentication; non-2xx
 * throws an ApiException. PATCH sends a JSON merge patch.
 */
export async function requestJson<T>(kc: KubeConfig, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const cluster = kc.getCurrentCluster()
  if (!cluster) throw new Error('kubeconfig has no current cluster')
  const url = new URL(cluster.server.replace(/\/+$/, '') + path)
  const ctx = new RequestContext(url.toString(), HttpMethod[method])
  await kc.applySecurityAuthentication(ctx)
  const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json'
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), dispatcher: ctx.getDispatcher(), signal })
  const text = await res.text()
  if (res.status < 200 || res.status > 299) {
    const h: Record<string, string> = {}
    res.headers.forEach((v, k) => { h[k] = v })
    throw new ApiException(res.status, `HTTP ${res.status} from ${method} ${path}`, text, h)
  }
  return JSON.parse(text) as T
}
