// All settings in one TypeBox schema: the seed plugin's options (JSON file at NODE_MANAGER_CONFIG,
// then environment overrides) and the service's own settings (environment). Anything invalid
// refuses to start with a message naming the setting and what it allows.
import { readFileSync } from 'node:fs'
import { Type, type Static, type TSchema } from 'typebox'
import { Value } from 'typebox/value'

/** METRICS_PER_NODE: per-node series always, never, or (auto) up to 5,000 nodes (src/nodes/node-series.ts). */
export const PER_NODE_MODES = ['auto', 'on', 'off'] as const
export type PerNodeMode = (typeof PER_NODE_MODES)[number]

export const Strategies = ['least-sessions', 'most-resources', 'random', 'round-robin'] as const

/** The seed plugin's options, with its defaults and ranges. PUT P/config edits these. */
export const PluginOptions = Type.Object({
  enableAutoScaling: Type.Boolean({ default: false, description: 'Enable automatic node scaling' }),
  scaleUpThreshold: Type.Number({ default: 80, minimum: 50, maximum: 95, description: 'CPU/Memory % to trigger scale up' }),
  scaleDownThreshold: Type.Number({ default: 20, minimum: 5, maximum: 50, description: 'CPU/Memory % to trigger scale down' }),
  nodeSelectionStrategy: Type.Union(Strategies.map((s) => Type.Literal(s)), { default: 'least-sessions', description: 'Node selection algorithm' }),
  healthCheckInterval: Type.Integer({ default: 60, minimum: 30, maximum: 600, description: 'Seconds between health checks' }),
  metricsEnabled: Type.Boolean({ default: true, description: 'Enable resource metrics collection' }),
  alertOnNodeFailure: Type.Boolean({ default: true, description: 'Alert when nodes become NotReady' }),
  minNodes: Type.Integer({ default: 1, minimum: 1, maximum: 100, description: 'Minimum cluster nodes' }),
  maxNodes: Type.Integer({ default: 10, minimum: 1, maximum: 1000, description: 'Maximum cluster nodes' }),
}, { additionalProperties: false })
export type PluginOptions = Static<typeof PluginOptions>

export const KubeModes = ['auto', 'in-cluster', 'kubeconfig', 'simulated'] as const
export const LogLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** The service's own settings, from the environment. */
export const ServiceSettings = Type.Object({
  port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
  host: Type.String({ default: '0.0.0.0', minLength: 1 }),
  logLevel: Type.Union(LogLevels.map((l) => Type.Literal(l)), { default: 'info' }),
  jwtSecret: Type.Optional(Type.String({ minLength: 32 })),
  /** The secret from a mounted file instead (e.g. StreamSpace's Secret as a volume), re-read when it changes. */
  jwtSecretFile: Type.Optional(Type.String({ minLength: 1 })),
  /** After the file's secret changes, tokens signed with the previous one still pass this long. */
  jwtSecretGraceSeconds: Type.Integer({ default: 300, minimum: 0, maximum: 86400 }),
  jwtIssuer: Type.String({ default: 'streamspace-api', minLength: 1 }),
  kubeMode: Type.Union(KubeModes.map((m) => Type.Literal(m)), { default: 'auto' }),
  kubeconfig: Type.Optional(Type.String({ minLength: 1 })),
  sessionLabelSelector: Type.String({ default: 'app=streamspace-session', minLength: 1 }),
  alertmanagerUrl: Type.Optional(Type.String({ minLength: 1 })),
  alertWebhookUrl: Type.Optional(Type.String({ minLength: 1 })),
  podNamespace: Type.Optional(Type.String({ minLength: 1 })),
  /** Leader-election identity (the pod's name); else hostname plus a random suffix. */
  podName: Type.Optional(Type.String({ minLength: 1 })),
  /** HMAC-SHA256 key: the webhook body's signature goes in X-StreamSpace-Signature. */
  alertWebhookSecret: Type.Optional(Type.String({ minLength: 1 })),
  /** The service's base URL as admins reach it (alerts link to P/admin/nodes/<name> under it). */
  publicUrl: Type.Optional(Type.String({ minLength: 1 })),
  /** A node problem must last this long before it pages (one late heartbeat pages nobody). */
  healthGraceSeconds: Type.Integer({ default: 30, minimum: 0, maximum: 3600 }),
  /** A node cordoned for longer than this pages (StreamSpaceNodeCordonedTooLong); 0: never. */
  cordonedAlertMinutes: Type.Integer({ default: 60, minimum: 0, maximum: 10080 }),
  /** For tests only: overrides healthCheckInterval (seconds, 30-600) with a period in milliseconds. */
  healthCheckIntervalMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600000 })),
  /** How often NodeMetrics are read from metrics.k8s.io (metrics-server resolves at 15 s). */
  metricsPollSeconds: Type.Number({ default: 15, minimum: 1, maximum: 600 }),
  /** Per-node series on /metrics: on, off, or auto (off above 5,000 nodes: see src/nodes/node-series.ts). */
  metricsPerNode: Type.Union(PER_NODE_MODES.map((m) => Type.Literal(m)), { default: 'auto' }),
  /** Samples of usage history kept per node (at 15 s: 240 = 1 hour). */
  metricsHistorySamples: Type.Integer({ default: 240, minimum: 1, maximum: 10000 }),
  /** Node changes (labels, taints, cordon) one user may make per window; over it, 429. */
  changeRateLimitMax: Type.Integer({ default: 120, minimum: 1, maximum: 100000 }),
  changeRateLimitWindowSeconds: Type.Integer({ default: 60, minimum: 1, maximum: 86400 }),
  /** StreamSpace's Redis (redis:// or rediss://): tokens whose session:<jti> key is gone are refused (revocation). */
  sessionStoreUrl: Type.Optional(Type.String({ pattern: '^rediss?://[^\\s]+$' })),
  /** How long one session-store answer is reused per token (a logout takes effect within this). */
  sessionStoreCacheSeconds: Type.Number({ default: 2, minimum: 0, maximum: 5 }),
  /** How long a session-store lookup may take before the request is refused with 503. */
  sessionStoreTimeoutMs: Type.Integer({ default: 1000, minimum: 50, maximum: 10000 }),
  /** How often the leader evaluates the autoscaling recommendation. */
  autoscalingIntervalSeconds: Type.Number({ default: 30, minimum: 0.1, maximum: 3600 }),
  /** Utilization must stay above scaleUpThreshold this long before scale_up is recommended. */
  scaleUpStabilizationSeconds: Type.Number({ default: 90, minimum: 0, maximum: 3600 }),
  /** Utilization must stay below scaleDownThreshold this long before scale_down is recommended. */
  scaleDownStabilizationSeconds: Type.Number({ default: 600, minimum: 0, maximum: 86400 }),
  /** none: recommend only; cluster-api: act through cluster-autoscaler's MachineDeployment annotations and overprovisioning. */
  autoscalingProvider: Type.Union([Type.Literal('none'), Type.Literal('cluster-api')], { default: 'none' }),
  /** provider cluster-api: the MachineDeployments (any namespace) whose cluster-autoscaler annotations are managed. */
  clusterApiSelector: Type.String({ default: 'streamspace.io/autoscaling=enabled', minLength: 1 }),
  /** provider cluster-api: the image of the overprovisioning pause pods. */
  overprovisioningImage: Type.String({ default: 'registry.k8s.io/pause:3.10', minLength: 1 }),
  /** Session protection waits this long after a change of nodes or pods, so a burst is one pass. */
  sessionProtectionDebounceSeconds: Type.Number({ default: 1, minimum: 0, maximum: 60 }),
  /** Session protection also checks every node this often, whatever the watches said (safety net). */
  sessionProtectionResyncSeconds: Type.Number({ default: 300, minimum: 1, maximum: 86400 }),
}, { additionalProperties: false })
export type ServiceSettings = Static<typeof ServiceSettings>

export interface Config {
  options: PluginOptions
  service: ServiceSettings
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

const SERVICE_ENV: Record<keyof ServiceSettings, string> = {
  port: 'PORT', host: 'HOST', logLevel: 'LOG_LEVEL', jwtSecret: 'JWT_SECRET', jwtSecretFile: 'JWT_SECRET_FILE', jwtSecretGraceSeconds: 'JWT_SECRET_GRACE_SECONDS', jwtIssuer: 'JWT_ISSUER',
  kubeMode: 'KUBE_MODE', kubeconfig: 'KUBECONFIG', sessionLabelSelector: 'SESSION_LABEL_SELECTOR',
  alertmanagerUrl: 'ALERTMANAGER_URL', alertWebhookUrl: 'ALERT_WEBHOOK_URL', podNamespace: 'POD_NAMESPACE',
  podName: 'POD_NAME', alertWebhookSecret: 'ALERT_WEBHOOK_SECRET', publicUrl: 'PUBLIC_URL',
  healthGraceSeconds: 'HEALTH_GRACE_SECONDS', cordonedAlertMinutes: 'CORDONED_ALERT_MINUTES', healthCheckIntervalMs: 'HEALTH_CHECK_INTERVAL_MS',
  metricsPollSeconds: 'METRICS_POLL_SECONDS', metricsPerNode: 'METRICS_PER_NODE', metricsHistorySamples: 'METRICS_HISTORY_SAMPLES',
  changeRateLimitMax: 'CHANGE_RATE_LIMIT_MAX', changeRateLimitWindowSeconds: 'CHANGE_RATE_LIMIT_WINDOW_SECONDS',
  autoscalingIntervalSeconds: 'AUTOSCALING_INTERVAL_SECONDS', scaleUpStabilizationSeconds: 'SCALE_UP_STABILIZATION_SECONDS',
  scaleDownStabilizationSeconds: 'SCALE_DOWN_STABILIZATION_SECONDS',
  sessionStoreUrl: 'SESSION_STORE_URL', sessionStoreCacheSeconds: 'SESSION_STORE_CACHE_SECONDS', sessionStoreTimeoutMs: 'SESSION_STORE_TIMEOUT_MS',
  autoscalingProvider: 'AUTOSCALING_PROVIDER', clusterApiSelector: 'CLUSTER_API_SELECTOR', overprovisioningImage: 'OVERPROVISIONING_IMAGE',
  sessionProtectionDebounceSeconds: 'SESSION_PROTECTION_DEBOUNCE_SECONDS', sessionProtectionResyncSeconds: 'SESSION_PROTECTION_RESYNC_SECONDS',
}

/** Seed option -> environment variable: enableAutoScaling -> ENABLE_AUTO_SCALING. */
export function optionEnvName(option: string): string {
  return option.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()
}

/** Env strings become numbers and booleans where the schema says so. */
function fromEnv(schema: TSchema, env: NodeJS.ProcessEnv, names: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, envName] of Object.entries(names)) {
    const raw = env[envName]
    if (raw === undefined || raw === '') continue
    const prop = (schema as { properties: Record<string, { type?: string }> }).properties[key]
    if (prop.type === 'number' || prop.type === 'integer') out[key] = raw.trim() === '' ? raw : Number(raw)
    else if (prop.type === 'boolean') out[key] = raw === 'true' ? true : raw === 'false' ? false : raw
    else out[key] = raw
  }
  return out
}

function describeRule(schema: TSchema, key: string): string {
  const prop = (schema as { properties: Record<string, Record<string, unknown>> }).properties[key]
  if (!prop) return 'is not a known setting'
  if (prop.pattern) return `must match ${prop.pattern as string}`
  if (prop.anyOf) return `must be one of ${(prop.anyOf as { const: string }[]).map((s) => JSON.stringify(s.const)).join(', ')}`
  if (prop.minimum !== undefined && prop.maximum !== undefined) return `must be ${prop.type === 'integer' ? 'an integer' : 'a number'} from ${prop.minimum} to ${prop.maximum}`
  if (prop.type === 'string' && prop.minLength) return `must be a string of at least ${prop.minLength} characters`
  return `must be a ${prop.type}`
}

/** Validates with defaults applied; returns the value or the list of problems, each naming a setting. */
export function validateSettings<T extends TSchema>(schema: T, input: Record<string, unknown>, describe: (key: string) => string): { value: Static<T> } | { problems: string[] } {
  const value = Value.Default(schema, structuredClone(input)) as Record<string, unknown>
  const problems = new Set<string>()
  for (const err of Value.Errors(schema, value)) {
    const key = err.instancePath.split('/')[1]
    if (key) problems.add(`${describe(key)} ${describeRule(schema, key)} (got ${JSON.stringify(value[key])})`)
    else if (err.keyword === 'additionalProperties') {
      for (const extra of (err.params as { additionalProperties?: string[] }).additionalProperties ?? []) problems.add(`${describe(extra)} is not a known setting`)
    } else problems.add(err.message)
  }
  return problems.size ? { problems: [...problems] } : { value: value as Static<T> }
}

/** Rules across options that a single field's schema cannot say. */
export function crossCheckOptions(o: PluginOptions): string[] {
  const problems: string[] = []
  if (o.minNodes > o.maxNodes) problems.push(`minNodes (${o.minNodes}) must be <= maxNodes (${o.maxNodes})`)
  if (o.scaleDownThreshold >= o.scaleUpThreshold) problems.push(`scaleDownThreshold (${o.scaleDownThreshold}) must be below scaleUpThreshold (${o.scaleUpThreshold})`)
  return problems
}

export function validateOptions(input: Record<string, unknown>): { value: PluginOptions } | { problems: string[] } {
  const result = validateSettings(PluginOptions, input, (k) => k)
  if ('problems' in result) return result
  const cross = crossCheckOptions(result.value)
  return cross.length ? { problems: cross } : result
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = []
  let fileOptions: Record<string, unknown> = {}
  const file = env.NODE_MANAGER_CONFIG
  if (file) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'))
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) problems.push(`NODE_MANAGER_CONFIG (${file}) must hold a JSON object`)
      else fileOptions = parsed as Record<string, unknown>
    } catch (err) {
      problems.push(`NODE_MANAGER_CONFIG (${file}) cannot be read: ${(err as Error).message}`)
    }
  }
  const optionNames = Object.fromEntries(Object.keys(PluginOptions.properties).map((k) => [k, optionEnvName(k)]))
  const options = validateOptions({ ...fileOptions, ...fromEnv(PluginOptions, env, optionNames) })
  const service = validateSettings(ServiceSettings, fromEnv(ServiceSettings, env, SERVICE_ENV), (k) => SERVICE_ENV[k as keyof ServiceSettings] ?? k)
  if ('problems' in options) problems.push(...options.problems)
  if ('problems' in service) problems.push(...service.problems)
  else if (service.value.jwtSecret && service.value.jwtSecretFile) problems.push('JWT_SECRET and JWT_SECRET_FILE are both set: set one of them')
  if (problems.length || 'problems' in options || 'problems' in service) throw new ConfigError(problems)
  return { options: options.value, service: service.value }
}

/** What changed between two option sets: each option whose value differs, from and to. */
export interface OptionChange { option: keyof PluginOptions; from: unknown; to: unknown }

export function diffOptions(before: PluginOptions, after: PluginOptions): OptionChange[] {
  return (Object.keys(PluginOptions.properties) as (keyof PluginOptions)[])
    .filter((k) => before[k] !== after[k])
    .map((option) => ({ option, from: before[option], to: after[option] }))
}

/**
 * The effective seed options while the service runs: file and environment at start, then what
 * PUT P/config persisted (src/kube/runtime-config.ts sets them). Readers take `current` each time
 * they need a value, or subscribe to changes.
 */
export class LiveOptions {
  private value: PluginOptions
  private readonly listeners = new Set<(next: PluginOptions, changes: OptionChange[]) => void>()

  constructor(initial: PluginOptions) {
    this.value = Object.freeze({ ...initial })
  }

  get current(): PluginOptions { return this.value }

  /** Replaces the options; listeners hear of it when something changed. Returns the changes. */
  set(next: PluginOptions): OptionChange[] {
    const changes = diffOptions(this.value, next)
    if (!changes.length) return changes
    this.value = Object.freeze({ ...next })
    for (const l of this.listeners) l(this.value, changes)
    return changes
  }

  onChange(listener: (next: PluginOptions, changes: OptionChange[]) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }
}
