// npm run chaos -- [--minutes N] [--replicas 3] [--nodes 50] [--seed S] [--json out.json] [--history out.json]
// npm run chaos -- --check history.json   (checks a recorded history again, runs nothing)
// Runs the chaos check (chaos.ts), checks the history (check.ts), prints the figures and every
// violation; exits 1 when there is one. --json writes the figures and violations (the checked-in
// result), --history the whole recorded history.
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { runChaos } from './chaos.js'
import { check } from './check.js'
import type { History } from './history.js'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1.5' },
    replicas: { type: 'string', default: '3' },
    nodes: { type: 'string', default: '50' },
    seed: { type: 'string', default: String(Date.now() % 100_000) },
    json: { type: 'string' },
    history: { type: 'string' },
    check: { type: 'string' },
  },
})
if (values.check) {
  const violations = check(JSON.parse(readFileSync(values.check, 'utf8')) as History)
  for (const v of violations) console.log(`VIOLATION ${v.invariant}: ${v.message}`)
  console.log(`chaos: ${violations.length} violation(s)`)
  process.exit(violations.length ? 1 : 0)
}
const number = (name: string, value: string | undefined, min: number) => {
  const n = Number(value)
  if (!Number.isFinite(n) || n < min) {
    console.error(`chaos: --${name} needs a number >= ${min}, got ${value}`)
    process.exit(2)
  }
  return n
}
const opts = {
  seconds: Math.round(number('minutes', values.minutes, 0.1) * 60),
  replicas: Math.round(number('replicas', values.replicas, 2)),
  nodes: Math.round(number('nodes', values.nodes, 5)),
  seed: Math.round(number('seed', values.seed, 0)),
}
console.log(`chaos: ${JSON.stringify(opts)}`)
const { history, figures } = await runChaos({ ...opts, log: (line) => console.log(`chaos: ${line}`) })
const violations = check(history)
const result = { issue: 29, finished_at: new Date().toISOString(), figures, violations_count: violations.length, violations }
console.log(JSON.stringify(figures, null, 2))
for (const v of violations) console.log(`VIOLATION ${v.invariant}: ${v.message}`)
console.log(`chaos: ${violations.length} violation(s)`)
if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2) + '\n')
if (values.history) writeFileSync(values.history, JSON.stringify(history) + '\n')
process.exit(violations.length ? 1 : 0)
