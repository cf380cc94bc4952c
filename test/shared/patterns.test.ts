// The label selector pattern the OpenAPI document gives (pod_selector, labelSelector, node_selector)
// accepts what the API server accepts: a key is a qualified name (an optional lowercase DNS
// subdomain prefix and "/", then a name), as in LABEL_KEY_PATTERN. Schemathesis (seed 20261128)
// sent pod_selector "L/EJqS2FBpt=Dd", valid by the document, and the API server refused it (400).
import t from 'tap'
import { LABEL_KEY_PATTERN, SELECTOR_PATTERN } from '../../src/shared/patterns.js'

const selector = new RegExp(SELECTOR_PATTERN)
const key = new RegExp(LABEL_KEY_PATTERN)

t.test('selector keys are qualified names, as label keys are', async (t) => {
  for (const k of ['app', 'example.com/team', 'node-role.kubernetes.io/worker', 'a_b.C-1']) {
    t.ok(key.test(k), `${k} is a key`)
    for (const s of [`${k}=x`, `${k} != x`, `${k} in (a, b)`, `!${k}`, k]) t.ok(selector.test(s), s)
  }
  for (const k of ['L/EJqS2FBpt', 'a/b/c', 'Example.com/team', '-a.com/b', 'a.com/']) {
    t.notOk(key.test(k), `${k} is not a key`)
    for (const s of [`${k}=x`, `${k} notin (a)`, `!${k}`, k]) t.notOk(selector.test(s), s)
  }
  t.ok(selector.test('  ,  a = b ,, c in (d) , '), 'empty terms and spaces as kubectl takes them')
})
