// Just enough of the Kubernetes protobuf encoding to read the DeleteOptions body that kubectl
// (client-go typed clients) sends with DELETE, e.g. in `kubectl drain --disable-eviction`.
import { badRequest } from './status.js'

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]) // "k8s\0"

interface Field { no: number; wire: number; varint?: bigint; bytes?: Buffer }

function fields(buf: Buffer): Field[] {
  const out: Field[] = []
  let i = 0
  const varint = (): bigint => {
    let result = 0n
    let shift = 0n
    for (;;) {
      if (i >= buf.length) throw badRequest('truncated protobuf body')
      const b = buf[i++]
      result |= BigInt(b & 0x7f) << shift
      if (!(b & 0x80)) return result
      shift += 7n
    }
  }
  while (i < buf.length) {
    const key = Number(varint())
    const no = key >> 3
    const wire = key & 7
    if (wire === 0) out.push({ no, wire, varint: varint() })
    else if (wire === 2) {
      const len = Number(varint())
      out.push({ no, wire, bytes: buf.subarray(i, i + len) })
      i += len
    } else if (wire === 1) i += 8
    else if (wire === 5) i += 4
    else throw badRequest('unsupported protobuf wire type')
  }
  return out
}

export function isProtobuf(contentType: string | undefined): boolean {
  return !!contentType && contentType.startsWith('application/vnd.kubernetes.protobuf')
}

/** Decodes a runtime.Unknown-wrapped meta/v1 DeleteOptions into its JSON form. */
export function decodeDeleteOptions(body: Buffer): Record<string, any> {
  if (body.length === 0) return {}
  if (!body.subarray(0, 4).equals(MAGIC)) throw badRequest('protobuf body without the k8s envelope')
  const raw = fields(body.subarray(4)).find((f) => f.no === 2)?.bytes
  const opts: Record<string, any> = {}
  if (!raw) return opts
  for (const f of fields(raw)) {
    if (f.no === 1 && f.varint !== undefined) opts.gracePeriodSeconds = Number(BigInt.asIntN(64, f.varint))
    else if (f.no === 2 && f.bytes) {
      const pre: Record<string, string> = {}
      for (const p of fields(f.bytes)) {
        if (p.no === 1 && p.bytes) pre.uid = p.bytes.toString('utf8')
        if (p.no === 2 && p.bytes) pre.resourceVersion = p.bytes.toString('utf8')
      }
      opts.preconditions = pre
    } else if (f.no === 3 && f.varint !== undefined) opts.orphanDependents = f.varint !== 0n
    else if (f.no === 4 && f.bytes) opts.propagationPolicy = f.bytes.toString('utf8')
    else if (f.no === 5 && f.bytes) (opts.dryRun ??= []).push(f.bytes.toString('utf8'))
  }
  return opts
}
