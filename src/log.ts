import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { isColorSupported, prettyFactory } from 'pino-pretty';

/** The logger every component takes; pino's, so child loggers and levels work as usual. */
export type Logger = PinoLogger;

/** Levels a user may pick (pino's, plus 'silent' to turn logging off). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** 'auto' is pretty on a terminal and JSON otherwise (files, pipes, log collectors). */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** A logger that drops everything, for tests and library use without logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export interface CreateLoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Where lines go; stdout when absent. 'auto' looks at this stream's isTTY. */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * The process logger: one JSON object per line, or human-readable lines for a terminal.
 *
 * Every write is synchronous. pino's worker-thread transports (and pino-pretty used as a
 * piped stream) buffer, so the last lines before `process.exit` (a startup failure, the
 * shutdown message) could be lost. The price: a slow reader of stdout slows the server,
 * noticeably only with --log-queries (one line per query); that is accepted for lines that
 * are never lost.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const target = options.destination;
  const isTty = ttyOf(target ?? process.stdout);
  const pretty = options.format === 'pretty' || (options.format === 'auto' && isTty);
  // sonic-boom with sync: true writes with fs.writeSync on fd 1.
  const out: DestinationStream = target ?? pino.destination({ dest: 1, sync: true });
  if (!pretty) return pino({ level: options.level }, out);

  // prettyFactory turns one JSON line into one pretty line, in the caller's stack: no
  // stream pipeline in between, so nothing is left buffered.
  const prettify = prettyFactory({
    // Colours only on a terminal, and never when NO_COLOR / a dumb terminal says not to.
    colorize: isTty && isColorSupported,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
  const prettyStream: DestinationStream = {
    write(line: string) {
      out.write(prettify(line));
    },
  };
  return pino({ level: options.level }, prettyStream);
}

function ttyOf(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}
