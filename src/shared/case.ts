// Key case between the HTTP contract (snake_case, as the seed) and Kubernetes objects (camelCase,
// as API conventions): one rule for every field, so no shape is written out twice.

const toCamel = (k: string) => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
const toSnake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

function mapKeys(value: unknown, key: (k: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapKeys(v, key))
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[key(k)] = mapKeys(v, key)
  return out
}

/** snake_case keys to camelCase, deeply (values untouched). */
export function camelKeys<T = unknown>(value: unknown): T { return mapKeys(value, toCamel) as T }

/** camelCase keys to snake_case, deeply (values untouched). */
export function snakeKeys<T = unknown>(value: unknown): T { return mapKeys(value, toSnake) as T }
