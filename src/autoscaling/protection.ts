// Session protection: a node running StreamSpace session pods must not be scaled down under them.
// Such nodes carry cluster-autoscaler's and Karpenter's "leave me be" annotations; we mark the ones
// we added (PROTECTED_BY) and only ever remove those, so an annotation someone else set stays.
// The SessionProtector runs on the leader: it reacts to the watch caches' change hooks (debounced,
// so a burst of pod events is one pass over the nodes that changed) and checks every node again
// every resync period, a safety net for anything a hook did not bring (e.g. a failed write).
import { Waker, type Clock } from '../clock.js'
import type { Log } from '../shared/log.js'

export const CA_SCALE_DOWN_DISABLED = 'cluster-autoscaler.kubernetes.io/scale-down-disabled'
export const KARPENTER_DO_NOT_DISRUPT = 'karpenter.sh/do-not-disrupt'
export const PROTECTED_BY = 'streamspace.io/scale-down-protected-by'

/**
 * The annotation patch (value: set, null: remove) that brings a node in line, or undefined when it
 * already is. `ours` lists (comma-separated, in PROTECTED_BY) the annotations we added.
 */
export function protectionPatch(annotations: Record<string, string> | undefined, hasSessions: boolean): Record<string, string | null> | undefined {
  const a = annotations ?? {}
  const ours = new Set((a[PROTECTED_BY] ?? '').split(',').map((s) => s.trim()).filter(Boolean))
  const patch: Record<string, string | null> = {}
  if (hasSessions) {
    const added = new Set(ours)
    for (const key of [CA_SCALE_DOWN_DISABLED, KARPENTER_DO_NOT_DISRUPT]) {
      if (a[key] === undefined) { patch[key] = 'true'; added.add(key) }
    }
    const value = [...added].sort().join(',')
    if (added.size && value !== (a[PROTECTED_BY] ?? '')) patch[PROTECTED_BY] = value
  } else {
    for (const key of ours) if (a[key] !== undefined) patch[key] = null
    if (a[PROTECTED_BY] !== undefined) patch[PROTECTED_BY] = null
  }
  return Object.keys(patch).length ? patch : undefined
}

/** A node as the protector needs it: the cache's object (a new object on every change). */
export interface ProtectedNode {
  metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> }
}

export interface ProtectionSource {
  nodes(): Iterable<ProtectedNode>
  /** Whether non-terminated session pods run on the node. */
  hasSessions(name: string): boolean
  /** Changes whenever the pods on the node change. */
  podsVersionOf(name: string): number
  /** Calls the listener after every change of nodes or pods; returns the unsubscribe. */
  onChange(listener: () => void): () => void
  synced(): boolean
}

export interface SessionProtectorDeps {
  source: ProtectionSource
  clock: Clock
  /** Merge-patches the node's annotations, on condition that it is still at resourceVersion. */
  patch(name: string, annotations: Record<string, string | null>, resourceVersion: string | undefined): Promise<void>
  debounceMs(): number
  resyncMs(): number
  log: Log
  /** Called after each pass (tests, metrics). */
  onPass?(pass: ProtectionPass): void
}

export interface ProtectionPass { full: boolean; checked: number; patched: number; failed: number }

export class SessionProtector {
  private leading = false
  private abort = new AbortController()
  private loop: Promise<void> | undefined
  private unsubscribe: (() => void) | undefined
  /** Woken by every change of nodes or pods. */
  private readonly changes = new Waker()
  /** Per node, what it looked like when it was last found (or made) in line: skipped until it changes. */
  private readonly inLine = new Map<string, { node: ProtectedNode; podsVersion: number }>()
  /** The last pass made, and how many passes so far. */
  lastPass: ProtectionPass | undefined
  passes = 0

  constructor(private readonly deps: SessionProtectorDeps) {}

  /** Became leader: a full pass at once, then a pass after each burst of changes and every resync period. */
  startLeading(): void {
    if (this.leading) return
    this.leading = true
    this.abort = new AbortController()
    this.inLine.clear()
    this.unsubscribe = this.deps.source.onChange(() => this.changes.wake())
    this.loop = this.run(this.abort.signal)
  }

  /** Lost the lease or stopping: no more writes; the annotations stay for the next leader to own. */
  async stopLeading(): Promise<void> {
    if (!this.leading) return
    this.leading = false
    this.unsubscribe?.()
    this.abort.abort()
    await this.loop
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.deps
    let nextFull = clock.now()
    while (!signal.aborted) {
      if (clock.now() < nextFull) {
        // Wait for a change or the resync, whichever comes first.
        await this.changes.sleep(clock, nextFull - clock.now(), signal)
        // A change: let the burst settle (changes meanwhile only wake it again).
        if (this.changes.pending && !signal.aborted && clock.now() < nextFull) await clock.sleep(this.deps.debounceMs(), signal)
        if (signal.aborted) break
      }
      const full = clock.now() >= nextFull
      this.changes.take()
      if (full) nextFull = clock.now() + this.deps.resyncMs()
      if (!this.deps.source.synced()) continue
      try {
        await this.pass(full, signal)
      } catch (err) {
        this.deps.log.warn({ err }, 'session protection pass failed')
      }
    }
  }

  private async pass(full: boolean, signal: AbortSignal): Promise<void> {
    const { source } = this.deps
    const result: ProtectionPass = { full, checked: 0, patched: 0, failed: 0 }
    const present = new Set<string>()
    for (const node of [...source.nodes()]) {
      if (signal.aborted) return
      const name = node.metadata?.name ?? ''
      present.add(name)
      const podsVersion = source.podsVersionOf(name)
      const seen = this.inLine.get(name)
      if (!full && seen && seen.node === node && seen.podsVersion === podsVersion) continue
      result.checked++
      const sessions = source.hasSessions(name)
      const patch = protectionPatch(node.metadata?.annotations, sessions)
      if (!patch) {
        this.inLine.set(name, { node, podsVersion })
        continue
      }
      try {
        await this.deps.patch(name, patch, node.metadata?.resourceVersion)
        result.patched++
        // The watch brings the patched node back (a new object), which is then found in line.
        this.inLine.delete(name)
        this.deps.log.info({ node: name, sessions, patch }, sessions ? 'node protected from scale-down (sessions)' : 'scale-down protection removed (no sessions)')
      } catch (err) {
        // A conflict means the node changed since the cache saw it: its watch event brings another pass.
        result.failed++
        this.inLine.delete(name)
        this.deps.log.warn({ err, node: name }, 'could not update the scale-down protection annotations')
      }
    }
    for (const name of this.inLine.keys()) if (!present.has(name)) this.inLine.delete(name)
    this.lastPass = result
    this.passes++
    this.deps.onPass?.(result)
  }
}
