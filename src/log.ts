/**
 * The one way a meetr process logs: one JSON object per line on standard output
 * (pino), with `time` (ISO 8601), `level` (its name), `process` (who: `worker 9001`,
 * `roller 9400`, `migrate`), `msg`, and the fields of the event, such as
 * `request_id` for every line about a request. pm2 writes the lines to its files;
 * `./meetr logs` shows them through pino-pretty; Loki, Elasticsearch or journald
 * take them as they are.
 */
import { pino, stdTimeFunctions, type Logger } from 'pino';

export type Fields = Readonly<Record<string, unknown>>;

export interface Log {
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** The same log with `fields` on every line. */
  with(fields: Fields): Log;
}

function wrap(logger: Logger): Log {
  return {
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
    with: (fields) => wrap(logger.child(fields)),
  };
}

/** A log for process `name`, written synchronously to standard output (nothing is lost when the process exits). */
export function createLog(name: string, destination: NodeJS.WritableStream | number = 1): Log {
  const logger = pino(
    {
      base: { process: name },
      messageKey: 'msg',
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    typeof destination === 'number' ? pino.destination({ dest: destination, sync: true }) : destination,
  );
  return wrap(logger);
}

/** An error as a log field: its message, with the stack for what was not expected. */
export function errorField(error: unknown, withStack = false): string {
  if (!(error instanceof Error)) return String(error);
  return withStack ? (error.stack ?? error.message) : error.message;
}
