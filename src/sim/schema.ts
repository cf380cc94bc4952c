// What kube-apiserver does with a custom resource's structural schema (a CRD version's
// openAPIV3Schema) on every write, in its order: prune the fields the schema does not declare, drop
// nulls it does not allow, apply defaults, then validate, with the messages of apiextensions-apiserver
// and kube-openapi (field paths like "spec.nodes[0]").

export interface JsonSchema {
  type?: string
  description?: string
  format?: string
  properties?: Record<string, JsonSchema>
  additionalProperties?: JsonSchema | boolean
  items?: JsonSchema
  required?: string[]
  enum?: unknown[]
  default?: unknown
  nullable?: boolean
  pattern?: string
  minimum?: number
  maximum?: number
  exclusiveMinimum?: boolean
  exclusiveMaximum?: boolean
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  'x-kubernetes-preserve-unknown-fields'?: boolean
  'x-kubernetes-embedded-resource'?: boolean
}

export interface Cause { reason: string; message: string; field: string }

type Json = any

const META_FIELDS = new Set(['apiVersion', 'kind', 'metadata'])
/** metav1.ObjectMeta's fields: others in a custom resource's metadata are unknown, and pruned. */
const OBJECT_META_FIELDS = new Set(['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields'])

const isObject = (x: unknown): x is Record<string, Json> => typeof x === 'object' && x !== null && !Array.isArray(x)
const child = (path: string, key: string) => (path ? `${path}.${key}` : key)

/** The schema of field `key` of an object: a declared property, else additionalProperties when it is a schema. */
function fieldSchema(s: JsonSchema | undefined, key: string): JsonSchema | undefined {
  const props = s?.properties
  if (props && Object.hasOwn(props, key)) return props[key]
  return isObject(s?.additionalProperties) ? s.additionalProperties as JsonSchema : undefined
}

/**
 * Prunes `x` in place; returns the paths of the fields it removed (what fieldValidation=Strict
 * reports). A preserve-unknown-fields node keeps its unknown fields (and so do its array items).
 * The resource root and embedded resources keep apiVersion, kind and metadata.
 */
function prune(x: Json, s: JsonSchema | undefined, path: string, removed: string[], root: boolean, preserveItems = false): void {
  const preserve = preserveItems || !!s?.['x-kubernetes-preserve-unknown-fields']
  if (Array.isArray(x)) {
    x.forEach((v, i) => prune(v, s?.items, `${path}[${i}]`, removed, false, preserve))
    return
  }
  if (!isObject(x) || (preserve && !s)) return
  for (const k of Object.keys(x)) {
    if ((root || s?.['x-kubernetes-embedded-resource']) && META_FIELDS.has(k)) {
      if (k === 'metadata' && isObject(x[k])) pruneMetadata(x[k], child(path, k), removed)
      continue
    }
    const sub = fieldSchema(s, k)
    if (sub) prune(x[k], sub, child(path, k), removed, false)
    else if (!preserve) {
      removed.push(child(path, k))
      delete x[k]
    }
  }
}

function pruneMetadata(meta: Record<string, Json>, path: string, removed: string[]): void {
  for (const k of Object.keys(meta)) {
    if (OBJECT_META_FIELDS.has(k)) continue
    removed.push(child(path, k))
    delete meta[k]
  }
}

/** Null where the schema allows none and has no default to put instead: dropped, as the server does. */
function dropNulls(x: Json, s: JsonSchema | undefined): void {
  if (Array.isArray(x)) return x.forEach((v) => dropNulls(v, s?.items))
  if (!isObject(x)) return
  for (const k of Object.keys(x)) {
    const sub = fieldSchema(s, k)
    if (x[k] === null && sub && !sub.nullable && sub.default === undefined) delete x[k]
    else dropNulls(x[k], sub)
  }
}

/** Defaults of absent (or non-nullable null) fields, inside objects that exist. */
function applyDefaults(x: Json, s: JsonSchema | undefined): void {
  if (!s) return
  if (Array.isArray(x)) {
    x.forEach((v, i) => {
      if (v === null && s.items && !s.items.nullable && s.items.default !== undefined) x[i] = structuredClone(s.items.default)
      applyDefaults(x[i], s.items)
    })
    return
  }
  if (!isObject(x)) return
  for (const [k, prop] of Object.entries(s.properties ?? {})) {
    if (prop.default !== undefined && (!(k in x) || (x[k] === null && !prop.nullable))) x[k] = structuredClone(prop.default)
  }
  for (const k of Object.keys(x)) applyDefaults(x[k], fieldSchema(s, k))
}

/** The fields a write would lose to pruning (`fieldValidation=Strict` refuses them). */
export function unknownFields(schema: JsonSchema, obj: Json): string[] {
  const removed: string[] = []
  prune(structuredClone(obj), schema, '', removed, true)
  return removed.sort()
}

/** The object as stored: pruned, non-nullable nulls dropped, defaults applied. */
export function pruneAndDefault(schema: JsonSchema, obj: Json): Json {
  const copy = structuredClone(obj)
  prune(copy, schema, '', [], true)
  dropNulls(copy, schema)
  applyDefaults(copy, schema)
  return copy
}

/** The JSON type the validator sees: integral numbers are "integer", as Go decodes them to int64. */
function jsonType(x: Json): string {
  if (x === null) return 'null'
  if (Array.isArray(x)) return 'array'
  if (typeof x === 'number') return Number.isInteger(x) ? 'integer' : 'number'
  return typeof x
}

/** A bad value as field.Error prints it: strings quoted, numbers and booleans bare. */
function shown(x: Json): string {
  return typeof x === 'string' ? JSON.stringify(x) : typeof x === 'number' || typeof x === 'boolean' ? String(x) : JSON.stringify(x)
}

/** kube-openapi's date-time check (strfmt.IsDateTime): a valid date, "t", then hh:mm:ss[.frac](z|±hh:mm). */
export function isDateTime(str: string): boolean {
  if (str.length < 4) return false
  const [date, time] = str.toLowerCase().split('t')
  if (time === undefined || !/^\d{4}-\d\d-\d\d$/.test(date)) return false
  const d = new Date(`${date}T00:00:00Z`)
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== date) return false
  const m = /^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$/.exec(time)
  return !!m && m[1] <= '23' && m[2] <= '59' && m[3] <= '59'
}

function validateValue(x: Json, s: JsonSchema, path: string, causes: Cause[]): void {
  const add = (reason: string, message: string, field = path) => causes.push({ reason, message, field })
  const invalid = (message: string, value: Json = x) => add('FieldValueInvalid', `Invalid value: ${shown(value)}: ${path} in body ${message}`)
  const actual = jsonType(x)
  if (s.type && !(s.type === actual || (s.type === 'number' && actual === 'integer')) && !(x === null && s.nullable)) {
    add('FieldValueTypeInvalid', `Invalid value: "${actual}": ${path} in body must be of type ${s.type}: "${actual}"`)
  }
  if (x === null) return
  if (typeof x === 'string') {
    // The first failing string rule only, as kube-openapi reports it.
    if (s.maxLength !== undefined && [...x].length > s.maxLength) add('FieldValueTooLong', `Too long: may not be more than ${s.maxLength} bytes`)
    else if (s.minLength !== undefined && [...x].length < s.minLength) invalid(`should be at least ${s.minLength} chars long`)
    else if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(x)) invalid(`should match '${s.pattern}'`)
    if (s.format === 'date-time' && !isDateTime(x)) add('FieldValueTypeInvalid', `Invalid value: ${shown(x)}: ${path} in body must be of type date-time: ${shown(x)}`)
  }
  if (typeof x === 'number') {
    if (s.minimum !== undefined && (s.exclusiveMinimum ? x <= s.minimum : x < s.minimum)) invalid(`should be greater than ${s.exclusiveMinimum ? '' : 'or equal to '}${s.minimum}`)
    if (s.maximum !== undefined && (s.exclusiveMaximum ? x >= s.maximum : x > s.maximum)) invalid(`should be less than ${s.exclusiveMaximum ? '' : 'or equal to '}${s.maximum}`)
  }
  if (Array.isArray(x)) {
    if (s.items) x.forEach((v, i) => validateValue(v, s.items!, `${path}[${i}]`, causes))
    if (s.minItems !== undefined && x.length < s.minItems) invalid(`should have at least ${s.minItems} items`, x.length)
    if (s.maxItems !== undefined && x.length > s.maxItems) add('FieldValueTooMany', `Too many: ${x.length}: must have at most ${s.maxItems} items`)
  }
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(x))) {
    const supported = s.enum.map((e) => JSON.stringify(typeof e === 'string' ? e : JSON.stringify(e))).join(', ')
    add('FieldValueNotSupported', `Unsupported value: ${shown(x)}: supported values: ${supported}`)
  }
  if (isObject(x)) {
    for (const [k, v] of Object.entries(x)) {
      const sub = fieldSchema(s, k)
      if (sub) validateValue(v, sub, child(path, k), causes)
    }
    for (const k of s.required ?? []) {
      if (!(k in x)) add('FieldValueRequired', 'Required value', child(path, k))
    }
  }
}

/** The schema violations of a (pruned, defaulted) object, sorted by field (the server's own order varies). */
export function schemaCauses(schema: JsonSchema, obj: Json): Cause[] {
  const causes: Cause[] = []
  validateValue(obj, schema, '', causes)
  return causes.sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0))
}
