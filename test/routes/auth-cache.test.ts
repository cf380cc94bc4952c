// Verified tokens are cached (src/plugins/auth.ts): a cached token still stops working at its exp
// (plus the 5 s clock tolerance), a refused one stays refused, and a cached admin token does not
// vouch for another token with other claims.
import t from 'tap'
import { makeToken } from '../helpers/service.js'
import { startStack } from '../helpers/stack.js'

t.test('the verified-token cache keeps exp, refusals and roles', async (t) => {
  const { service: svc } = await startStack(t)

  const shortLived = makeToken({ expiresInSeconds: 1 })
  for (let i = 0; i < 3; i++) t.equal((await svc.api('/nodes/stats', { token: shortLived })).status, 200, `request ${i + 1} with the token: 200 (then cached)`)
  const user = makeToken({ role: 'user' })
  t.equal((await svc.api('/nodes/stats', { token: user })).status, 403, 'another token, role user: 403')
  t.equal((await svc.api('/nodes/stats', { token: user })).status, 403, 'and again')
  const bad = `${shortLived.slice(0, -3)}abc`
  t.equal((await svc.api('/nodes/stats', { token: bad })).status, 401, 'a bad signature: 401')
  t.equal((await svc.api('/nodes/stats', { token: bad })).status, 401, 'and again')
  await new Promise((r) => setTimeout(r, 6500))
  const late = await svc.api('/nodes/stats', { token: shortLived })
  t.equal(late.status, 401, 'past exp and the tolerance, the cached token is refused')
  t.match((await late.json()).message, /expired/)
})
