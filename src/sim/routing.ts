// Resource paths: /api/v1/... and /apis/{group}/{version}/..., to the resource, namespace, name,
// subresource and verb they address (the verbs RBAC would check).
import { findResource, type ResourceDef } from './kinds.js'

export interface Route {
  def: ResourceDef
  ns?: string
  name?: string
  sub?: string
  /** get|list|watch|create|update|patch|delete|deletecollection */
  verb: string
  watch: boolean
}

/** Undefined when the path is not a resource path the sim serves (discovery, unknown resources). */
export function parseRoute(method: string, path: string, query: Record<string, string>): Route | undefined {
  const segs = path.split('/').filter(Boolean).map(decodeURIComponent)
  let group: string
  let version: string
  let rest: string[]
  if (segs[0] === 'api' && segs[1] === 'v1') [group, version, rest] = ['', 'v1', segs.slice(2)]
  else if (segs[0] === 'apis' && segs.length >= 3) [group, version, rest] = [segs[1], segs[2], segs.slice(3)]
  else return undefined
  let watch = query.watch === 'true' || query.watch === '1'
  if (rest[0] === 'watch') {
    watch = true
    rest = rest.slice(1)
  }
  let ns: string | undefined
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    ns = rest[1]
    rest = rest.slice(2)
  }
  if (rest.length === 0 || rest.length > 3) return undefined
  const [plural, name, sub] = rest
  const def = findResource(group, version, plural)
  if (!def || (ns !== undefined && !def.namespaced)) return undefined
  if (sub && !(sub === 'status' && def.status) && !(sub === 'scale' && def.scale) && !(sub === 'eviction' && plural === 'pods' && group === '')) return undefined
  let verb: string
  switch (method) {
    case 'GET': verb = watch ? 'watch' : name ? 'get' : 'list'; break
    case 'POST': verb = 'create'; break
    case 'PUT': verb = 'update'; break
    case 'PATCH': verb = 'patch'; break
    case 'DELETE': verb = name ? 'delete' : 'deletecollection'; break
    default: verb = method.toLowerCase()
  }
  return { def, ns, name, sub, verb, watch: verb === 'watch' }
}
