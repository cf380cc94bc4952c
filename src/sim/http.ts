// Request bodies in and JSON answers out, as kube-apiserver reads and writes them.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { apiVersionOf, type ResourceDef } from './kinds.js'
import { decodeDeleteOptions, decodeObject, isProtobuf } from './protobuf.js'
import { ApiError, badRequest } from './status.js'
import { typedJsonOf, type Obj } from './store.js'

const MAX_BODY_BYTES = 16 * 1024 * 1024

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  sendText(res, code, JSON.stringify(body))
}

/** Items a list answer writes at a time (see sendList). */
const LIST_BATCH = 1000

/**
 * A list answer, written a batch of items at a time: 65,000 nodes of ~11 KB are ~750 MB of JSON,
 * more than one string can hold (V8's limit is ~512 MB). Chunked, as kube-apiserver streams a
 * large list; waits for the socket to drain between batches.
 */
export async function sendList(res: ServerResponse, head: string, items: string[]): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' })
  res.write(head + '[')
  for (let i = 0; i < items.length; i += LIST_BATCH) {
    const ok = res.write((i > 0 ? ',' : '') + items.slice(i, i + LIST_BATCH).join(','))
    if (!ok && !res.destroyed) await new Promise((resolve) => { res.once('drain', resolve); res.once('close', resolve) })
    if (res.destroyed) return
  }
  res.end(']}')
}

export function sendText(res: ServerResponse, code: number, data: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), 'Cache-Control': 'no-cache, private' })
  res.end(data)
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.code, err.toStatus())
}

/** The request body: JSON, or the few protobuf bodies kubectl sends; undefined when empty. */
export async function readBody(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large')
    chunks.push(chunk)
  }
  const body = Buffer.concat(chunks)
  if (isProtobuf(req.headers['content-type'])) {
    if (req.method === 'DELETE') return decodeDeleteOptions(body)
    if (req.method === 'POST' || req.method === 'PUT') return decodeObject(body)
    throw new ApiError(415, 'UnsupportedMediaType', 'the simulator accepts only JSON request bodies here')
  }
  const text = body.toString('utf8')
  if (!text.trim()) return undefined
  try {
    return JSON.parse(text)
  } catch {
    throw badRequest(`the body of the request was in an unknown format - accepted media types include: application/json`)
  }
}

/** A single object as the server sends it: kind and apiVersion first. */
export const withType = (def: ResourceDef, obj: Obj): Obj => ({ kind: def.kind, apiVersion: apiVersionOf(def), ...obj })
export const typedJson = (def: ResourceDef, obj: Obj): string => typedJsonOf(def.kind, apiVersionOf(def), obj)
