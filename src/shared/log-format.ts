// How log lines look. Deployed (stdout a pipe or a file: kubectl logs, a collector) and in tests,
// one JSON object a line; in a terminal (`npm start` by hand), readable lines through pino-pretty.
// LOG_FORMAT=json|pretty overrides the guess (e.g. json in a terminal to pipe through jq later).

export const LOG_FORMATS = ['json', 'pretty'] as const
export type LogFormat = typeof LOG_FORMATS[number]

/** The format for LOG_FORMAT (unset or empty: guess from whether stdout is a terminal), or why the setting is wrong. */
export function chooseLogFormat(setting: string | undefined, stdoutIsTTY: boolean | undefined): { format: LogFormat } | { problem: string } {
  if (setting === undefined || setting.trim() === '') return { format: stdoutIsTTY ? 'pretty' : 'json' }
  const format = setting.trim().toLowerCase()
  if ((LOG_FORMATS as readonly string[]).includes(format)) return { format: format as LogFormat }
  return { problem: `LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')} (got ${JSON.stringify(setting)})` }
}

/** pino-pretty's options as Fastify's documentation shows them: time of day, no pid and hostname (colours when the terminal has them). */
export const PRETTY_OPTIONS = { translateTime: 'HH:MM:ss Z', ignore: 'pid,hostname' } as const
