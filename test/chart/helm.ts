// The helm CLI the chart tests run: built from its Go module by scripts/setup-helm.sh into
// .cache/helm/bin (HELM_BIN overrides). helm keeps its own state in a temporary home, never ~.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const CHART = join(repoRoot, 'charts/streamspace-node-manager')
export const RELEASE = 'streamspace-node-manager'
export const NAMESPACE = 'streamspace'

export function helmBin(): string {
  const bin = process.env.HELM_BIN ?? join(repoRoot, '.cache/helm/bin/helm')
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run bash scripts/setup-helm.sh (npm test does)`)
  return bin
}

let home: string | undefined
export interface HelmResult { status: number; stdout: string; stderr: string }

export function helm(args: string[], opts: { timeoutMs?: number } = {}): HelmResult {
  home ??= mkdtempSync(join(tmpdir(), 'helm-home-'))
  const run = spawnSync(helmBin(), args, {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    },
  })
  if (run.error) throw run.error
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr }
}

/** A valuesfile name under the chart's ci/ folder. */
export const ciValues = (name: string) => join(CHART, 'ci', `${name}-values.yaml`)

export interface K8sObject { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: any }

/** `helm template` of the chart; throws with helm's message when it fails. */
export function template(args: string[] = []): { text: string; objects: K8sObject[] } {
  const res = helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...args])
  if (res.status !== 0) throw new Error(`helm template failed (${res.status}): ${res.stderr}`)
  return { text: res.stdout, objects: parseManifests(res.stdout) }
}

export function parseManifests(text: string): K8sObject[] {
  const docs = parseAllDocuments(text)
  for (const d of docs) if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0].message}`)
  return docs.map((d) => d.toJS() as K8sObject).filter((o) => o && typeof o === 'object')
}

/** The one object of this kind (among those `which` accepts: e.g. the config ConfigMap beside the dashboard's). */
export function find(objects: K8sObject[], kind: string, which: (o: K8sObject) => boolean = () => true): K8sObject {
  const found = objects.filter((o) => o.kind === kind && which(o))
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`)
  return found[0]
}
