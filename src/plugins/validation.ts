// Route validation (ajv through @fastify/ajv-compiler, as Fastify's default, with two changes):
// - request bodies are taken as sent: no type coercion (Fastify's default would turn a JSON null
//   into "" or false and a number into a string, accepting bodies the OpenAPI document refuses);
//   query strings, path parameters and headers are text and still coerced to their types;
// - the keywords a field marks CHECKED_BY_DOMAIN (src/shared/patterns.ts: pattern, enum, maxLength) stay in
//   the OpenAPI document but not here: the domain checks the same rule and its 400 says which
//   Kubernetes rule failed, in the API server's words.
// Vendor keys ("x-...") are dropped before ajv sees them (its strict mode refuses unknown keywords).
import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler'
import { CHECKED_BY_DOMAIN } from '../shared/patterns.js'

/** A copy of a JSON Schema without the rules the domain checks and without vendor keys. */
export function forRouteValidation(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(forRouteValidation)
  if (schema === null || typeof schema !== 'object') return schema
  const source = schema as Record<string, unknown>
  const domain = Array.isArray(source[CHECKED_BY_DOMAIN]) ? source[CHECKED_BY_DOMAIN] as string[] : []
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(source)) {
    if (key.startsWith('x-') || domain.includes(key)) continue
    // Values of these keywords are data, not schemas.
    out[key] = key === 'enum' || key === 'const' || key === 'default' || key === 'examples' || key === 'example' ? source[key] : forRouteValidation(source[key])
  }
  return out
}

/** What Fastify passes to a validator compiler (the package's types declare ajv's compile instead). */
interface RouteSchemaDef { schema: unknown; method: string; url: string; httpPart?: string }
type Compile = (route: RouteSchemaDef) => unknown
type ServerOptions = { customOptions?: object; plugins?: unknown[]; onCreate?: unknown }

const baseOptions = { removeAdditional: false, useDefaults: true } as const

function build(externalSchemas: Record<string, unknown>, serverOptions: ServerOptions = {}): Compile {
  const factory = AjvCompiler() as unknown as (external: Record<string, unknown>, options: ServerOptions) => Compile
  const coercing = factory(externalSchemas, { ...serverOptions, customOptions: { ...serverOptions.customOptions, ...baseOptions, coerceTypes: 'array' } })
  const exact = factory(externalSchemas, { ...serverOptions, customOptions: { ...serverOptions.customOptions, ...baseOptions, coerceTypes: false } })
  return (route) => (route.httpPart === 'body' ? exact : coercing)({ ...route, schema: forRouteValidation(route.schema) })
}

/** For Fastify({ schemaController: { compilersFactory: { buildValidator } } }). */
export const buildValidator = build as unknown as ValidatorFactory
