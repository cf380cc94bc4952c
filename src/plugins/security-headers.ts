// Security headers on every answer (helmet's): a Content-Security-Policy the admin UI and
// Swagger UI satisfy (their scripts, styles, fonts and API calls come from this origin; MUI's
// emotion and Swagger UI insert <style> elements, hence style-src 'unsafe-inline', and images may
// be data: URLs), no framing, no MIME sniffing, no referrer beyond the origin, HSTS (honoured by
// browsers only over HTTPS, as behind the gateway). test/ui fails on any CSP violation.
// The headers are the same for every answer (no nonces), so helmet computes them once here and a
// synchronous onRequest hook sets them: @fastify/helmet rebuilt helmet and re-parsed the CSP on
// every request, a tenth of the CPU of a small answer (docs/benchmarks.md).
import type { IncomingMessage, ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

export const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  frameAncestors: ["'none'"],
  formAction: ["'self'"],
}

const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
  // Swagger UI and the admin UI load nothing cross-origin that would need these relaxed.
  crossOriginEmbedderPolicy: false,
}

/** The headers helmet sets with these options (it removes X-Powered-By, which Fastify never sends). */
export function helmetHeaders(options: HelmetOptions = HELMET_OPTIONS): Record<string, string> {
  const headers: Record<string, string> = {}
  const res = {
    setHeader(name: string, value: string) { headers[name.toLowerCase()] = value },
    removeHeader(name: string) { delete headers[name.toLowerCase()] },
  }
  let failed: unknown
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, (err?: unknown) => { failed = err })
  if (failed) throw failed
  return headers
}

export default fp(async (app) => {
  const headers = helmetHeaders()
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
  })
}, { name: 'security-headers', fastify: '5.x' })
