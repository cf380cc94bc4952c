// Session protection: a node running StreamSpace session pods must not be scaled down under them.
// Such nodes carry cluster-autoscaler's and Karpenter's "leave me be" annotations; we mark the ones
// we added (PROTECTED_BY) and only ever remove those, so an annotation someone else set stays.
export const CA_SCALE_DOWN_DISABLED = 'cluster-autoscaler.kubernetes.io/scale-down-disabled'
export const KARPENTER_DO_NOT_DISRUPT = 'karpenter.sh/do-not-disrupt'
export const PROTECTED_BY = 'streamspace.io/scale-down-protected-by'
export const PROTECTOR = 'streamspace-node-manager'

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
