// /openapi/v3 (its discovery and one document per group-version) and /openapi/v2, small: the
// paths and operations of every served resource, with what kubectl reads from them (x-kubernetes-
// group-version-kind, the fieldValidation parameter, the media types a PATCH takes), and for the
// custom resources of CRD files their schema as a component, as kube-apiserver publishes them.
// kubectl apply asks /openapi/v3 whether a kind's PATCH takes fieldValidation and then lets the
// server validate (fieldValidation=Strict). Built-in kinds get no component schema: kubectl then
// builds its strategic merge patches from its own compiled-in types, as for any kind it knows.
import { createHash } from 'node:crypto'
import { RESOURCES, VERSION_INFO, type ResourceDef } from './kinds.js'
import type { JsonSchema } from './schema.js'

type Doc = Record<string, any>

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1'
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const str = { type: 'string' }

/** The component name of a custom kind: the group reversed, as "space.stream.nodes.v1alpha1.NodeMaintenance". */
const componentName = (def: ResourceDef, kind = def.kind) => `${def.group.split('.').reverse().join('.')}.${def.version}.${kind}`

const query = (name: string, type = 'string') => ({ name, in: 'query', schema: { type, uniqueItems: true } })
const WRITE_PARAMS = [query('dryRun'), query('fieldManager'), query('fieldValidation')]
const LIST_PARAMS = ['continue', 'fieldSelector', 'labelSelector', 'resourceVersion'].map((n) => query(n))
  .concat([query('allowWatchBookmarks', 'boolean'), query('limit', 'integer'), query('timeoutSeconds', 'integer'), query('watch', 'boolean')])

/** The metav1 schemas the custom kinds' components refer to, reduced to what they are. */
const META_SCHEMAS: Record<string, Doc> = {
  [`${META}.ObjectMeta`]: {
    description: 'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
    type: 'object',
    properties: {
      name: str, generateName: str, namespace: str, uid: str, resourceVersion: str,
      generation: { type: 'integer', format: 'int64' },
      creationTimestamp: { type: 'string', format: 'date-time' },
      deletionTimestamp: { type: 'string', format: 'date-time' },
      labels: { type: 'object', additionalProperties: str },
      annotations: { type: 'object', additionalProperties: str },
      finalizers: { type: 'array', items: str },
      ownerReferences: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    },
  },
  [`${META}.ListMeta`]: { type: 'object', properties: { continue: str, remainingItemCount: { type: 'integer', format: 'int64' }, resourceVersion: str } },
  [`${META}.Patch`]: { description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.', type: 'object' },
}

function typeMeta(list = false): Doc {
  return {
    apiVersion: { description: 'APIVersion defines the versioned schema of this representation of an object.', type: 'string' },
    kind: { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' },
    metadata: { allOf: [ref(list ? `${META}.ListMeta` : `${META}.ObjectMeta`)] },
  }
}

/** A custom kind and its list as components: the CRD's schema plus apiVersion, kind and metadata. */
function customComponents(def: ResourceDef, schema: JsonSchema): Doc {
  const gvk = (kind: string) => [{ group: def.group, kind, version: def.version }]
  return {
    [componentName(def)]: { ...schema, properties: { ...typeMeta(), ...schema.properties }, 'x-kubernetes-group-version-kind': gvk(def.kind) },
    [componentName(def, `${def.kind}List`)]: {
      description: `${def.kind}List is a list of ${def.kind}`,
      type: 'object',
      required: ['items'],
      properties: { ...typeMeta(true), items: { type: 'array', items: ref(componentName(def)) } },
      'x-kubernetes-group-version-kind': gvk(`${def.kind}List`),
    },
  }
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)
/** "nodes.stream.space" -> "NodesStreamSpace", "coordination.k8s.io" -> "Coordination", "" -> "Core" (kube-apiserver's operation ids). */
const groupWord = (group: string) => (group ? group.replace(/\.k8s\.io$/, '').split(/[.-]/).map(capital).join('') : 'Core')

/** The paths of one resource with their operations. */
function resourcePaths(def: ResourceDef): Doc {
  const gvk = { group: def.group, version: def.version, kind: def.kind }
  const body: Doc = def.schema ? ref(componentName(def)) : { type: 'object' }
  const json = (schema: Doc) => ({ 'application/json': { schema } })
  const ok = (schema: Doc = body) => ({ 200: { description: 'OK', content: json(schema) }, 401: { description: 'Unauthorized' } })
  // Custom resources take no strategic merge patch; their scale (an autoscaling/v1 Scale) does.
  const patchTypes = (smp: boolean) => ['application/json-patch+json', 'application/merge-patch+json', ...(smp ? ['application/strategic-merge-patch+json'] : [])]
  const id = (verb: string, suffix = '') => `${verb}${groupWord(def.group)}${capital(def.version)}${def.namespaced ? 'Namespaced' : ''}${def.kind}${suffix}`
  const op = (verb: string, action: string, extra: Doc, suffix = '', kind: Doc = gvk) => ({
    operationId: id(verb, suffix),
    ...extra,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': kind,
  })
  const write = (verb: string, action: string, suffix = '') => op(verb, action, { parameters: WRITE_PARAMS, requestBody: { content: json(body), required: true }, responses: ok() }, suffix)
  const patch = (suffix = '', kind: Doc = gvk) => op('patch', 'patch', {
    parameters: [...WRITE_PARAMS, query('force', 'boolean')],
    requestBody: { content: Object.fromEntries(patchTypes(!def.custom || kind !== gvk).map((t) => [t, { schema: ref(`${META}.Patch`) }])), required: true },
    responses: ok(kind === gvk ? body : { type: 'object' }),
  }, suffix, kind)
  const listBody = def.schema ? ref(componentName(def, `${def.kind}List`)) : { type: 'object' }

  const base = `/${def.group ? `apis/${def.group}/${def.version}` : 'api/v1'}${def.namespaced ? '/namespaces/{namespace}' : ''}/${def.plural}`
  const pathParams = (name: boolean) => [
    ...(name ? [{ name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }] : []),
    ...(def.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }] : []),
  ]
  const paths: Doc = {
    [base]: {
      get: op('list', 'list', { parameters: LIST_PARAMS, responses: ok(listBody) }),
      ...(def.readOnly ? {} : { post: write('create', 'post'), delete: op('delete', 'deletecollection', { parameters: LIST_PARAMS, responses: ok({ type: 'object' }) }, 'Collection') }),
      parameters: pathParams(false),
    },
    [`${base}/{name}`]: {
      get: op('read', 'get', { responses: ok() }),
      ...(def.readOnly ? {} : { put: write('replace', 'put'), patch: patch(), delete: op('delete', 'delete', { parameters: [query('dryRun'), query('gracePeriodSeconds', 'integer')], responses: ok({ type: 'object' }) }) }),
      parameters: pathParams(true),
    },
  }
  if (def.status) {
    paths[`${base}/{name}/status`] = { get: op('read', 'get', { responses: ok() }, 'Status'), put: write('replace', 'put', 'Status'), patch: patch('Status'), parameters: pathParams(true) }
  }
  if (def.scale) {
    const scale = { group: 'autoscaling', version: 'v1', kind: 'Scale' }
    paths[`${base}/{name}/scale`] = {
      get: op('read', 'get', { responses: ok({ type: 'object' }) }, 'Scale', scale),
      put: op('replace', 'put', { parameters: WRITE_PARAMS, requestBody: { content: json({ type: 'object' }), required: true }, responses: ok({ type: 'object' }) }, 'Scale', scale),
      patch: patch('Scale', scale),
      parameters: pathParams(true),
    }
  }
  if (def.group === '' && def.plural === 'pods') {
    paths[`${base}/{name}/eviction`] = {
      post: op('create', 'post', { parameters: WRITE_PARAMS, requestBody: { content: json({ type: 'object' }), required: true }, responses: ok({ type: 'object' }) }, 'Eviction', { group: 'policy', version: 'v1', kind: 'Eviction' }),
      parameters: pathParams(true),
    }
  }
  return paths
}

/** The group-versions documented: all served, except metrics.k8s.io (an aggregated API, not the server's own). */
function groupVersions(): Map<string, ResourceDef[]> {
  const byPath = new Map<string, ResourceDef[]>()
  for (const def of RESOURCES) {
    if (def.group === 'metrics.k8s.io') continue
    const key = def.group ? `apis/${def.group}/${def.version}` : 'api/v1'
    byPath.set(key, [...(byPath.get(key) ?? []), def])
  }
  return byPath
}

function v3Document(defs: ResourceDef[]): Doc {
  const schemas: Doc = { ...META_SCHEMAS }
  for (const def of defs) if (def.schema) Object.assign(schemas, customComponents(def, def.schema))
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: VERSION_INFO.gitVersion },
    paths: Object.assign({}, ...defs.map(resourcePaths)),
    components: { schemas },
  }
}

let v3: { root: Doc; docs: Map<string, string> } | undefined

/** Built once: the sim's kinds do not change while it runs. */
function openApiV3(): { root: Doc; docs: Map<string, string> } {
  if (v3) return v3
  const docs = new Map<string, string>()
  const paths: Doc = {}
  for (const [path, defs] of groupVersions()) {
    const text = JSON.stringify(v3Document(defs))
    docs.set(`/openapi/v3/${path}`, text)
    // The hash lets clients cache a document until it changes, as kube-apiserver's does.
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${createHash('sha512').update(text).digest('hex').toUpperCase()}` }
  }
  v3 = { root: { paths }, docs }
  return v3
}

/** /openapi/v3 (the discovery of the documents) or /openapi/v3/<api/v1|apis/group/version>, as JSON text; undefined for other paths. */
export function openApiV3Text(path: string): string | undefined {
  const { root, docs } = openApiV3()
  return path === '/openapi/v3' ? JSON.stringify(root) : docs.get(path)
}

/** /openapi/v2 as JSON (kube-apiserver also serves it as protobuf, which the sim does not). */
export function openApiV2(): Doc {
  const paths: Doc = {}
  const definitions: Doc = {}
  for (const defs of groupVersions().values()) {
    const doc = v3Document(defs)
    // Swagger 2.0 spells components and request bodies differently; the rest is the same shape.
    const text = JSON.stringify(doc.components.schemas).replaceAll('#/components/schemas/', '#/definitions/')
    Object.assign(definitions, JSON.parse(text))
    for (const [path, item] of Object.entries<Doc>(doc.paths)) {
      paths[path] = Object.fromEntries(Object.entries<Doc>(item).map(([method, o]) => {
        if (method === 'parameters') return [method, o.map(v2Param)]
        const { requestBody, responses, parameters, ...rest } = o
        const bodySchema = requestBody && Object.values<Doc>(requestBody.content)[0].schema
        return [method, {
          ...rest,
          ...(requestBody ? { consumes: Object.keys(requestBody.content) } : {}),
          produces: ['application/json'],
          parameters: [...(parameters ?? []).map(v2Param), ...(bodySchema ? [{ name: 'body', in: 'body', required: true, schema: bodySchema }] : [])],
          responses: Object.fromEntries(Object.entries<Doc>(responses).map(([code, r]) => [code, { description: r.description, ...(r.content ? { schema: r.content['application/json'].schema } : {}) }])),
        }]
      }))
    }
  }
  const text = JSON.stringify(paths).replaceAll('#/components/schemas/', '#/definitions/')
  return { swagger: '2.0', info: { title: 'Kubernetes', version: VERSION_INFO.gitVersion }, paths: JSON.parse(text), definitions }
}

function v2Param(p: Doc): Doc {
  const { schema, ...rest } = p
  return { ...rest, ...schema }
}
