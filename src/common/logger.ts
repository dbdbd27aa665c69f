/**
 * The logger seam. The library logs through this interface only; pino satisfies it, and so does any logger
 * with pino's `(object, message)` call shape. Credentials are never passed to it.
 */
import { createRequire } from 'node:module';
import pino from 'pino';
import type { PrettyOptions } from 'pino-pretty';

// pino-pretty is loaded only when a pretty logger is asked for (the CLI), so importing the library never loads it.
const requireFromHere = createRequire(import.meta.url);

type LogFn = {
  (obj: Record<string, unknown>, msg?: string): void;
  (msg: string): void;
};

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * A pino logger on stderr (stdout stays free for command output and, in the daemon, for the protocol).
 * `pretty` gives human-readable lines for the CLI; the level comes from KCL_LOG_LEVEL, default `info`.
 */
export function createLogger(options: { pretty?: boolean; level?: string } = {}): Logger {
  const level = options.level ?? process.env.KCL_LOG_LEVEL ?? 'info';
  if (options.pretty) {
    // In this thread and synchronous (not a transport worker), so log lines and the command's own output
    // appear in the order they happened, and nothing is lost when the process exits.
    const pretty = requireFromHere('pino-pretty') as (options: PrettyOptions) => NodeJS.WritableStream;
    return pino({ level }, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, ignore: 'pid,hostname,workerId', translateTime: 'HH:MM:ss.l', singleLine: true }));
  }
  return pino({ level }, pino.destination({ dest: 2, sync: false }));
}

/** A logger that drops everything; for tests and embedders who want silence. */
export const silentLogger: Logger = pino({ level: 'silent' });
