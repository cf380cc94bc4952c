// Kubernetes quantities as numbers for charts (cores, bytes). Plotting needs no exactness, so
// floating point is enough; the service keeps sums exact (src/kube/quantity.ts).
const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
}
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/

export function quantityToNumber(text: string | undefined): number {
  if (!text) return 0
  const m = QUANTITY.exec(text.trim())
  if (!m) return 0
  const [, number, suffix = '', exponent] = m
  return Number(number) * (exponent !== undefined ? 10 ** Number(exponent) : SUFFIX[suffix])
}

/** At most one decimal, without a trailing ".0". */
const oneDecimal = (x: number) => String(Math.round(x * 10) / 10)

/** Cores with at most one decimal: "39350m" -> "39.4", "16" -> "16", "250m" -> "0.3". */
export function formatCores(text: string | undefined): string {
  return oneDecimal(quantityToNumber(text))
}

const BINARY: [string, number][] = [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]]

/** Bytes in the largest binary unit reached, one decimal: "65777082Ki" -> "62.7 GiB", "16Gi" -> "16.0 GiB". */
export function formatBytes(text: string | undefined): string {
  const bytes = quantityToNumber(text)
  for (const [unit, size] of BINARY) if (Math.abs(bytes) >= size) return `${(bytes / size).toFixed(1)} ${unit}B`
  return `${Math.round(bytes)} B`
}
