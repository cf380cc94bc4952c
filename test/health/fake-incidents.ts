// NodeIncident objects in memory for the monitor's unit tests: what the informer and the API
// server do for it (names unique, status writes conditional on resourceVersion, a uid per object).
import type { IncidentObject, IncidentSpec, IncidentStatus } from '../../src/kube/incident-objects.js'
import type { IncidentStore } from '../../src/health/monitor.js'
import { KubeError } from '../../src/kube/errors.js'

const conflict = (what: string) => new KubeError('conflict', `${what}: the object has been modified`, 409)

export class FakeIncidents implements IncidentStore {
  readonly map = new Map<string, IncidentObject>()
  synced = true
  private rv = 0
  private uid = 0
  /** Calls made, by verb (e.g. to show nothing is read per page). */
  calls: Record<string, number> = {}
  /** When set, every call waits for this (an API server that does not answer). */
  hang: Promise<never> | undefined

  private async enter(verb: string): Promise<void> {
    this.calls[verb] = (this.calls[verb] ?? 0) + 1
    if (this.hang) await this.hang
  }

  whenSynced(): Promise<void> { return Promise.resolve() }
  list(): IncidentObject[] { return [...this.map.values()] }
  get(name: string): IncidentObject | undefined { return this.map.get(name) }
  async read(name: string): Promise<IncidentObject | undefined> {
    await this.enter('read')
    return structuredClone(this.map.get(name))
  }

  async create(name: string, spec: IncidentSpec): Promise<IncidentObject> {
    await this.enter('create')
    if (this.map.has(name)) throw conflict(`create ${name}`)
    const o: IncidentObject = { metadata: { name, uid: `uid-${++this.uid}`, resourceVersion: String(++this.rv), creationTimestamp: new Date().toISOString() }, spec: structuredClone(spec) }
    this.map.set(name, o)
    return structuredClone(o)
  }

  async writeStatus(obj: IncidentObject, status: IncidentStatus): Promise<IncidentObject> {
    await this.enter('writeStatus')
    const have = this.map.get(obj.metadata.name)
    if (!have || have.metadata.resourceVersion !== obj.metadata.resourceVersion) throw conflict(`update ${obj.metadata.name}/status`)
    const o = { ...have, metadata: { ...have.metadata, resourceVersion: String(++this.rv) }, status: structuredClone(status) }
    this.map.set(o.metadata.name, o)
    return structuredClone(o)
  }

  async delete(name: string, uid?: string): Promise<void> {
    await this.enter('delete')
    if (uid && this.map.get(name)?.metadata.uid !== uid) return
    this.map.delete(name)
  }
}
