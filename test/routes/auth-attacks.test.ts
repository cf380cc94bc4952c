// Everyone without a valid admin session is turned away, every way we could think of trying:
// 401 for anything that is not a valid StreamSpace token, 403 for a valid one that is not admin,
// no detail that helps an attacker (no token, secret or stack echoed), and no token in the logs.
import t from 'tap'
import { createHmac } from 'node:crypto'
import { makeToken, TEST_JWT_SECRET } from '../helpers/service.js'
import { startStack } from '../helpers/stack.js'

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)
const claims = (extra: Record<string, unknown> = {}) => ({
  user_id: 'u-9', username: 'mallory', role: 'admin', iss: 'streamspace-api', jti: 'j-1', iat: now(), exp: now() + 600, ...extra,
})
/** A JWT with any header, signed HS256 with the given key (or unsigned when key is null). */
function forge(header: Record<string, unknown>, payload: Record<string, unknown>, key: string | null = TEST_JWT_SECRET): string {
  const head = `${b64(header)}.${b64(payload)}`
  return key === null ? `${head}.` : `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`
}

t.test('authentication and authorization under attack', async (t) => {
  const lines: string[] = []
  const { service: svc } = await startStack(t, { env: { LOG_LEVEL: 'debug' }, logStream: { write: (l) => { lines.push(l) } } })

  const valid = makeToken()
  const [vh, vp] = valid.split('.')
  const tampered = `${vh}.${b64({ ...JSON.parse(Buffer.from(vp, 'base64url').toString()), role: 'admin', username: 'root' })}.${valid.split('.')[2]}`
  const userToken = makeToken({ role: 'user' })
  const [uh, up, us] = userToken.split('.')
  const escalated = `${uh}.${b64({ ...JSON.parse(Buffer.from(up, 'base64url').toString()), role: 'admin' })}.${us}`
  const cases: Array<[string, Record<string, string>, number]> = [
    ['no header', {}, 401],
    ['malformed header (Basic)', { authorization: 'Basic YWRtaW46YWRtaW4=' }, 401],
    ['Bearer without a token', { authorization: 'Bearer' }, 401],
    ['empty bearer', { authorization: 'Bearer ' }, 401],
    ['garbage', { authorization: 'Bearer not.a.jwt' }, 401],
    ['alg none', { authorization: `Bearer ${forge({ alg: 'none', typ: 'JWT' }, claims(), null)}` }, 401],
    ['HS256 with another secret', { authorization: `Bearer ${makeToken({ secret: 'another-secret-that-is-32-characters-long!' })}` }, 401],
    ['RS256 header, HMAC signature', { authorization: `Bearer ${forge({ alg: 'RS256', typ: 'JWT' }, claims())}` }, 401],
    ['HS512 header', { authorization: `Bearer ${makeToken({ algorithm: 'HS512' })}` }, 401],
    ['expired', { authorization: `Bearer ${makeToken({ expiresInSeconds: -60 })}` }, 401],
    ['nbf in the future', { authorization: `Bearer ${makeToken({ notBeforeSeconds: 300 })}` }, 401],
    ['missing exp', { authorization: `Bearer ${makeToken({ omitExp: true })}` }, 401],
    ['missing iss', { authorization: `Bearer ${makeToken({ omitIss: true })}` }, 401],
    ['wrong iss', { authorization: `Bearer ${makeToken({ iss: 'evil' })}` }, 401],
    ['tampered payload', { authorization: `Bearer ${tampered}` }, 401],
    ['user token escalated to admin', { authorization: `Bearer ${escalated}` }, 401],
    ['a 60 kB token', { authorization: `Bearer ${forge({ alg: 'HS256', typ: 'JWT' }, claims({ pad: 'x'.repeat(60_000) }), 'wrong-key')}` }, 401],
    ['role user', { authorization: `Bearer ${userToken}` }, 403],
    ['role operator', { authorization: `Bearer ${makeToken({ role: 'operator' })}` }, 403],
    ['role "Admin"', { authorization: `Bearer ${forge({ alg: 'HS256', typ: 'JWT' }, claims({ role: 'Admin' }))}` }, 403],
  ]
  const paths = ['/nodes', '/nodes/stats', '/cluster/health']
  for (const [what, headers, want] of cases) {
    for (const path of paths) {
      const res = await fetch(`${svc.url}/api/plugins/streamspace-node-manager${path}`, { headers })
      const text = await res.text()
      t.equal(res.status, want, `${what}: ${path} -> ${res.status}`)
      const body = JSON.parse(text)
      t.equal(body.statusCode, want, `${what}: our error shape`)
      t.notOk(/stack|at [A-Za-z.]+ \(|node_modules/.test(text), `${what}: no stack`)
      const token = headers.authorization?.slice(7) ?? ''
      if (token.length > 8) t.notOk(text.includes(token.slice(-16)), `${what}: the token is not echoed`)
      t.notOk(text.includes(TEST_JWT_SECRET), `${what}: the secret is not echoed`)
    }
    // Writes too: nothing changes for anyone without an admin session.
    const res = await fetch(`${svc.url}/api/plugins/streamspace-node-manager/nodes/any/cordon`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' })
    t.equal(res.status, want, `${what}: a write is refused`)
  }

  // Only these answer without a token.
  for (const path of ['/healthz', '/readyz', '/metrics', '/docs']) {
    const res = await fetch(`${svc.url}${path}`, { redirect: 'manual' })
    t.ok(res.status < 400, `${path} needs no token (${res.status})`)
  }

  // The valid token worked, and no token of any case appears in the log.
  t.equal((await svc.api('/nodes')).status, 200, 'a valid admin token works')
  const log = lines.join('')
  t.ok(log.length > 0, 'log captured')
  for (const [what, headers] of cases) {
    const token = headers.authorization?.slice(7) ?? ''
    if (token.length > 20) t.notOk(log.includes(token.slice(-20)), `${what}: the token is not in the log`)
  }
  t.notOk(log.includes(valid.slice(-20)), 'the valid token is not in the log')
})
