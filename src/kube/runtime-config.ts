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
//
// Versions are applied in resourceVersion order only: our own write, a read and the watch all feed
// observe(), and the watch may deliver an older version after our write was seen; applying it
// would put old options back (and the Cluster API provider would push the old min/max). A PUT may
// carry If-Match with the ETag GET gave (the ConfigMap's resourceVersion): on mismatch it is
// refused (412) instead of merged. A hand-broken options.json is kept as `problem` (GET shows it)
// and refuses PUT (409) rather than being replaced by the PUT's options alone.
import type { KubeConfig, V1ConfigMap } from '@kubernetes/client-node'
import { diffOptions, PluginOptions, validateOptions, validateSettings, type LiveOptions, type OptionChange } from '../config.js'
import { Failure, invalid } from '../errors.js'
import type { KubeClients } from './client.js'
import { OwnConfigMap, type ConfigMapObject } from './configmap.js'
import { isConflict } from './errors.js'
import { recordEvent } from './events.js'
import { RUNTIME_CONFIG_NAME } from './permissions.js'
import { systemClock, type Clock } from '../clock.js'
import { Reflector } from './reflector.js'
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

export interface ConfigReading {
  options: PluginOptions
  /** The ConfigMap's resourceVersion (the ETag); undefined while there is none. */
  resourceVersion: string | undefined
  overridden: (keyof PluginOptions)[]
  /** Why the stored options.json is not in force, else undefined. */
  problem: string | undefined
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
  /** The options set through PUT after this one (the rest come from the file and the environment). */
  overridden: (keyof PluginOptions)[]
}

/** Why a PUT was refused as a precondition (details.reason of the precondition_failed Failure: 412). */
export const PRECONDITION_FAILED = 'precondition_failed'

type Overrides = Partial<Record<keyof PluginOptions, unknown>>

const OPTION_NAMES = Object.keys(PluginOptions.properties) as (keyof PluginOptions)[]

/** The overrides a ConfigMap holds; throws saying what is wrong ("is not valid JSON: ...") when its options.json is not a JSON object. */
function parseOverrides(cm: { data?: Record<string, string> } | undefined): Overrides {
  const text = cm?.data?.[OPTIONS_KEY]
  if (text === undefined || text.trim() === '') return {}
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch (err) { throw new Error(`is not valid JSON: ${(err as Error).message}`, { cause: err }) }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`must hold a JSON object (got ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)})`)
  return parsed as Overrides
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Whether resourceVersion `a` is newer than `b`. Opaque by contract, but etcd's are integers: compared as such; otherwise any other value counts as newer. */
export function newerVersion(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a !== b
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b)
  return a !== b
}

/** Whether an If-Match header value matches the ETag of the ConfigMap at `rv` (absent: only none would, and none is sent). */
export function ifMatchHolds(ifMatch: string, rv: string | undefined): boolean {
  return ifMatch.split(',').map((s) => s.trim()).some((tag) => (tag === '*' ? rv !== undefined : rv !== undefined && tag === `"${rv}"`))
}

export class RuntimeConfig {
  readonly name: string
  readonly reflector: Reflector<ConfigMapObject | null>
  private readonly cm: OwnConfigMap
  /** The options set through PUT, as the ConfigMap last seen holds them. */
  private overrides: Overrides = {}
  /** The newest version seen, valid or not, deletions included: nothing older is applied. */
  private seenRv: string | undefined
  /** The resourceVersion of the ConfigMap as last seen (its ETag); undefined when there is none. */
  private rv: string | undefined
  private uid: string | undefined
  /** Why the ConfigMap's options.json is not in force (hand-broken), else undefined. */
  private storedProblem: string | undefined

  constructor(private readonly opts: RuntimeConfigOptions) {
    this.name = opts.name ?? RUNTIME_CONFIG_NAME
    this.cm = new OwnConfigMap(opts.clients, opts.namespace, this.name, 'runtime-config')
    // The deletion's and the list's resourceVersion go with "none", so they are ordered too.
    const reflector: Reflector<ConfigMapObject | null> = new Reflector<ConfigMapObject | null>({
      kc: opts.kc,
      path: `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/configmaps`,
      query: { fieldSelector: `metadata.name=${this.name}` },
      log: opts.log,
      clock: opts.clock ?? systemClock,
      transform: (raw) => raw as ConfigMapObject,
      sink: {
        replace: (items) => {
          const cm = items.find((i) => i?.metadata?.name === this.name)
          this.observe(cm ?? null, 'list', reflector.resourceVersion)
        },
        upsert: (cm) => this.observe(cm),
        remove: (cm) => this.observe(null, 'watch', cm?.metadata?.resourceVersion),
      },
    })
    this.reflector = reflector
  }

  get options(): PluginOptions { return this.opts.live.current }
  /** The options set through PUT (the rest come from the file and the environment). */
  get overridden(): (keyof PluginOptions)[] { return OPTION_NAMES.filter((k) => k in this.overrides) }
  /** The ConfigMap's resourceVersion as last seen (GET's ETag); undefined while there is none. */
  get resourceVersion(): string | undefined { return this.rv }
  /** Why the stored options.json is not in force (e.g. hand-broken JSON, a value out of range), else undefined. */
  get problem(): string | undefined { return this.storedProblem }
  get synced(): boolean { return this.reflector.synced }
  get lastError(): string | undefined { return this.reflector.lastError }

  /** The options in force, once the ConfigMap has been read; else unavailable, saying why (with the options in force in the details). */
  readable(): PluginOptions {
    if (!this.reflector.synced) {
      throw new Failure('unavailable', `The runtime configuration has not been read from Kubernetes yet${this.lastError ? `: ${this.lastError}` : '; retry shortly'}`, { effective: this.options })
    }
    return this.options
  }

  /** What GET P/config answers: readable()'s options (or its unavailable) with their version, overrides and any problem of the stored ones. */
  current(): ConfigReading {
    const options = this.readable()
    return { options, resourceVersion: this.rv, overridden: this.overridden, problem: this.storedProblem }
  }

  start(): void { this.reflector.start() }
  stop(): Promise<void> { return this.reflector.stop() }

  /** Waits (at most timeoutMs) for the first read of the ConfigMap, or its first failure. */
  async firstSync(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.reflector.synced && !this.reflector.lastError && Date.now() < deadline) await sleep(20)
  }

  /**
   * A ConfigMap version seen (watch, list, a read or our own write); null: there is none, as of
   * `goneAt` (the deletion's or the list's resourceVersion). Older than one already seen: ignored.
   */
  observe(cm: ConfigMapObject | V1ConfigMap | null, source = 'watch', goneAt?: string): void {
    const version = cm ? cm.metadata?.resourceVersion : goneAt
    if (version !== undefined && this.seenRv !== undefined && !newerVersion(version, this.seenRv)) return
    if (version !== undefined) this.seenRv = version
    const at = { configMap: this.name, resourceVersion: version, source }
    const where = `${OPTIONS_KEY} in ConfigMap ${this.opts.namespace}/${this.name} (resourceVersion ${version ?? '?'})`
    this.rv = cm ? version : undefined
    if (cm) this.uid = cm.metadata?.uid
    let overrides: Overrides
    try {
      overrides = parseOverrides(cm ?? undefined)
    } catch (err) {
      this.storedProblem = `${where} ${(err as Error).message}`
      this.opts.log.warn({ ...at, err: (err as Error).message }, 'runtime configuration ignored: its ConfigMap does not hold valid options; keeping the options in force')
      return
    }
    const result = validateOptions({ ...this.opts.base, ...overrides })
    if ('problems' in result) {
      this.storedProblem = `${where} is not valid: ${result.problems.join('; ')}`
      this.opts.log.warn({ ...at, problems: result.problems }, 'runtime configuration ignored: invalid options in its ConfigMap; keeping the options in force')
      return
    }
    this.storedProblem = undefined
    this.overrides = overrides
    const changes = this.opts.live.set(result.value)
    if (changes.length) {
      this.opts.log.info({ ...at, changes }, `runtime configuration applied: ${describeChanges(changes)}`)
    }
  }

  /**
   * Sets the options in `patch` (a subset; null removes an option's override), validated as the
   * file is (400 naming the option and its range), and persists them. 409 after maxAttempts
   * conflicting writes, or while the stored options.json is broken (saying why). With `ifMatch`
   * (an If-Match header), only if the ConfigMap is still at that ETag: else precondition_failed
   * (412) whose details.reason is PRECONDITION_FAILED and details.etag the current ETag.
   */
  async update(patch: unknown, actor: ConfigActor, ifMatch?: string): Promise<ConfigUpdate> {
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
    const where = `ConfigMap ${this.opts.namespace}/${this.name}`
    let attempts = 0
    for (;;) {
      attempts++
      const current = await this.cm.read()
      const rv = current?.metadata?.resourceVersion
      if (ifMatch !== undefined && !ifMatchHolds(ifMatch, rv)) {
        this.audit(actor, 'refused', [], attempts, asked, [`If-Match ${ifMatch} does not match`])
        throw new Failure('precondition_failed', rv === undefined
          ? `If-Match ${ifMatch}: there is no stored configuration (${where}) yet; send the PUT without If-Match`
          : `If-Match ${ifMatch} does not match the configuration's ETag "${rv}": it changed since you read it; GET it again and retry`, { reason: PRECONDITION_FAILED, etag: rv === undefined ? null : `"${rv}"` })
      }
      let stored: Overrides
      try {
        stored = parseOverrides(current)
      } catch (err) {
        // Not silently replaced by this PUT's options alone: the others set there would be lost.
        const problem = `${OPTIONS_KEY} in ${where} (resourceVersion ${rv}) ${(err as Error).message}`
        this.audit(actor, 'refused', [], attempts, asked, [problem])
        throw new Failure('conflict', `${problem}: fix or remove that key (kubectl -n ${this.opts.namespace} edit configmap ${this.name}) before changing options here`, { problems: [problem] })
      }
      const next: Overrides = { ...stored }
      for (const [k, v] of Object.entries(asked)) {
        if (v === null) delete next[k as keyof PluginOptions]
        else next[k as keyof PluginOptions] = v
      }
      const result = validateOptions({ ...this.opts.base, ...next })
      if ('problems' in result) {
        const storedAlone = validateOptions({ ...this.opts.base, ...stored })
        if (!('problems' in storedAlone)) throw refuse(result.problems, attempts)
        // The stored values are invalid and this PUT does not replace them.
        const problems = storedAlone.problems.map((p) => `${OPTIONS_KEY} in ${where} (resourceVersion ${rv}): ${p}`)
        this.audit(actor, 'refused', [], attempts, asked, problems)
        throw new Failure('conflict', `${problems.join('; ')}: set valid values for them in this PUT (null removes one), or fix the ConfigMap`, { problems })
      }
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
          throw new Failure('conflict', `the runtime configuration (${where}) kept changing under us: gave up after ${attempts} conflicting writes; read it again and retry`)
        }
        await sleep(Math.random() * Math.min(200, 20 * attempts))
      }
    }
  }

  private outcome(actor: ConfigActor, before: PluginOptions, written: boolean, attempts: number, warnings: string[]): ConfigUpdate {
    const changes = diffOptions(before, this.opts.live.current)
    this.audit(actor, written ? 'changed' : 'unchanged', changes, attempts)
    return { options: this.opts.live.current, changes, written, resourceVersion: this.rv, attempts, warnings, overridden: this.overridden }
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
