import t from 'tap'
import { readFileSync } from 'node:fs'
import { generateOpenApi, OPENAPI_FILE } from '../scripts/openapi.js'

t.test('openapi/openapi.json is OpenAPI 3 and in sync with the routes (npm run openapi)', async (t) => {
  const generated = await generateOpenApi()
  const spec = JSON.parse(generated)
  t.match(spec.openapi, /^3\./)
  t.ok(spec.paths['/api/plugins/streamspace-node-manager/nodes'], 'documents the node list')
  t.equal(readFileSync(OPENAPI_FILE, 'utf8'), generated, 'checked-in spec is current: run npm run openapi')
})
