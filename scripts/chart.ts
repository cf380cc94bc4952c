// `npm run chart` (also `npm run rbac`): writes what the Helm chart takes from the code, so the two
// cannot drift apart:
//  - charts/streamspace-node-manager/files/rbac.json: the ClusterRole and Roles (release namespace,
//    and "default" for Node Events) for each autoscaling.provider, from src/kube/permissions.ts
//    (the templates render the ones for the value set);
//  - values.schema.json#/properties/config: the seed options' schema, from PluginOptions in
//    src/config.ts (types, ranges, choices, defaults).
// `--check` writes nothing and exits 1 when either is stale; test/chart/chart.test.ts does the same.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chartRbac } from '../src/kube/permissions.js'
import { PluginOptions } from '../src/config.js'

export const CHART_DIR = join(dirname(fileURLToPath(import.meta.url)), '../charts/streamspace-node-manager')
export const RBAC_FILE = join(CHART_DIR, 'files/rbac.json')
export const SCHEMA_FILE = join(CHART_DIR, 'values.schema.json')

export function renderRbacFile(): string {
  return JSON.stringify({ _comment: 'Generated from src/kube/permissions.ts by `npm run rbac`. Do not edit.', ...chartRbac() }, null, 2) + '\n'
}

/** The JSON schema of values.config: PluginOptions as plain draft-07 (literal unions as enum). */
export function configSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {}
  for (const [key, raw] of Object.entries(PluginOptions.properties)) {
    const p = raw as unknown as Record<string, unknown>
    const out: Record<string, unknown> = {}
    if (p.anyOf) {
      out.type = 'string'
      out.enum = (p.anyOf as { const: string }[]).map((c) => c.const)
    } else out.type = p.type
    for (const k of ['minimum', 'maximum', 'default', 'description']) if (p[k] !== undefined) out[k] = p[k]
    properties[key] = out
  }
  return {
    type: 'object',
    description: 'Seed options (generated from PluginOptions in src/config.ts by `npm run chart`). minNodes <= maxNodes and scaleDownThreshold < scaleUpThreshold are checked by the service at start.',
    additionalProperties: false,
    properties,
  }
}

export function renderSchemaFile(current: string): string {
  const schema = JSON.parse(current) as { properties: Record<string, unknown> }
  schema.properties.config = configSchema()
  return JSON.stringify(schema, null, 2) + '\n'
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check')
  let stale = false
  const targets: [string, (have: string) => string][] = [
    [RBAC_FILE, () => renderRbacFile()],
    [SCHEMA_FILE, (have) => renderSchemaFile(have)],
  ]
  for (const [file, render] of targets) {
    let have = ''
    try { have = readFileSync(file, 'utf8') } catch { /* absent */ }
    const want = render(have)
    if (have === want) { console.log(`${file} is up to date`); continue }
    stale = true
    if (check) console.error(`${file} is stale: run npm run chart`)
    else { writeFileSync(file, want); console.log(`wrote ${file}`) }
  }
  if (check && stale) process.exit(1)
}
