// The sim's audit log (--audit-log FILE, onAudit): every write and every 5xx answer, with the Host
// header the client dialed, the answer's status and, for a pod, the pod as it was before.
import t from 'tap'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSim, type AuditEntry } from '../../src/sim/index.js'
import { parseArgs } from '../../src/sim/cli-args.js'

t.test('writes and 5xx answers are logged, reads are not', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl')
  const seen: AuditEntry[] = []
  const sim = await startSim({ nodes: 1, podsPerNode: 3, podTerminateSeconds: 1, auditLog: file, onAudit: (e) => seen.push(e) })
  const api = (path: string, init: RequestInit = {}) => fetch(`${sim.url}${path}`, init)
  const pods = (await (await api('/api/v1/namespaces/workloads/pods')).json()) as { items: { metadata: { name: string; uid: string } }[] }
  const victim = pods.items[0]!.metadata
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: victim.name, namespace: 'workloads' } }
  const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(eviction) }
  t.equal((await api(`/api/v1/namespaces/workloads/pods/${victim.name}/eviction`, post)).status, 201)
  // The pod now terminates (1 s): a second eviction is logged with terminating true.
  t.equal((await api(`/api/v1/namespaces/workloads/pods/${victim.name}/eviction`, post)).status, 201)
  const patch = await api('/api/v1/nodes/node-00001', { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { unschedulable: true } }) })
  t.equal(patch.status, 200)
  sim.faults = { ...sim.faults, errorRate: 1 }
  t.equal((await api('/api/v1/nodes')).status, 503, 'an injected fault')
  sim.faults = { ...sim.faults, errorRate: 0 }
  await sim.close()

  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditEntry)
  t.same(lines, JSON.parse(JSON.stringify(seen)), 'the file holds what onAudit got')
  t.same(lines.map((e) => [e.verb, e.resource, e.name ?? null, e.status]), [
    ['create', 'pods/eviction', victim.name, 201],
    ['create', 'pods/eviction', victim.name, 201],
    ['patch', 'nodes', 'node-00001', 200],
    ['list', 'nodes', null, 503],
  ], 'two evictions, a patch, a 503; the pod list (a read) is not there')
  t.same(lines.map((e) => e.pod?.terminating ?? null), [false, true, null, null], 'the second eviction met a terminating pod')
  t.equal(lines[0]!.pod?.uid, victim.uid)
  t.equal(lines[0]!.pod?.node, 'node-00001')
  t.equal(lines[0]!.host, new URL(sim.url).host, 'the Host header names the address dialed')
  t.ok(lines.every((e) => e.at >= e.start && e.start > 0))
})

t.test('--audit-log on the command line', async (t) => {
  t.equal(parseArgs(['--audit-log', '/tmp/x.jsonl']).auditLog, '/tmp/x.jsonl')
  t.throws(() => parseArgs(['--audit-log']), /--audit-log needs a file/)
})
