// Security headers on every answer (@fastify/helmet): a Content-Security-Policy the admin UI and
// Swagger UI satisfy (their scripts, styles, fonts and API calls come from this origin; MUI's
// emotion and Swagger UI insert <style> elements, hence style-src 'unsafe-inline', and images may
// be data: URLs), no framing, no MIME sniffing, no referrer beyond the origin, HSTS (honoured by
// browsers only over HTTPS, as behind the gateway). test/ui fails on any CSP violation.
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'

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

export default fp(async (app) => {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    // Swagger UI and the admin UI load nothing cross-origin that would need these relaxed.
    crossOriginEmbedderPolicy: false,
  })
}, { name: 'security-headers', fastify: '5.x' })
