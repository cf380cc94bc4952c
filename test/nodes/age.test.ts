import t from 'tap'
import { humanDuration } from '../../src/nodes/age.js'

t.test('matches kubectl AGE', async (t) => {
  const s = 1000, m = 60 * s, h = 60 * m, d = 24 * h
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'], [0, '0s'], [59 * s, '59s'], [119 * s, '119s'], [2 * m, '2m'], [9 * m + 5 * s, '9m5s'],
    [10 * m + 5 * s, '10m'], [179 * m, '179m'], [3 * h, '3h'], [7 * h + 30 * m, '7h30m'], [8 * h, '8h'],
    [47 * h, '47h'], [2 * d, '2d'], [5 * d + 3 * h, '5d3h'], [8 * d, '8d'], [729 * d, '729d'], [730 * d, '2y'],
    [800 * d, '2y70d'], [3000 * d, '8y'],
  ]
  for (const [ms, want] of cases) t.equal(humanDuration(ms), want, want)
})

t.test('age text stays the same until the next unit', async (t) => {
  const { ageStableForMs } = await import('../../src/nodes/age.js')
  const s = 1000, m = 60 * s, h = 60 * m, d = 24 * h
  for (const age of [0, 59 * s + 300, 9 * m + 59 * s, 10 * m + 1, 7 * h + 59 * m, 47 * h, 5 * d + 3 * h + 17, 400 * d + 5]) {
    const stable = ageStableForMs(age)
    t.ok(stable > 0, `positive at ${age}`)
    t.equal(humanDuration(age + stable - 1), humanDuration(age), `same text until ${stable} ms later (age ${age})`)
  }
})
