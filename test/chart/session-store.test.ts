// sessionStore.url with sessionStore.existingSecret, end to end: the chart's env for the pod,
// resolved as the kubelet does ($(SESSION_STORE_PASSWORD) from the Secret), runs the service
// against a real redis-server that requires that password: a logged-in session's token works, the
// same token after logout is refused, and a wrong password in the Secret fails closed (503).
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { startBackend } from '../helpers/backend.js'
import { RedisServer, redisCommand } from '../helpers/redis.js'
import { makeToken, startService } from '../helpers/service.js'
import { sessionKey } from '../../src/plugins/session-store.js'
import { find, template } from './helm.js'

const jtiOf = (token: string): string => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti

/** The container's env as the kubelet makes it: secrets from `secrets`, $(NAME) expanded from earlier variables. */
function podEnv(redisUrl: string, secrets: Record<string, string>): Record<string, string> {
  const { objects } = template(['--set', 'jwt.existingSecret=streamspace-secrets', '--set', `sessionStore.url=${redisUrl}`, '--set', 'sessionStore.existingSecret=streamspace-redis'])
  const env: Record<string, string> = {}
  for (const e of find(objects, 'Deployment').spec.template.spec.containers[0].env) {
    if (!e.name.startsWith('SESSION_STORE')) continue
    if (e.valueFrom?.secretKeyRef) env[e.name] = secrets[`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`]!
    else env[e.name] = (e.value as string).replace(/\$\(([A-Z_]+)\)/g, (all, name: string) => env[name] ?? all)
  }
  return env
}

t.test('the chart\'s SESSION_STORE_URL with the password from StreamSpace\'s Redis Secret', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.close())
  const password = randomBytes(24).toString('hex')
  t.equal(await redisCommand(redis.port, 'CONFIG', 'SET', 'requirepass', password), '+OK')
  t.match(await redisCommand(redis.port, 'EXISTS', 'x'), /NOAUTH/, 'the store now requires the password')
  const backend = await startBackend('sim')
  t.teardown(() => backend.close())

  const env = podEnv(redis.url, { 'streamspace-redis/redis-password': password })
  t.equal(env.SESSION_STORE_URL, `redis://:${password}@127.0.0.1:${redis.port}`, 'the URL carries the Secret\'s password')
  const svc = await startService(backend.kc, { env: { ...env, SESSION_STORE_CACHE_SECONDS: '0' } })
  t.teardown(() => svc.close())
  const token = makeToken()
  const key = sessionKey(jtiOf(token))
  // Each command is its own connection here: AUTH goes first on it.
  const set = await redisCommandAuthed(redis.port, password, 'SET', key, '{}')
  t.equal(set, '+OK')
  t.equal((await svc.api('/nodes', { token })).status, 200, 'logged in: the token works')
  t.equal(await redisCommandAuthed(redis.port, password, 'DEL', key), ':1')
  const out = await svc.api('/nodes', { token })
  t.equal(out.status, 401, 'logged out: the same token is refused')

  const wrong = podEnv(redis.url, { 'streamspace-redis/redis-password': 'not-the-password' })
  const bad = await startService(backend.kc, { env: { ...wrong, SESSION_STORE_CACHE_SECONDS: '0' } })
  t.teardown(() => bad.close())
  const refused = await bad.api('/nodes', { token: makeToken() })
  t.equal(refused.status, 503, 'a wrong password fails closed')
  t.match((await refused.json() as { message: string }).message, /session store/i, 'saying the session store failed')
})

/** AUTH then one command on the same connection; the command's reply. */
function redisCommandAuthed(port: number, password: string, ...args: string[]): Promise<string> {
  return import('node:net').then(({ connect }) => new Promise<string>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1')
    const resp = (a: string[]) => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`
    let buf = ''
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('redis: no answer in 5 s')) }, 5000)
    sock.on('error', (err) => { clearTimeout(timer); reject(err) })
    sock.on('data', (d) => {
      buf += d.toString()
      const lines = buf.split('\r\n')
      if (lines.length >= 3) { clearTimeout(timer); sock.end(); resolve(lines[1]!) }
    })
    sock.write(resp(['AUTH', password]) + resp(args))
  }))
}
