// The Dockerfile read as its stages: what the production-layout test replays, and how the
// benchmark runs the service as the image does (the runtime stage's ENV and CMD).
export interface Stage { name: string; from: string; workdir?: string; steps: { op: 'COPY' | 'RUN' | 'ENV'; args: string }[]; cmd?: string[] }

/** The Dockerfile's stages, with the instructions the tests can replay. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = []
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/)
    const args = rest.join(' ')
    const upper = op.toUpperCase()
    if (upper === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!
      stages.push({ name: m[2] ?? String(stages.length), from: m[1], steps: [] })
      continue
    }
    const stage = stages.at(-1)
    if (!stage) throw new Error(`Dockerfile: ${op} before FROM`)
    if (upper === 'WORKDIR') stage.workdir = args
    else if (upper === 'COPY' || upper === 'RUN' || upper === 'ENV') stage.steps.push({ op: upper, args })
    else if (upper === 'CMD') stage.cmd = JSON.parse(args) as string[]
    else if (!['USER', 'EXPOSE', 'ARG', 'LABEL'].includes(upper)) throw new Error(`Dockerfile: this test cannot replay ${upper}`)
  }
  return stages
}

/** The variables one ENV instruction sets (NAME=value pairs). */
export function envPairs(args: string): Record<string, string> {
  return Object.fromEntries([...args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]))
}

/** Everything a stage's ENV instructions set. */
export function stageEnv(stage: Stage): Record<string, string> {
  return Object.assign({}, ...stage.steps.filter((s) => s.op === 'ENV').map((s) => envPairs(s.args))) as Record<string, string>
}
