// GET/PUT P/config: the seed options in force, and changing them at run time (persisted in a
// ConfigMap, picked up by every replica: src/kube/runtime-config.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { answer, errorAnswer, errorAnswers, withExample } from '../schemas/common.js'
import { optionsExample } from '../schemas/examples.js'
import { EffectiveOptions, OptionsUpdate } from '../schemas/config.js'
import { invalid } from '../errors.js'

/** A header value holds no line breaks or quotes. */
const headerText = (s: string) => s.replace(/[\r\n]+/g, ' ').replaceAll('"', "'")

/** RFC 9110 If-Match: "*" or a list of entity-tags; anything else (an empty header) is a bad request. */
const IF_MATCH = /^\s*(\*|(W\/)?"[^"]*"(\s*,\s*(W\/)?"[^"]*")*)\s*$/

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const store = app.runtimeConfig

  app.get('/config', {
    schema: {
      tags: ['config'],
      summary: 'The options in force',
      description: 'File and environment options, overridden by those PUT persisted. ETag: the ConfigMap\'s resourceVersion (send it back in If-Match on PUT). When the stored options.json is broken (hand-edited: not JSON, a value out of range), the options in force are still answered and X-Config-Problem (and a Warning) says what is wrong. 503 while the ConfigMap cannot be read (e.g. RBAC), naming why.',
      response: { 200: answer(EffectiveOptions, 'The options in force (ETag: the stored version)', optionsExample), ...errorAnswers([[503, 'The options\' ConfigMap cannot be read (e.g. RBAC): the message says why']]) },
    },
  }, async (_request, reply) => {
    const { options, resourceVersion, overridden, problem } = store.current()
    if (resourceVersion) reply.header('etag', `"${resourceVersion}"`)
    reply.header('x-config-overrides', overridden.join(',') || 'none')
    if (problem) {
      reply.header('x-config-problem', headerText(problem))
      reply.header('warning', `299 streamspace-node-manager "${headerText(problem)}; the options answered are the last valid ones"`)
    }
    return options
  })

  app.put('/config', {
    // The body is checked by the same code that checks the file (src/config.ts), so its 400 names
    // the option and its range; the schema documents it.
    validatorCompiler: () => (data) => ({ value: data }),
    schema: {
      tags: ['config'],
      summary: 'Change options at run time',
      description: 'Any subset of the seed options. Validated as the file is (400 naming the option and its range). Persisted in the ConfigMap streamspace-node-manager-config in the service\'s namespace (resourceVersion precondition; a race re-reads and retries, 409 if it keeps losing), picked up by every replica within seconds, and winning over file and environment until changed again. Audited: a log line with who and what changed from what, and an Event on the ConfigMap. If-Match with the ETag from GET: changed only if nobody changed it since (else 412). 409 while the stored options.json is broken (saying what is wrong), unless this PUT replaces the broken values.',
      headers: { type: 'object', properties: { 'if-match': { type: 'string', pattern: IF_MATCH.source, description: 'The ETag from GET P/config: change only that version (412 otherwise)' } } },
      body: withExample(OptionsUpdate, { scaleUpThreshold: 75, nodeSelectionStrategy: 'most-resources' as never }),
      response: {
        200: answer(EffectiveOptions, 'The options in force after the change', { ...optionsExample, scaleUpThreshold: 75, nodeSelectionStrategy: 'most-resources' as never }),
        ...errorAnswers([
          [400, 'An option is out of range or of the wrong type (the message names it and its range), or If-Match is malformed'],
          [409, 'The stored options.json is broken (the message says what is wrong), or the write kept losing races'],
          429,
        ]),
        412: errorAnswer(412, 'If-Match names another version than the one stored (the ETag header gives the current one)'),
      },
    },
  }, async (request, reply) => {
    const ifMatch = request.headers['if-match']
    // Checked here too: an empty header reaches the handler past the header schema.
    if (ifMatch !== undefined && !IF_MATCH.test(ifMatch)) throw invalid(`If-Match: ${JSON.stringify(ifMatch)} is not "*" or a list of entity-tags ("..." or W/"...")`)
    // A stale If-Match is the store's precondition_failed: 412 with the current ETag (src/plugins/errors.ts).
    const r = await store.update(request.body, { username: String(request.user.username), user_id: String(request.user.user_id) }, ifMatch)
    for (const w of r.warnings) reply.header('warning', `299 streamspace-node-manager "${w.replaceAll('"', "'")}"`)
    if (r.resourceVersion) reply.header('etag', `"${r.resourceVersion}"`)
    reply.header('x-config-overrides', r.overridden.join(',') || 'none')
    return r.options
  })
}

export default routes
