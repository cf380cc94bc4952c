// Every node's NodeFacts (fit.ts), kept between requests: selection, the fit check and the
// autoscaler read them at each call, and rebuilding them all (quantity parsing, a labels copy,
// each node's pods) cost ~0.4 s at 65,000 nodes. A node's facts are remade only when its object
// was replaced (the reflector puts a new object on every change, so identity says it) or its pods
// changed (the source's pods version); they go with the node. Readers must not change the facts
// they are given: they are shared (fitPods copies the nodes it places on).
import type { NodeObject, SlimPod } from '../kube/types.js'
import { nodeFacts, type NodeFacts } from './fit.js'

export interface FactsSource {
  nodes(): Iterable<NodeObject>
  podsOn(name: string): Iterable<SlimPod>
  /** Changes whenever the pods on the node change (ClusterCache.podsVersionOf). Without it nothing is kept. */
  podsVersionOf?(name: string): number
  /** Changes on every change to the nodes or pods (ClusterCache.version): while it does not, the last facts are given again without a pass. */
  version?(): number
  /** One node by name. */
  node?(name: string): NodeObject | undefined
  /**
   * Calls the listener with the name of a node whose object or pods changed, undefined when any
   * may have (ClusterCache.onViewInput): with it (and node), a pass looks at those nodes only.
   */
  onChange?(listener: (name: string | undefined, usageOnly?: boolean) => void): void
}

interface Entry { node: NodeObject; podsVersion: number; facts: NodeFacts; seen: number }

export class FactsIndex {
  private readonly entries = new Map<string, Entry>()
  /** The entries by name, remade only when a node comes or goes. */
  private sorted: Entry[] = []
  private pass = 0
  private passVersion: number | undefined
  /** Nodes changed since the last pass (with onChange); undefined: a pass over every node is due. */
  private changed: Set<string> | undefined

  constructor(private readonly source: FactsSource) {
    // Usage is no fact: a metrics poll changes none.
    source.onChange?.((name, usageOnly) => {
      if (name === undefined) { if (!usageOnly) this.changed = undefined } else this.changed?.add(name)
    })
  }

  /** Every node's facts, sorted by name (a new array each call; the facts in it are shared: read only). */
  all(): NodeFacts[] {
    const { source } = this
    const podsVersionOf = source.podsVersionOf?.bind(source)
    if (!podsVersionOf) return [...source.nodes()].map((n) => nodeFacts(n, source.podsOn(n.metadata?.name ?? ''))).sort(byName)
    const version = source.version?.()
    if (version === undefined || version !== this.passVersion) {
      const changed = this.changed
      this.changed = source.onChange && source.node ? new Set() : undefined
      if (changed && source.node) this.refreshChanged(changed, source.node.bind(source), podsVersionOf)
      else this.refresh(podsVersionOf)
      this.passVersion = version
    }
    const out = new Array<NodeFacts>(this.sorted.length)
    for (let i = 0; i < out.length; i++) out[i] = this.sorted[i].facts
    return out
  }

  /** As refresh, looking only at the nodes named. */
  private refreshChanged(changed: Set<string>, nodeOf: (name: string) => NodeObject | undefined, podsVersionOf: (name: string) => number): void {
    let comeOrGone = false
    for (const name of changed) {
      const node = nodeOf(name)
      const e = this.entries.get(name)
      if (!node) {
        if (e) this.entries.delete(name)
        comeOrGone ||= e !== undefined
        continue
      }
      const podsVersion = podsVersionOf(name)
      if (!e) {
        this.entries.set(name, { node, podsVersion, facts: nodeFacts(node, this.source.podsOn(name)), seen: this.pass })
        comeOrGone = true
      } else if (e.node !== node || e.podsVersion !== podsVersion) {
        e.node = node
        e.podsVersion = podsVersion
        e.facts = nodeFacts(node, this.source.podsOn(name))
      }
    }
    if (comeOrGone) this.sorted = [...this.entries.values()].sort((a, b) => byName(a.facts, b.facts))
  }

  /** Remakes the facts of nodes whose object or pods changed, adds new nodes, drops gone ones. */
  private refresh(podsVersionOf: (name: string) => number): void {
    const { source } = this
    const pass = ++this.pass
    let added = false
    let count = 0
    for (const node of source.nodes()) {
      const name = node.metadata?.name ?? ''
      const podsVersion = podsVersionOf(name)
      const e = this.entries.get(name)
      count++
      if (!e) {
        this.entries.set(name, { node, podsVersion, facts: nodeFacts(node, source.podsOn(name)), seen: pass })
        added = true
        continue
      }
      if (e.node !== node || e.podsVersion !== podsVersion) {
        e.node = node
        e.podsVersion = podsVersion
        e.facts = nodeFacts(node, source.podsOn(name))
      }
      e.seen = pass
    }
    if (added || count !== this.entries.size) {
      for (const [name, e] of this.entries) if (e.seen !== pass) this.entries.delete(name)
      this.sorted = [...this.entries.values()].sort((a, b) => byName(a.facts, b.facts))
    }
  }
}

export const byName = (a: NodeFacts, b: NodeFacts) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
