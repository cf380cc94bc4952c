import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { API_DOCS_FILE, generateApiDocs, generateOpenApi, OPENAPI_FILE } from '../scripts/openapi.js'

interface Media { schema?: Record<string, unknown>; example?: unknown; examples?: Record<string, { value: unknown }> }
interface Response { description?: string; content?: Record<string, Media> }
interface Operation {
  summary?: string
  description?: string
  parameters?: Array<{ name: string; in: string }>
  requestBody?: { content: Record<string, Media> }
  responses: Record<string, Response>
}
interface Spec { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } }

const generated = await generateOpenApi()
const spec = JSON.parse(generated) as Spec
const METHODS = ['get', 'put', 'post', 'delete', 'patch']
const operations = Object.entries(spec.paths).flatMap(([path, ops]) =>
  Object.entries(ops).filter(([m]) => METHODS.includes(m)).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, path, op })))
/** The error schemas every error answer references: ours, and StreamSpace's {message} on its own paths. */
const ERROR_REFS = ['#/components/schemas/ErrorResponse', '#/components/schemas/StreamSpaceError']
/** Error statuses answered with another body by contract: the readiness probe says why it is not ready. */
const OWN_ERROR_BODIES = new Set(['GET /readyz 503'])

t.test('openapi/openapi.json is OpenAPI 3 and in sync with the routes (npm run openapi)', async (t) => {
  t.match(spec.openapi, /^3\./)
  t.ok(spec.paths['/api/plugins/streamspace-node-manager/nodes'], 'documents the node list')
  t.equal(readFileSync(OPENAPI_FILE, 'utf8'), generated, 'checked-in spec is current: run npm run openapi')
})

t.test('docs/api.md documents every operation and is in sync with the spec (npm run openapi)', async (t) => {
  const docs = readFileSync(API_DOCS_FILE, 'utf8')
  t.equal(docs, generateApiDocs(generated), 'checked-in reference is current: run npm run openapi')
  const P = '/api/plugins/streamspace-node-manager'
  for (const { name } of operations) {
    const [method, path] = name.split(' ')
    t.ok(docs.includes(`### ${method} ${path!.startsWith(P) ? `P${path!.slice(P.length)}` : path}\n`), `${name} has a section`)
  }
})

/** What a reader of the document misses in one operation (Swagger UI at /docs, a client generator). */
function problems(name: string, op: Operation): string[] {
  const out: string[] = []
  if (!op.summary?.trim()) out.push('no summary')
  if (!op.description?.trim()) out.push('no description')
  for (const p of op.parameters ?? []) if (p.name.includes('*')) out.push(`${p.in} parameter named "${p.name}"`)
  for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
    if (media.example === undefined && !media.examples) out.push(`request body (${type}) without an example`)
  }
  const success = Object.keys(op.responses).filter((s) => s.startsWith('2'))
  if (!success.length) out.push('no success response')
  for (const [status, response] of Object.entries(op.responses)) {
    if (!response.description?.trim() || response.description === 'Default Response') out.push(`${status} not described`)
    for (const [type, media] of Object.entries(response.content ?? {})) {
      if (status.startsWith('2') && media.example === undefined && !media.examples) out.push(`${status} (${type}) without an example`)
      if (/^[45]/.test(status) && !OWN_ERROR_BODIES.has(`${name} ${status}`) && !ERROR_REFS.includes(media.schema?.$ref as string)) {
        out.push(`${status} does not reference the error schema`)
      }
    }
    if (/^[45]xx$/i.test(status)) out.push(`errors documented only as ${status}`)
  }
  return out
}

t.test('every operation is documented for a reader: summary, description, examples, described answers, errors by status through one schema', async (t) => {
  t.ok(operations.length >= 36, `${operations.length} operations`)
  for (const { name, op } of operations) t.same(problems(name, op), [], name)
  t.notOk(Object.keys(spec.paths).some((p) => p.includes('{*}')), 'no path parameter {*}')
})

t.test('the checks above find what they are for', async (t) => {
  const bare: Operation = {
    parameters: [{ name: '*', in: 'path' }],
    requestBody: { content: { 'application/json': { schema: {} } } },
    responses: {
      200: { description: 'Default Response', content: { 'application/json': { schema: {} } } },
      404: { description: 'Not found', content: { 'application/json': { schema: { type: 'object' } } } },
      '4XX': { description: 'Errors', content: { 'application/json': { schema: { $ref: ERROR_REFS[0] } } } },
    },
  }
  t.same(problems('GET /x', bare), [
    'no summary', 'no description', 'path parameter named "*"', 'request body (application/json) without an example',
    '200 not described', '200 (application/json) without an example', '404 does not reference the error schema', 'errors documented only as 4XX',
  ])
})

t.test('every example matches its schema (request bodies are sent as they are by schemathesis)', async (t) => {
  // OpenAPI 3.0 schemas: ajv knows `nullable`; `example` and x- keys are annotations.
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addSchema({ $id: 'spec', components: spec.components })
  const rebase = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"spec#/components/'))
  let checked = 0
  for (const { name, op } of operations) {
    const media = [
      ...Object.entries(op.requestBody?.content ?? {}).map(([type, m]) => [`request body (${type})`, m] as const),
      ...Object.entries(op.responses).flatMap(([status, r]) => Object.entries(r.content ?? {}).map(([type, m]) => [`${status} (${type})`, m] as const)),
    ]
    for (const [where, m] of media) {
      const examples = m.example !== undefined ? [m.example] : Object.values(m.examples ?? {}).map((e) => e.value)
      if (!m.schema || !examples.length || where.includes('text/event-stream')) continue
      const validate = ajv.compile(rebase(m.schema) as object)
      for (const example of examples) {
        checked++
        t.ok(validate(example), `${name} ${where}`, { errors: validate.errors })
      }
    }
  }
  t.ok(checked >= 40, `${checked} examples checked`)
})
