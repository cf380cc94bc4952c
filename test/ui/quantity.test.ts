// The admin UI's readable quantities: cores with at most one decimal, memory in binary units.
import t from 'tap'
import { formatBytes, formatCores } from '../../src/ui/quantity.js'

t.test('cores with at most one decimal', async (t) => {
  for (const [q, want] of [['39350m', '39.4'], ['16', '16'], ['80k', '80000'], ['250m', '0.3'], ['100m', '0.1'], ['0', '0'], [undefined, '0'], ['1.5', '1.5']] as const) {
    t.equal(formatCores(q), want, String(q))
  }
})

t.test('memory in the largest binary unit, one decimal', async (t) => {
  for (const [q, want] of [['65777082Ki', '62.7 GiB'], ['66930516Ki', '63.8 GiB'], ['153325116Ki', '146.2 GiB'], ['334652580000Ki', '311.7 TiB'],
    ['16Gi', '16.0 GiB'], ['512Mi', '512.0 MiB'], ['1536', '1.5 KiB'], ['1023', '1023 B'], ['17179869184', '16.0 GiB'], ['1G', '953.7 MiB']] as const) {
    t.equal(formatBytes(q), want, q)
  }
})
