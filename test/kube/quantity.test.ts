import t from 'tap'
import { canonicalQuantity, formatQuantity, parseQuantity, quantityToNumber, sumQuantities } from '../../src/kube/quantity.js'

t.test('sums are exact and keep the binary form when whole', async (t) => {
  t.equal(sumQuantities(['16393652Ki', '16393652Ki', '16393652Ki']), '49180956Ki')
  t.equal(sumQuantities(['16Gi', '16Gi', '16Gi']), '48Gi')
  t.equal(sumQuantities(['15Gi', '15Gi', '15Gi']), '45Gi')
  t.equal(sumQuantities(['512Mi', '512Mi']), '1Gi')
})

t.test('cpu sums as Kubernetes canonicalizes them', async (t) => {
  t.equal(sumQuantities(['4', '4', '4']), '12')
  t.equal(sumQuantities(['3.8', '3.8', '3.8']), '11400m')
  t.equal(sumQuantities(['3800m', '200m']), '4')
  t.equal(sumQuantities(['100m', '1']), '1100m')
  t.equal(sumQuantities([]), '0')
})

t.test('parse and format round trip', async (t) => {
  for (const [input, canonical] of [
    ['1', '1'], ['1000m', '1'], ['1500m', '1500m'], ['0.5', '500m'], ['1k', '1k'], ['1000', '1k'],
    ['1024', '1024'], ['1Ki', '1Ki'], ['1024Ki', '1Mi'], ['1e3', '1k'], ['128974848', '128974848'],
    ['12345n', '12345n'], ['1.5Gi', '1536Mi'], ['0', '0'],
  ] as const) {
    t.equal(canonicalQuantity(input), canonical, input)
  }
  t.equal(quantityToNumber('250m'), 0.25)
  t.equal(quantityToNumber('1Ki'), 1024)
  t.equal(formatQuantity(parseQuantity('-2Gi')), '-2Gi')
  t.throws(() => parseQuantity('abc'), /invalid quantity/)
  t.throws(() => parseQuantity('1Xi'), /invalid quantity/)
})
