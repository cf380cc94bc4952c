// npx tsx --expose-gc test/bench/history.ts [--nodes 5000] [--samples 240]
// What an hour of metrics history costs: every node's usage ring (src/kube/node-metrics.ts) full
// of metrics-server-like samples, measured as heap and ArrayBuffer growth after full GCs.
import { UsageRing } from '../../src/kube/node-metrics.js'
import { quantityToNumber } from '../../src/kube/quantity.js'

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name)
  return i < 0 ? dflt : Number(process.argv[i + 1])
}
const nodes = arg('--nodes', 5000), samples = arg('--samples', 240)
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with --expose-gc: npx tsx --expose-gc test/bench/history.ts')
const used = () => { gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }
const before = used()
const rings: UsageRing[] = []
for (let n = 0; n < nodes; n++) {
  const ring = new UsageRing(samples)
  for (let i = 0; i < samples; i++) {
    const cpu = `${100_000_000 + Math.floor(Math.random() * 900_000_000)}n`
    const memory = `${1_000_000 + Math.floor(Math.random() * 9_000_000)}Ki`
    ring.push({ at: Date.now() + 15_000 * i, cpu, memory, cpuCores: quantityToNumber(cpu), memoryBytes: quantityToNumber(memory) })
  }
  rings.push(ring)
}
const bytes = used() - before
console.log(`${nodes} nodes x ${samples} samples: ${(bytes / 2 ** 20).toFixed(1)} MiB, ${(bytes / (nodes * samples)).toFixed(1)} bytes a sample (${rings.length} rings)`)
