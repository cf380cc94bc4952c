// The three patch types the API server accepts: JSON Patch (RFC 6902), JSON merge patch
// (RFC 7386) and strategic merge patch with the merge keys of the kinds the sim serves.
import { ApiError } from './status.js'

type Json = any

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** What the server answers for a JSON Patch that does not apply (it hides the reason). */
function unprocessable(_reason: string): ApiError {
  return new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {})
}

// ---- JSON Patch ----

function parsePointer(pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw unprocessable(`invalid JSON pointer "${pointer}"`)
  return pointer.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function getAt(doc: Json, parts: string[]): Json {
  let cur = doc
  for (const p of parts) {
    if (Array.isArray(cur)) cur = cur[Number(p)]
    else if (isObject(cur)) cur = cur[p]
    else return undefined
  }
  return cur
}

/** Applies ops to a deep copy of doc; throws 422 on a failing op, like the server. */
export function applyJsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new ApiError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch')
  let root = structuredClone(doc)
  const parentOf = (path: string) => {
    const parts = parsePointer(path)
    if (parts.length === 0) return { parent: undefined, key: '' }
    const parent = getAt(root, parts.slice(0, -1))
    if (parent === undefined) throw unprocessable(`jsonpatch: path "${path}": missing parent`)
    return { parent, key: parts[parts.length - 1] }
  }
  const remove = (path: string): Json => {
    const { parent, key } = parentOf(path)
    if (Array.isArray(parent)) {
      const i = Number(key)
      if (!(i >= 0 && i < parent.length)) throw unprocessable(`jsonpatch remove operation does not apply: doc is missing path: "${path}"`)
      return parent.splice(i, 1)[0]
    }
    if (!isObject(parent) || !(key in parent)) throw unprocessable(`jsonpatch remove operation does not apply: doc is missing path: "${path}"`)
    const old = parent[key]
    delete parent[key]
    return old
  }
  const add = (path: string, value: Json, replace: boolean) => {
    const { parent, key } = parentOf(path)
    if (parent === undefined) {
      root = value
      return
    }
    if (Array.isArray(parent)) {
      const i = key === '-' ? parent.length : Number(key)
      if (!(i >= 0 && i <= parent.length) || (replace && i >= parent.length)) throw unprocessable(`jsonpatch: index out of range for path "${path}"`)
      if (replace) parent[i] = value
      else parent.splice(i, 0, value)
    } else if (isObject(parent)) {
      if (replace && !(key in parent)) throw unprocessable(`jsonpatch replace operation does not apply: doc is missing key: ${path}`)
      parent[key] = value
    } else {
      throw unprocessable(`jsonpatch: path "${path}" does not point into an object or array`)
    }
  }
  for (const op of ops) {
    switch (op?.op) {
      case 'add': add(op.path, structuredClone(op.value), false); break
      case 'replace': add(op.path, structuredClone(op.value), true); break
      case 'remove': remove(op.path); break
      case 'move': add(op.path, remove(op.from), false); break
      case 'copy': add(op.path, structuredClone(getAt(root, parsePointer(op.from))), false); break
      case 'test':
        if (JSON.stringify(getAt(root, parsePointer(op.path))) !== JSON.stringify(op.value)) {
          throw unprocessable(`testing value ${op.path} failed: test failed`)
        }
        break
      default: throw unprocessable(`Unexpected kind: ${op?.op}`)
    }
  }
  return root
}

// ---- JSON merge patch ----

export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch)
  const result: Record<string, Json> = isObject(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k]
    else result[k] = applyMergePatch(result[k], v)
  }
  return result
}

// ---- strategic merge patch ----

/** Lists merged element by element, by path with list indexes dropped; every other list is replaced. */
const MERGE_KEYS: Record<string, string> = {
  'metadata.ownerReferences': 'uid',
  'spec.containers': 'name',
  'spec.initContainers': 'name',
  'spec.ephemeralContainers': 'name',
  'spec.volumes': 'name',
  'spec.containers.env': 'name',
  'spec.containers.ports': 'containerPort',
  'spec.containers.volumeMounts': 'mountPath',
  'spec.template.spec.containers': 'name',
  'spec.template.spec.initContainers': 'name',
  'spec.template.spec.volumes': 'name',
  'spec.template.spec.containers.env': 'name',
  'status.conditions': 'type',
  'status.addresses': 'type',
  'status.containerStatuses': 'name',
}
/** Lists of primitives merged as sets. */
const MERGED_PRIMITIVE_LISTS = new Set(['metadata.finalizers', 'spec.podCIDRs'])
// Node spec.taints (like pod spec.tolerations) is an atomic list in k8s.io/api: a strategic merge
// patch replaces it whole, which is what kubectl taint relies on (it sends the full new list). An
// item such as {key, $patch: delete} is then just an invalid taint, as on a real server.

export function applyStrategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) throw new ApiError(400, 'BadRequest', 'strategic merge patch must be a JSON object')
  return smpObject(target, patch, '') ?? {}
}

function smpObject(target: Json, patch: Record<string, Json>, path: string): Json {
  if (patch.$patch === 'delete') return undefined
  if (patch.$patch === 'replace') {
    const { $patch: _ignored, ...rest } = patch
    return structuredClone(rest)
  }
  const result: Record<string, Json> = isObject(target) ? { ...target } : {}
  if (Array.isArray(patch.$retainKeys)) {
    for (const k of Object.keys(result)) if (!patch.$retainKeys.includes(k)) delete result[k]
  }
  const orders: [string, Json[]][] = []
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys') continue
    if (key.startsWith('$setElementOrder/')) {
      orders.push([key.slice('$setElementOrder/'.length), value])
      continue
    }
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length)
      if (Array.isArray(result[field])) result[field] = result[field].filter((v: Json) => !value.includes(v))
      continue
    }
    const childPath = path ? `${path}.${key}` : key
    if (value === null) delete result[key]
    else if (Array.isArray(value)) {
      result[key] = smpList(result[key], value, childPath)
    } else if (isObject(value)) {
      const merged = smpObject(result[key], value, childPath)
      if (merged === undefined) delete result[key]
      else result[key] = merged
    } else result[key] = value
  }
  for (const [field, order] of orders) {
    if (Array.isArray(result[field])) result[field] = reorder(result[field], order, mergeKeyFor(path ? `${path}.${field}` : field))
  }
  return result
}

function mergeKeyFor(path: string): string | undefined {
  return MERGE_KEYS[path]
}

function smpList(target: Json, patch: Json[], path: string): Json[] {
  const replaceDirective = patch.findIndex((i) => isObject(i) && i.$patch === 'replace')
  if (replaceDirective >= 0) return structuredClone(patch.filter((_, i) => i !== replaceDirective))
  const current: Json[] = Array.isArray(target) ? target : []
  if (MERGED_PRIMITIVE_LISTS.has(path)) {
    const out = [...current]
    for (const v of patch) if (!out.includes(v)) out.push(v)
    return out
  }
  const key = mergeKeyFor(path)
  if (!key) return structuredClone(patch)
  const out = [...current]
  for (const item of patch) {
    if (!isObject(item)) continue
    const at = out.findIndex((e) => isObject(e) && e[key] === item[key])
    if (item.$patch === 'delete') {
      for (let i = out.length - 1; i >= 0; i--) if (isObject(out[i]) && out[i][key] === item[key]) out.splice(i, 1)
    } else if (at >= 0) out[at] = smpObject(out[at], item, path)
    else out.push(smpObject(undefined, item, path))
  }
  return out
}

function reorder(list: Json[], order: Json[], key: string | undefined): Json[] {
  const pos = (item: Json) => {
    const id = key && isObject(item) ? item[key] : item
    const i = order.findIndex((o) => (key && isObject(o) ? o[key] : o) === id)
    return i < 0 ? order.length : i
  }
  return [...list].sort((a, b) => pos(a) - pos(b))
}
