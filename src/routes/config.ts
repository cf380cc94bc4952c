// GET/PUT P/config: the seed options in force, and changing them at run time (persisted in a
// ConfigMap, picked up by every replica: src/kube/runtime-config.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { commonErrors, ErrorResponse } from '../schemas/common.js'
import { EffectiveOptions, OptionsUpdate } from '../schemas/config.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const store = app.runtimeConfig

  app.get('/config', {
    schema: {
      tags: ['config'],
      summary: 'The options in force',
      description: 'File and environment options, overridden by those PUT persisted. ETag: the ConfigMap\'s resourceVersion. 503 while the ConfigMap cannot be read (e.g. RBAC), naming why.',
      response: { 200: EffectiveOptions, ...commonErrors },
    },
  }, async (_request, reply) => {
    const options = store.readable()
    if (store.resourceVersion) reply.header('etag', `"${store.resourceVersion}"`)
    reply.header('x-config-overrides', store.overridden.join(',') || 'none')
    return options
  })

  app.put('/config', {
    // The body is checked by the same code that checks the file (src/config.ts), so its 400 names
    // the option and its range; the schema documents it.
    validatorCompiler: () => (data) => ({ value: data }),
    schema: {
      tags: ['config'],
      summary: 'Change options at run time',
      description: 'Any subset of the seed options. Validated as the file is (400 naming the option and its range). Persisted in the ConfigMap streamspace-node-manager-config in the service\'s namespace (resourceVersion precondition; a race re-reads and retries, 409 if it keeps losing), picked up by every replica within seconds, and winning over file and environment until changed again. Audited: a log line with who and what changed from what, and an Event on the ConfigMap.',
      body: OptionsUpdate,
      response: { 200: EffectiveOptions, 409: ErrorResponse, ...commonErrors },
    },
  }, async (request, reply) => {
    const r = await store.update(request.body, { username: String(request.user.username), user_id: String(request.user.user_id) })
    for (const w of r.warnings) reply.header('warning', `299 streamspace-node-manager "${w.replaceAll('"', "'")}"`)
    if (r.resourceVersion) reply.header('etag', `"${r.resourceVersion}"`)
    reply.header('x-config-overrides', store.overridden.join(',') || 'none')
    return r.options
  })
}

export default routes
