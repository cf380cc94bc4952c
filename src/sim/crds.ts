// The CustomResourceDefinitions the chart ships (charts/streamspace-node-manager/crds/*.yaml), read
// once at start: the sim serves the very kinds helm installs, from the same files, so the two cannot
// drift. Each CRD's storage version becomes a resource with its scope, names, status subresource,
// schema (schema.ts) and printer columns (table.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import type { JsonSchema } from './schema.js'

export const CHART_CRD_DIR = fileURLToPath(new URL('../../charts/streamspace-node-manager/crds/', import.meta.url))

export interface PrinterColumn { name: string; type: string; jsonPath: string; format?: string; description?: string; priority?: number }

/** A kinds.ts ResourceDef of a CRD (structurally; kinds.ts imports this module, not the other way). */
export interface CrdResource {
  group: string
  version: string
  plural: string
  singular: string
  kind: string
  namespaced: boolean
  shortNames?: string[]
  categories?: string[]
  status?: boolean
  custom: true
  schema: JsonSchema
  columns: PrinterColumn[]
}

/** Every CustomResourceDefinition in the YAML files of `dir`, in file name order; none when the directory is absent (an image without the chart). */
export function readCrdFiles(dir = CHART_CRD_DIR): any[] {
  if (!existsSync(dir)) return []
  const crds: any[] = []
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (doc.errors.length) throw new Error(`${join(dir, file)}: ${doc.errors[0].message}`)
      const crd = doc.toJS()
      if (crd?.kind === 'CustomResourceDefinition') crds.push(crd)
    }
  }
  return crds
}

/** The resource a CRD serves: its storage version (the sim converts between none). */
export function crdResource(crd: any): CrdResource {
  const { group, names, scope, versions } = crd.spec
  const v = versions.find((x: any) => x.storage) ?? versions[0]
  return {
    group,
    version: v.name,
    plural: names.plural,
    singular: names.singular ?? names.kind.toLowerCase(),
    kind: names.kind,
    namespaced: scope === 'Namespaced',
    ...(names.shortNames ? { shortNames: names.shortNames } : {}),
    ...(names.categories ? { categories: names.categories } : {}),
    ...(v.subresources?.status ? { status: true } : {}),
    custom: true,
    schema: v.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    columns: v.additionalPrinterColumns ?? [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
  }
}

/** The chart's kinds, as kinds.ts registers them. */
export const CHART_RESOURCES: CrdResource[] = readCrdFiles().map(crdResource)
