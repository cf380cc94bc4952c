// Just enough of the Kubernetes protobuf encoding to read the bodies kubectl's typed clients send
// as protobuf: DeleteOptions with DELETE (`kubectl drain --disable-eviction`), and the ConfigMaps
// and Namespaces of `kubectl create configmap|namespace`.
import { ApiError, badRequest } from './status.js'

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

const utf8 = (b: Buffer | undefined) => (b ? b.toString('utf8') : '')

/** The runtime.Unknown envelope: [TypeMeta{apiVersion, kind}, raw]. */
function unwrap(body: Buffer): { apiVersion: string; kind: string; raw: Buffer } {
  if (!body.subarray(0, 4).equals(MAGIC)) throw badRequest('protobuf body without the k8s envelope')
  const top = fields(body.subarray(4))
  const typeMeta = fields(top.find((f) => f.no === 1)?.bytes ?? Buffer.alloc(0))
  return {
    apiVersion: utf8(typeMeta.find((f) => f.no === 1)?.bytes),
    kind: utf8(typeMeta.find((f) => f.no === 2)?.bytes),
    raw: top.find((f) => f.no === 2)?.bytes ?? Buffer.alloc(0),
  }
}

function stringMap(entries: Field[], asBase64 = false): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of entries) {
    const kv = fields(e.bytes!)
    const value = kv.find((f) => f.no === 2)?.bytes
    out[utf8(kv.find((f) => f.no === 1)?.bytes)] = asBase64 ? (value ?? Buffer.alloc(0)).toString('base64') : utf8(value)
  }
  return out
}

/** meta/v1 ObjectMeta: the fields a client sets on create. */
function objectMeta(buf: Buffer): Record<string, any> {
  const f = fields(buf)
  const meta: Record<string, any> = {}
  // proto2 sends empty optional strings too: an empty value means unset.
  const str = (no: number) => utf8(f.find((x) => x.no === no)?.bytes)
  if (str(1)) meta.name = str(1)
  if (str(2)) meta.generateName = str(2)
  if (str(3)) meta.namespace = str(3)
  if (str(6)) meta.resourceVersion = str(6)
  const labels = f.filter((x) => x.no === 11)
  if (labels.length) meta.labels = stringMap(labels)
  const annotations = f.filter((x) => x.no === 12)
  if (annotations.length) meta.annotations = stringMap(annotations)
  const finalizers = f.filter((x) => x.no === 14)
  if (finalizers.length) meta.finalizers = finalizers.map((x) => utf8(x.bytes))
  return meta
}

/** Decodes a protobuf ConfigMap or Namespace body into its JSON form; other kinds are 415. */
export function decodeObject(body: Buffer): Record<string, any> {
  const { apiVersion, kind, raw } = unwrap(body)
  const f = fields(raw)
  const metadata = objectMeta(f.find((x) => x.no === 1)?.bytes ?? Buffer.alloc(0))
  if (kind === 'ConfigMap') {
    const obj: Record<string, any> = { apiVersion, kind, metadata }
    const data = f.filter((x) => x.no === 2)
    if (data.length) obj.data = stringMap(data)
    const binary = f.filter((x) => x.no === 3)
    if (binary.length) obj.binaryData = stringMap(binary, true)
    const immutable = f.find((x) => x.no === 4)
    if (immutable) obj.immutable = immutable.varint !== 0n
    return obj
  }
  if (kind === 'Namespace') return { apiVersion, kind, metadata }
  throw new ApiError(415, 'UnsupportedMediaType', `the simulator reads protobuf bodies only for ConfigMap, Namespace and DeleteOptions, not ${kind}: send JSON`)
}

export function isProtobuf(contentType: string | undefined): boolean {
  return !!contentType && contentType.startsWith('application/vnd.kubernetes.protobuf')
}

/** Decodes a runtime.Unknown-wrapped meta/v1 DeleteOptions into its JSON form. */
export function decodeDeleteOptions(body: Buffer): Record<string, any> {
  if (body.length === 0) return {}
  const { raw } = unwrap(body)
  const opts: Record<string, any> = {}
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
