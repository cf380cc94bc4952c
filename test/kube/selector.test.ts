import t from 'tap'
import { matches, parseSelector } from '../../src/kube/selector.js'

t.test('label selector forms', async (t) => {
  const labels = { app: 'web', tier: 'front', 'example.com/team': 'a' }
  const cases: [string, boolean][] = [
    ['', true], ['app=web', true], ['app==web', true], ['app=db', false], ['app!=db', true], ['app!=web', false],
    ['tier in (front, back)', true], ['tier notin (front)', false], ['zone notin (x)', true],
    ['example.com/team', true], ['!example.com/team', false], ['!zone', true], ['app=web,tier=back', false],
    ['app=web,tier in (front),!zone', true],
  ]
  for (const [sel, want] of cases) t.equal(matches(parseSelector(sel), labels), want, sel)
  t.throws(() => parseSelector('app=('), /invalid/)
  t.throws(() => parseSelector('=x'), /invalid/)
})
