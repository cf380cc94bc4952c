// What domain code and the kube layer need of a logger: Fastify's (pino) fits, and tests pass
// their own to capture lines.
export interface Log {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}
