// Runtime configuration: the seed options an admin changes through PUT P/config, persisted in a
// ConfigMap in the service's namespace and watched by every replica, so each picks a change up
// within a moment of it being written. The ConfigMap's `options.json` holds only the options set
// through PUT (the NODE_MANAGER_CONFIG file's format); they win over the file and the environment
// until changed again (null in a PUT removes one, back to the file/environment value).
//
// Writes are read-merge-write with the ConfigMap's resourceVersion as precondition: a 409 (another
// replica or admin wrote in between) re-reads and merges again, a bounded number of times, then
// gives the caller a 409. Nothing is lost silently. Every change is audited: a log line with who,
// what changed and from what, and a Kubernetes Event on the ConfigMap.
import type { KubeConfig, V1ConfigMap } from '@kubernetes/client-node'
import { diffOptions, PluginOptions, validateOptions, validateSettings, type LiveOptions, type OptionChange } from '../config.js'
import { Failure, invalid } from '../errors.js'
import type { KubeClients } from './client.js'
import { configMapReflector, OwnConfigMap, type ConfigMapObject } from './configmap.js'
import { isConflict } from './errors.js'
import { recordEvent } from './events.js'
import { RUNTIME_CONFIG_NAME } from './permissions.js'
import { systemClock, type Clock } from '../clock.js'
import type { Reflector } from './reflector.js'
import type { Log } from '../shared/log.js'

export { RUNTIME_CONFIG_NAME }
export const OPTIONS_KEY = 'options.json'

export interface ConfigActor { username: string; user_id: string }

export interface RuntimeConfigOptions {
  kc: KubeConfig
  clients: KubeClients
  namespace: string
  /** The options from the file and the environment. */
  base: PluginOptions
  /** Where the effective options go (app.settings.options reads them). */
  live: LiveOptions
  log: Log
  name?: string
  clock?: Clock
  /** Write attempts before a 409 to the caller. Default 10. */
  maxAttempts?: number
}

export interface ConfigUpdate {
  options: PluginOptions
  changes: OptionChange[]
  /** Whether the ConfigMap was written (false: what was asked was already so). */
  written: boolean
  resourceVersion: string | undefined
  attempts: number
  /** What went wrong around a change that was made (its Event). */
  warnings: string[]
}

type Overrides = Partial<Record<keyof PluginOptions, unknown>>

const OPTION_NAMES = Object.keys(PluginOptions.properties) as (keyof PluginOptions)[]

/** The overrides a ConfigMap holds; throws with a message when its options.json is not a JSON object. */
function parseOverrides(cm: { data?: Record<string, string> } | undefined): Overrides {
  const text = cm?.data?.[OPTIONS_KEY]
  if (text === undefined || text.trim() === '') return {}
  const parsed: unknown = JSON.parse(text)
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${OPTIONS_KEY} must hold a JSON object`)
  return parsed as Overrides
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class RuntimeConfig {
  readonly name: string
  readonly reflector: Reflector<ConfigMapObject | null>
  private readonly cm: OwnConfigMap
  /** The options set through PUT, as the ConfigMap last seen holds them. */
  private overrides: Overrides = {}
  private rv: string | undefined
  private uid: string | undefined

  constructor(private readonly opts: RuntimeConfigOptions) {
    this.name = opts.name ?? RUNTIME_CONFIG_NAME
    this.cm = new OwnConfigMap(opts.clients, opts.namespace, this.name, 'runtime-config')
    this.reflector = configMapReflector({ kc: opts.kc, namespace: opts.namespace, name: this.name, log: opts.log, clock: opts.clock ?? systemClock }, (cm) => this.observe(cm))
  }

  get options(): PluginOptions { return this.opts.live.current }
  /** The options set through PUT (the rest come from the file and the environment). */
  get overridden(): (keyof PluginOptions)[] { return OPTION_NAMES.filter((k) => k in this.overrides) }
  get resourceVersion(): string | undefined { return this.rv }
  get synced(): boolean { return this.reflector.synced }
  get lastError(): string | undefined { return this.reflector.lastError }

  /** The options in force, once the ConfigMap has been read; else unavailable, saying why (with the options in force in the details). */
  readable(): PluginOptions {
    if (!this.reflector.synced) {
      throw new Failure('unavailable', `The runtime configuration has not been read from Kubernetes yet${this.lastError ? `: ${this.lastError}` : '; retry shortly'}`, { effective: this.options })
    }
    return this.options
  }

  start(): void { this.reflector.start() }
  stop(): Promise<void> { return this.reflector.stop() }

  /** Waits (at most timeoutMs) for the first read of the ConfigMap, or its first failure. */
  async firstSync(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.reflector.synced && !this.reflector.lastError && Date.now() < deadline) await sleep(20)
  }

  /** A ConfigMap version seen (watch, list, or our own write); null: there is none. */
  private observe(cm: ConfigMapObject | V1ConfigMap | null, source = 'watch'): void {
    let overrides: Overrides
    try {
      overrides = parseOverrides(cm ?? undefined)
    } catch (err) {
      this.opts.log.warn({ configMap: this.name, resourceVersion: cm?.metadata?.resourceVersion, err: (err as Error).message }, 'runtime configuration ignored: its ConfigMap does not hold valid options; keeping the options in force')
      return
    }
    const result = validateOptions({ ...this.opts.base, ...overrides })
    if ('problems' in result) {
      this.opts.log.warn({ configMap: this.name, resourceVersion: cm?.metadata?.resourceVersion, problems: result.problems }, 'runtime configuration ignored: invalid options in its ConfigMap; keeping the options in force')
      return
    }
    this.overrides = overrides
    this.rv = cm?.metadata?.resourceVersion
    this.uid = cm?.metadata?.uid
    const changes = this.opts.live.set(result.value)
    if (changes.length) {
      this.opts.log.info({ configMap: this.name, resourceVersion: this.rv, source, changes }, `runtime configuration applied: ${describeChanges(changes)}`)
    }
  }

  /**
   * Sets the options in `patch` (a subset; null removes an option's override), validated as the
   * file is (400 naming the option and its range), and persists them. 409 after maxAttempts
   * conflicting writes.
   */
  async update(patch: unknown, actor: ConfigActor): Promise<ConfigUpdate> {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      this.audit(actor, 'refused', [], 0, { body: patch })
      throw invalid('body must be a JSON object of seed options, e.g. {"nodeSelectionStrategy": "round-robin"}')
    }
    const asked = patch as Record<string, unknown>
    const refuse = (problems: string[], attempts: number) => {
      this.audit(actor, 'refused', [], attempts, asked, problems)
      return invalid(problems.join('; '), { problems })
    }
    const unknown = Object.keys(asked).filter((k) => !OPTION_NAMES.includes(k as keyof PluginOptions))
    if (unknown.length) throw refuse(unknown.map((k) => `${k} is not a known setting (known: ${OPTION_NAMES.join(', ')})`), 0)
    // Values alone first (so the 400 names the option even when the stored ones are odd).
    const set = Object.fromEntries(Object.entries(asked).filter(([, v]) => v !== null))
    const alone = validateSettings(PluginOptions, { ...this.opts.base, ...set }, (k) => k)
    if ('problems' in alone) throw refuse(alone.problems, 0)

    const maxAttempts = this.opts.maxAttempts ?? 10
    const before = this.opts.live.current
    let attempts = 0
    for (;;) {
      attempts++
      const current = await this.cm.read()
      let stored: Overrides
      try { stored = parseOverrides(current) } catch { stored = {} }
      const next: Overrides = { ...stored }
      for (const [k, v] of Object.entries(asked)) {
        if (v === null) delete next[k as keyof PluginOptions]
        else next[k as keyof PluginOptions] = v
      }
      const result = validateOptions({ ...this.opts.base, ...next })
      if ('problems' in result) throw refuse(result.problems, attempts)
      if (sameOverrides(stored, next)) {
        if (current) this.observe(current, 'read')
        return this.outcome(actor, before, false, attempts, [])
      }
      try {
        const written = await this.write(current, next, actor)
        this.observe(written, 'write')
        const changes = diffOptions(before, this.opts.live.current)
        const warnings = await this.recordEvent(actor, changes, asked, written)
        return this.outcome(actor, before, true, attempts, warnings)
      } catch (err) {
        if (!isConflict(err)) throw err
        if (attempts >= maxAttempts) {
          this.audit(actor, 'conflict', [], attempts, asked)
          throw new Failure('conflict', `the runtime configuration (ConfigMap ${this.opts.namespace}/${this.name}) kept changing under us: gave up after ${attempts} conflicting writes; read it again and retry`)
        }
        await sleep(Math.random() * Math.min(200, 20 * attempts))
      }
    }
  }

  private outcome(actor: ConfigActor, before: PluginOptions, written: boolean, attempts: number, warnings: string[]): ConfigUpdate {
    const changes = diffOptions(before, this.opts.live.current)
    this.audit(actor, written ? 'changed' : 'unchanged', changes, attempts)
    return { options: this.opts.live.current, changes, written, resourceVersion: this.rv, attempts, warnings }
  }

  private audit(actor: ConfigActor, outcome: 'changed' | 'unchanged' | 'refused' | 'conflict', changes: OptionChange[], attempts: number, asked?: Record<string, unknown>, problems?: string[]): void {
    const entry = { action: 'config.update', actor, outcome, changes, attempts, configMap: `${this.opts.namespace}/${this.name}`, resourceVersion: this.rv, ...(asked ? { request: asked } : {}), ...(problems ? { problems } : {}) }
    const line = `audit: ${actor.username} config.update: ${outcome}${changes.length ? ` (${describeChanges(changes)})` : ''}${problems ? `: ${problems.join('; ')}` : ''}`
    if (outcome === 'conflict') this.opts.log.warn({ audit: entry }, line)
    else this.opts.log.info({ audit: entry }, line)
  }

  /** Creates the ConfigMap, or replaces it conditionally on the resourceVersion read. A 409 passes through. */
  private write(current: V1ConfigMap | undefined, overrides: Overrides, actor: ConfigActor): Promise<V1ConfigMap> {
    const ordered = Object.fromEntries(OPTION_NAMES.filter((k) => k in overrides).map((k) => [k, overrides[k]]))
    return this.cm.write(current, { ...(current?.data ?? {}), [OPTIONS_KEY]: JSON.stringify(ordered, null, 2) + '\n' }, {
      'streamspace.io/changed-by': actor.username,
      'streamspace.io/changed-at': new Date((this.opts.clock ?? systemClock).now()).toISOString(),
    })
  }

  private async recordEvent(actor: ConfigActor, changes: OptionChange[], asked: Record<string, unknown>, cm: V1ConfigMap): Promise<string[]> {
    const what = changes.length ? describeChanges(changes) : `set ${Object.keys(asked).join(', ')} (effective values unchanged)`
    try {
      await recordEvent(this.opts.clients, { apiVersion: 'v1', kind: 'ConfigMap', name: this.name, namespace: this.opts.namespace, uid: cm.metadata?.uid ?? this.uid },
        { reason: 'RuntimeConfigChanged', message: `${what} by ${actor.username} (user_id ${actor.user_id}) via StreamSpace Node Manager` })
      return []
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'could not record the Kubernetes Event for a runtime configuration change')
      return [`change made, but its audit Event was not recorded: ${(err as Error).message}`]
    }
  }
}

function sameOverrides(a: Overrides, b: Overrides): boolean {
  const ka = Object.keys(a).sort(), kb = Object.keys(b).sort()
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k as keyof PluginOptions] === b[k as keyof PluginOptions])
}

export function describeChanges(changes: OptionChange[]): string {
  return changes.map((c) => `${c.option}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`).join(', ')
}
