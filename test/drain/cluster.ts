// The cluster the drain tests run against, through the shared backend abstraction. One backend
// for a whole test file (each test uses its own nodes and namespaces); DRAIN_BACKEND picks it.
import { startBackend, type Backend, type BackendName } from '../helpers/backend.js'

export async function startCluster(): Promise<Backend> {
  const name = (process.env.DRAIN_BACKEND ?? 'sim') as BackendName
  return startBackend(name)
}
