// Writes openapi/openapi.json from the routes' schemas, and the API reference in docs/api.md from
// that (./api-docs.ts). `npm run openapi`; a test fails when either checked-in file differs from
// what this generates.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { KubeConfig } from '@kubernetes/client-node'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { createKubeClients } from '../src/kube/client.js'
import { withReference, type Spec } from './api-docs.js'

export const OPENAPI_FILE = fileURLToPath(new URL('../openapi/openapi.json', import.meta.url))
export const API_DOCS_FILE = fileURLToPath(new URL('../docs/api.md', import.meta.url))

/** docs/api.md as the spec makes it. */
export const generateApiDocs = (spec: string): string => withReference(readFileSync(API_DOCS_FILE, 'utf8'), JSON.parse(spec) as Spec)

export async function generateOpenApi(): Promise<string> {
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'none', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'none' }],
    contexts: [{ name: 'none', cluster: 'none', user: 'none' }],
    currentContext: 'none',
  })
  const config = loadConfig({ JWT_SECRET: 'x'.repeat(32), LOG_LEVEL: 'silent' })
  const app = await buildApp({ config, kube: createKubeClients(kc), jwtSecret: 'x'.repeat(32), startCaches: false })
  await app.ready()
  const spec = JSON.stringify(app.swagger(), null, 2) + '\n'
  await app.close()
  return spec
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const spec = await generateOpenApi()
  writeFileSync(OPENAPI_FILE, spec)
  writeFileSync(API_DOCS_FILE, generateApiDocs(spec))
  console.log(`wrote ${OPENAPI_FILE} and ${API_DOCS_FILE}`)
}
