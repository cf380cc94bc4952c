// One log line per answered request ("request completed": its id, the request's method, URL and
// address, the status and the time taken) in place of Fastify's two ("incoming request" too): at
// thousands of requests a second the log's cost is the request's own (README, Benchmarks).
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored')
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
  }
}
