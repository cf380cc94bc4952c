// Log lines: JSON when stdout is not a terminal (as deployed, and in tests), readable lines
// (pino-pretty) in a terminal, LOG_FORMAT=json|pretty to override. The process runs for real: once
// with stdout a pipe, once under a pseudo-terminal (util-linux `script`).
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { chooseLogFormat } from '../src/shared/log-format.js'

t.test('the format: guessed from the terminal, overridden by LOG_FORMAT, a wrong value named', async (t) => {
  t.same(chooseLogFormat(undefined, true), { format: 'pretty' })
  t.same(chooseLogFormat(undefined, false), { format: 'json' })
  t.same(chooseLogFormat(undefined, undefined), { format: 'json' }, 'stdout a pipe: isTTY is undefined')
  t.same(chooseLogFormat('', true), { format: 'pretty' }, 'empty is unset')
  t.same(chooseLogFormat('json', true), { format: 'json' })
  t.same(chooseLogFormat('Pretty', false), { format: 'pretty' })
  t.same(chooseLogFormat('yaml', true), { problem: 'LOG_FORMAT must be one of json, pretty (got "yaml")' })
})

interface Run { output: () => string; exited: Promise<number | null>; stop: () => void }

/** The service on the embedded simulated cluster; `tty`: its stdout a pseudo-terminal. */
function run(env: Record<string, string>, tty = false): Run {
  const node = [process.execPath, '--import', 'tsx', 'src/server.ts']
  const [cmd, args] = tty ? ['script', ['-qec', node.join(' '), '/dev/null']] : [node[0], node.slice(1)]
  const child = spawn(cmd!, args as string[], {
    env: { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'home-')), KUBE_MODE: 'simulated', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: stop() reaches the service under `script` too
  })
  let out = ''
  child.stdout!.on('data', (d) => { out += d })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const stop = () => { try { process.kill(-child.pid!, 'SIGTERM') } catch { /* gone */ } }
  t.teardown(stop)
  return { output: () => out, exited, stop }
}

async function until(get: () => string, re: RegExp, ms = 90_000): Promise<string> {
  const end = Date.now() + ms
  while (!re.test(get())) {
    if (Date.now() > end) throw new Error(`no ${re} in:\n${get()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return get()
}

const lines = (s: string) => s.split(/\r?\n/).filter((l) => l.trim() !== '')

t.test('stdout a pipe: every line is one JSON object', async (t) => {
  const p = run({})
  const out = await until(p.output, /Server listening at/)
  p.stop()
  await p.exited
  for (const line of lines(out)) t.doesNotThrow(() => JSON.parse(line), line.slice(0, 80))
  t.ok(lines(out).some((l) => JSON.parse(l).msg.startsWith('Server listening at')))
})

t.test('stdout a terminal: readable lines, no JSON; LOG_FORMAT=json keeps JSON there', async (t) => {
  const pretty = run({}, true)
  const out = await until(pretty.output, /Server listening at/)
  pretty.stop()
  await pretty.exited
  const listening = lines(out).find((l) => l.includes('Server listening at'))!
  // e.g. "[14:03:21 UTC] INFO: Server listening at http://127.0.0.1:40123" (colours aside)
  t.match(stripVTControlCharacters(listening), /^\[\d\d:\d\d:\d\d [^\]]+\] INFO.*: Server listening at http:\/\/127\.0\.0\.1:\d+/)
  t.notOk(lines(out).some((l) => l.trimStart().startsWith('{"level"')), 'no JSON lines')

  const json = run({ LOG_FORMAT: 'json' }, true)
  const jsonOut = await until(json.output, /Server listening at/)
  json.stop()
  await json.exited
  t.ok(lines(jsonOut).filter((l) => l.includes('Server listening at')).every((l) => JSON.parse(l).level === 30))
})

t.test('a wrong LOG_FORMAT refuses to start, naming it', async (t) => {
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env: { PATH: process.env.PATH, LOG_FORMAT: 'yaml', KUBE_MODE: 'simulated' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  p.stderr.on('data', (d) => { err += d })
  const code = await new Promise((resolve) => p.once('exit', resolve))
  t.equal(code, 2)
  t.match(err, /refuses to start: LOG_FORMAT must be one of json, pretty \(got "yaml"\)/)
})
