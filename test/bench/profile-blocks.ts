// npx tsx test/bench/profile-blocks.ts PROFILE.cpuprofile [--min-ms 40] [--after-s 0] [--top 40]
// What held the event loop: the stretches of a V8 CPU profile (node --cpu-prof, e.g. from
// `npm run bench -- --cpu-prof DIR`) with no idle sample for at least --min-ms, each with the
// frames most of its samples were in (the service's own frames, three deep). A block of the
// event loop is what a request arriving meanwhile waits for: these are the causes of a high p99.
import { readFileSync } from 'node:fs'

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const args = process.argv.slice(2)
const option = (name: string, dflt: number) => {
  const i = args.indexOf(name)
  return i < 0 ? dflt : Number(args[i + 1])
}
const file = args.find((a) => a.endsWith('.cpuprofile'))
if (!file) throw new Error('usage: npx tsx test/bench/profile-blocks.ts PROFILE.cpuprofile [--min-ms 40] [--after-s 0] [--top 40]')
const minMs = option('--min-ms', 40), afterS = option('--after-s', 0), top = option('--top', 40)

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const frame = (n: ProfileNode) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').at(-1)}:${n.callFrame.lineNumber + 1}`
/** The sample's stack, innermost first, only the frames of scripts (no runtime, no node: internals). */
function ours(id: number): string[] {
  const out: string[] = []
  for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
    const n = byId.get(x)!
    if (n.callFrame.url && !n.callFrame.url.startsWith('node:')) out.push(frame(n))
  }
  return out
}

interface Block { start: number; end: number; samples: number[] }
const blocks: Block[] = []
let t = 0
let current: Block | undefined
profile.samples.forEach((id, i) => {
  t += profile.timeDeltas[i] ?? 0
  if (frame(byId.get(id)!).startsWith('(idle)')) {
    if (current && (current.end - current.start) / 1000 >= minMs) blocks.push(current)
    current = undefined
  } else {
    current ??= { start: t, end: t, samples: [] }
    current.samples.push(id)
    current.end = t
  }
})

const shown = blocks.filter((b) => b.start / 1e6 >= afterS)
console.log(`${shown.length} blocks of ${minMs} ms or more after ${afterS} s (of ${blocks.length}); longest first:`)
for (const b of [...shown].sort((x, y) => (y.end - y.start) - (x.end - x.start)).slice(0, top)) {
  const counts = new Map<string, number>()
  for (const id of b.samples) {
    const stack = ours(id)
    const key = stack.length ? stack.slice(0, 3).join(' < ') : frame(byId.get(id)!)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  const causes = [...counts].sort((x, y) => y[1] - x[1]).slice(0, 3).map(([k, n]) => `${k} (${n})`)
  console.log(`${(b.start / 1e6).toFixed(2).padStart(8)} s ${((b.end - b.start) / 1000).toFixed(0).padStart(6)} ms  ${causes.join(' || ')}`)
}
