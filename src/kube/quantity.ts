// Kubernetes resource quantities, exact: values are held as BigInt nano-units, so sums of
// "16393652Ki" or "3800m" lose nothing, and are formatted back the way Kubernetes would
// canonicalize them (largest suffix that keeps the number whole).

const NANO = 1_000_000_000n

const DECIMAL_SUFFIX: Record<string, bigint> = {
  n: 1n, u: 1_000n, m: 1_000_000n, '': NANO,
  k: NANO * 1_000n, M: NANO * 1_000_000n, G: NANO * 1_000_000_000n,
  T: NANO * 1_000_000_000_000n, P: NANO * 1_000_000_000_000_000n, E: NANO * 1_000_000_000_000_000_000n,
}
const BINARY_SUFFIX: Record<string, bigint> = {
  Ki: NANO * 1024n, Mi: NANO * 1024n ** 2n, Gi: NANO * 1024n ** 3n,
  Ti: NANO * 1024n ** 4n, Pi: NANO * 1024n ** 5n, Ei: NANO * 1024n ** 6n,
}

export type QuantityFormat = 'DecimalSI' | 'BinarySI'

export interface Quantity {
  /** Value in units of 10^-9 (nano). */
  nano: bigint
  format: QuantityFormat
}

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/

export function parseQuantity(text: string): Quantity {
  const m = QUANTITY.exec(text.trim())
  if (!m) throw new Error(`invalid quantity "${text}"`)
  const [, sign, number, suffix = '', exponent] = m
  const [whole, frac = ''] = number.split('.')
  const digits = BigInt((whole || '0') + frac)
  const scale = 10n ** BigInt(frac.length)
  let unit: bigint
  let format: QuantityFormat = 'DecimalSI'
  if (exponent !== undefined) {
    const e = Number(exponent)
    unit = e >= 0 ? NANO * 10n ** BigInt(e) : NANO / 10n ** BigInt(Math.min(-e, 9))
  } else if (suffix in BINARY_SUFFIX) {
    unit = BINARY_SUFFIX[suffix]
    format = 'BinarySI'
  } else {
    unit = DECIMAL_SUFFIX[suffix]
  }
  // Kubernetes rounds sub-nano precision up; we do the same.
  let nano = (digits * unit + scale - 1n) / scale
  if (sign === '-') nano = -nano
  return { nano, format }
}

export function formatQuantity(q: Quantity): string {
  const { nano, format } = q
  if (nano === 0n) return '0'
  const sign = nano < 0n ? '-' : ''
  const abs = nano < 0n ? -nano : nano
  if (format === 'BinarySI' && abs % NANO === 0n) {
    for (const suffix of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki']) {
      const unit = BINARY_SUFFIX[suffix]
      if (abs % unit === 0n) return `${sign}${abs / unit}${suffix}`
    }
    // Whole but not a multiple of 1024: Kubernetes prints it in decimal form.
  }
  for (const suffix of ['E', 'P', 'T', 'G', 'M', 'k', '', 'm', 'u', 'n']) {
    const unit = DECIMAL_SUFFIX[suffix]
    if (abs % unit === 0n) return `${sign}${abs / unit}${suffix}`
  }
  return `${sign}${abs}n`
}

/** Sum of quantity strings, formatted in the first one's format (as Kubernetes' Add keeps the receiver's). */
export function sumQuantities(values: Iterable<string | undefined>): string {
  let total: Quantity | undefined
  for (const v of values) {
    if (v === undefined) continue
    const q = parseQuantity(v)
    total = total ? { nano: total.nano + q.nano, format: total.format } : q
  }
  return total ? formatQuantity(total) : '0'
}

/** Normalizes a quantity string to its canonical form ("4000m" -> "4"). */
export function canonicalQuantity(text: string | undefined): string {
  return text === undefined ? '0' : formatQuantity(parseQuantity(text))
}

/** Float view, for percentages only: cores for cpu, bytes for memory. */
export function quantityToNumber(text: string | undefined): number {
  if (text === undefined) return 0
  return Number(parseQuantity(text).nano) / 1e9
}
