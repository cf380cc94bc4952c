// One log line per answered request ("request completed": its id, the request's method, URL and
// address, the status and the time taken) in place of Fastify's two ("incoming request" too): at
// thousands of requests a second the log's cost is the request's own (docs/benchmarks.md).
// The line of a completed request is written by hand, field for field what pino writes with
// Fastify's serializers: through pino (serializers, redaction of the whole req object) it cost a
// third of a small answer's CPU and 5 KB of garbage a request. Errors still go through pino.
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'
import pino from 'pino'

const { streamSym, chindingsSym, timeSym } = pino.symbols
/** The parts of a pino logger its own writes use: its destination, its bindings and its clock. */
function internals(log: FastifyBaseLogger) {
  const raw = log as unknown as Record<symbol, unknown>
  return { stream: raw[streamSym] as { write(line: string): void }, bindings: raw[chindingsSym] as string, time: raw[timeSym] as () => string }
}

/** A JSON value, or nothing (with its key) when undefined, as JSON.stringify leaves it out. */
function field(key: string, value: string | number | undefined): string {
  return value === undefined ? '' : `,"${key}":${JSON.stringify(value)}`
}

function requestCompletedLine(request: FastifyRequest, reply: FastifyReply): string {
  const log = internals(reply.log)
  const req = `"method":${JSON.stringify(request.method)},"url":${JSON.stringify(request.url)}` +
    field('version', request.headers['accept-version'] as string | undefined) + field('host', request.host) +
    field('remoteAddress', request.ip) + field('remotePort', request.socket?.remotePort)
  return `{"level":30${log.time()}${log.bindings},"req":{${req}},"res":{"statusCode":${reply.statusCode}},"responseTime":${reply.elapsedTime},"msg":"request completed"}\n`
}

export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) return reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored')
    if ((reply.log as pino.Logger).isLevelEnabled('info')) internals(reply.log).stream.write(requestCompletedLine(request, reply))
  }
}
