// The admin UI (src/ui, built by Vite into dist/ui) served at P/admin/: index.html for every page
// (client-side routes: P/admin/nodes, /health, /resources, /nodes/:name), hashed assets cached for
// a year, gzip when the browser takes it. No token needed for the page: its API calls carry it.
import fp from 'fastify-plugin'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { API_PREFIX } from './swagger.js'

export const UI_PATH = `${API_PREFIX}/admin`
/** src/plugins -> ../../dist/ui; dist/plugins -> ../../dist/ui: the same folder either way. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url))

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.woff2': 'font/woff2', '.txt': 'text/plain; charset=utf-8',
}

interface Asset { body: Buffer; gzip?: Buffer; type: string }

function load(file: string): Asset {
  const body = readFileSync(file)
  const type = TYPES[extname(file)] ?? 'application/octet-stream'
  const gzip = body.length > 1024 && /text|json|svg/.test(type) ? gzipSync(body) : undefined
  return { body, gzip, type }
}

export interface UiOptions { dir?: string }

export default fp<UiOptions>(async (app, opts) => {
  const dir = opts.dir ?? DEFAULT_UI_DIR
  const built = existsSync(join(dir, 'index.html'))
  const index = built ? load(join(dir, 'index.html')) : undefined
  // Every asset is read once at start: a few files, a few hundred KB.
  const assets = new Map<string, Asset>()
  if (built && existsSync(join(dir, 'assets'))) {
    for (const f of readdirSync(join(dir, 'assets'))) assets.set(f, load(join(dir, 'assets', f)))
  }
  if (!built) app.log.warn({ dir }, 'admin UI not built: run npm run build:ui (npm start and npm run build do it)')

  const send = (request: FastifyRequest, reply: FastifyReply, a: Asset, cache: string) => {
    reply.header('cache-control', cache).header('vary', 'accept-encoding').type(a.type)
    reply.header('x-content-type-options', 'nosniff')
    if (a.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(a.gzip)
    return reply.send(a.body)
  }
  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!index) {
      return reply.code(503).type('text/plain; charset=utf-8')
        .send('The admin UI is not built. Run `npm run build:ui` (npm start and npm run build build it), then restart the service.')
    }
    return send(request, reply, index, 'no-cache')
  }
  const hide = { schema: { hide: true } }

  app.get(`${UI_PATH}/assets/:file`, hide, async (request, reply) => {
    const a = assets.get((request.params as { file: string }).file)
    if (!a) return reply.code(404).type('text/plain; charset=utf-8').send('No such asset (the UI may have been rebuilt: reload the page)')
    return send(request, reply, a, 'public, max-age=31536000, immutable')
  })
  app.get(UI_PATH, hide, page)
  app.get(`${UI_PATH}/*`, hide, page)
  app.get('/', hide, async (_request, reply) => reply.redirect(`${UI_PATH}/nodes`))
}, { name: 'ui' })
