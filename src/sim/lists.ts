// LIST as the API server serves it from its cache: label and field selectors, limit/continue in key
// order with remainingItemCount, and 410 for a continue token older than the kept history.
import { idOf, type ResourceDef } from './kinds.js'
import { fieldMatcher, parseFieldSelector, parseLabelSelector, type FieldRequirement } from './selectors.js'
import { badRequest, gone } from './status.js'
import { lowerBound, objectKey, type Obj, type Store } from './store.js'

interface ContinueToken { rv: number; start: string }

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: t.start })).toString('base64')
}

function decodeContinue(text: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64').toString('utf8'))
    if (typeof t.rv !== 'number' || typeof t.start !== 'string') throw new Error('bad token')
    return t
  } catch {
    throw badRequest('invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)')
  }
}

const CONTINUE_EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.'

/** The keys a list or watch has to look at: keys[from..to), narrowed by spec.nodeName (indexed), metadata.name or namespace. */
export function candidateKeys(store: Store, def: ResourceDef, ns: string | undefined, fields: FieldRequirement[]): { keys: string[]; from: number; to: number } {
  const id = idOf(def)
  const nodeField = id === 'pods' ? fields.find((f) => f.field === 'spec.nodeName' && f.op === 'eq' && f.value) : undefined
  if (nodeField) {
    const keys = [...(store.podsByNode.get(nodeField.value) ?? [])].filter((k) => !ns || k.startsWith(`${ns}/`)).sort()
    return { keys, from: 0, to: keys.length }
  }
  const nameField = fields.find((f) => f.field === 'metadata.name' && f.op === 'eq')
  const c = store.collection(id)
  if (nameField) {
    const key = objectKey(def.namespaced ? ns : undefined, nameField.value)
    const keys = ns || !def.namespaced ? (c.objects.has(key) ? [key] : []) : c.keys.filter((k) => k.endsWith(`/${nameField.value}`))
    return { keys, from: 0, to: keys.length }
  }
  if (ns && def.namespaced) {
    const prefix = `${ns}/`
    const from = lowerBound(c.keys, prefix)
    const to = lowerBound(c.keys, `${ns}0`) // '0' sorts right after '/'
    return { keys: c.keys, from, to }
  }
  return { keys: c.keys, from: 0, to: c.keys.length }
}

export function list(store: Store, def: ResourceDef, ns: string | undefined, query: Record<string, string>): { items: Obj[]; metadata: Obj } {
  const labels = parseLabelSelector(query.labelSelector)
  const fieldReqs = parseFieldSelector(query.fieldSelector, def.plural)
  const fields = fieldMatcher(fieldReqs)
  const limit = Math.max(0, Number.parseInt(query.limit ?? '0', 10) || 0)
  let listRv = store.rv
  let startAfter: string | undefined
  if (query.continue) {
    const token = decodeContinue(query.continue)
    if (token.rv < store.collection(idOf(def)).compactedRv) throw gone(CONTINUE_EXPIRED)
    listRv = token.rv
    startAfter = token.start
  }
  const objects = store.collection(idOf(def)).objects
  const { keys, from, to } = candidateKeys(store, def, ns, fieldReqs)
  let i = from
  if (startAfter !== undefined) i = Math.max(from, lowerBound(keys, startAfter + '\u0000'))
  const items: Obj[] = []
  for (; i < to; i++) {
    if (limit && items.length >= limit) break
    const obj = objects.get(keys[i])
    if (!obj) continue
    if (labels && !labels(obj)) continue
    if (fields && !fields(obj)) continue
    items.push(obj)
  }
  const metadata: Obj = { resourceVersion: String(listRv) }
  if (i < to && items.length > 0) {
    metadata.continue = encodeContinue({ rv: listRv, start: keys[i - 1] })
    if (!labels && !fields) metadata.remainingItemCount = to - i
  }
  return { items, metadata }
}
