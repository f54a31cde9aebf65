import { write as fsWrite, writeSync } from 'node:fs';
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
  /** Where lines go; stdout (file descriptor 1, through a LogSink) when absent. 'auto' looks at this stream's isTTY. */
  readonly destination?: NodeJS.WritableStream;
}

/** Most octets of log lines waiting for a slow reader; lines beyond are dropped and counted. */
const SINK_BUFFER_OCTETS = 4 * 1024 * 1024;
/** Octets handed to one write(2). */
const SINK_CHUNK_OCTETS = 64 * 1024;
/** Wait before writing again after EAGAIN (a non-blocking descriptor whose reader is behind). */
const SINK_RETRY_MS = 20;

/**
 * Log lines to a file descriptor without ever blocking the event loop or throwing.
 *
 * A synchronous write to stdout blocks the whole server while the reader is stalled (a full
 * pipe: DNS stopped answering after a few hundred lines), and a write error (a full disk, a
 * closed pipe) thrown from a log call would crash it. Here a line is queued (bounded:
 * SINK_BUFFER_OCTETS) and written by asynchronous write(2) calls, one at a time, on libuv's
 * thread pool; a line that does not fit the queue, or whose write fails, is dropped and
 * counted (`dropped`, exported as etcdns_log_lines_dropped_total). Order is kept.
 *
 * What is lost against synchronous writes: lines still queued when the process ends abruptly.
 * `flush()` waits for the queue (the CLI calls it before exiting), and at process exit whatever
 * is left is written synchronously when no write is stuck in flight.
 */
export class LogSink implements DestinationStream {
  readonly #fd: number;
  readonly #maxOctets: number;
  readonly #format: ((line: string) => string) | undefined;
  readonly #queue: string[] = [];
  #queued = 0;
  /** A write(2) is in flight (or waiting to retry). */
  #writing = false;
  #dropped = 0;
  readonly #idle: (() => void)[] = [];

  constructor(fd: number, options: { maxOctets?: number; format?: (line: string) => string } = {}) {
    this.#fd = fd;
    this.#maxOctets = options.maxOctets ?? SINK_BUFFER_OCTETS;
    this.#format = options.format;
  }

  /** Lines dropped: the queue was full, or their write failed. */
  get dropped(): number {
    return this.#dropped;
  }

  write(line: string): void {
    let text: string;
    try {
      text = this.#format ? this.#format(line) : line;
    } catch {
      this.#dropped++;
      return;
    }
    // UTF-16 units: near enough to octets for a bound on memory.
    if (this.#queued + text.length > this.#maxOctets) {
      this.#dropped++;
      return;
    }
    this.#queue.push(text);
    this.#queued += text.length;
    if (!this.#writing) this.#next();
  }

  /** Resolves once every queued line is written or dropped, or after `timeoutMs`. */
  flush(timeoutMs = 2000): Promise<void> {
    if (!this.#writing) return Promise.resolve();
    return new Promise((resolve) => {
      // Not unref'd: the caller awaits this, and with nothing else left the process would end
      // with the await unsettled while a write waits to be retried.
      const timer = setTimeout(resolve, timeoutMs);
      this.#idle.push(() => (clearTimeout(timer), resolve()));
    });
  }

  /**
   * Writes what is queued synchronously, for process exit. Skipped while a write is in
   * flight: that write may be blocked on a stalled reader, and this one would block the exit.
   */
  flushSync(): void {
    if (this.#writing) return;
    const text = this.#queue.join('');
    this.#queue.length = 0;
    this.#queued = 0;
    try {
      if (text !== '') writeSync(this.#fd, text);
    } catch {
      // EAGAIN, EPIPE, ENOSPC: nothing more can be done at exit.
    }
  }

  #next(): void {
    if (this.#queue.length === 0) {
      this.#writing = false;
      for (const done of this.#idle.splice(0)) done();
      return;
    }
    this.#writing = true;
    let lines = 0;
    let size = 0;
    while (lines < this.#queue.length && (lines === 0 || size + this.#queue[lines]!.length <= SINK_CHUNK_OCTETS)) size += this.#queue[lines++]!.length;
    const chunk = Buffer.from(this.#queue.splice(0, lines).join(''), 'utf8');
    this.#queued -= size;
    this.#send(chunk, lines);
  }

  #send(chunk: Buffer, lines: number): void {
    fsWrite(this.#fd, chunk, 0, chunk.length, null, (err, written) => {
      if (err) {
        if (err.code === 'EAGAIN') {
          // Non-blocking descriptor, reader behind: try the same bytes again a little later.
          setTimeout(() => this.#send(chunk, lines), SINK_RETRY_MS).unref();
          return;
        }
        // ENOSPC, EPIPE, EIO...: these lines are lost; the next ones may fare better.
        this.#dropped += lines;
      } else if (written < chunk.length) {
        this.#send(chunk.subarray(written), lines);
        return;
      }
      this.#next();
    });
  }
}

/**
 * The process logger: one JSON object per line, or one human-readable line per event for a
 * terminal. Lines go to stdout through a LogSink (never blocking, never throwing) unless a
 * destination stream is given.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const target = options.destination;
  const isTty = ttyOf(target ?? process.stdout);
  const pretty = options.format === 'pretty' || (options.format === 'auto' && isTty);
  // prettyFactory turns one JSON line into one pretty line, in the caller's stack: no stream
  // pipeline in between. One line per event (singleLine), with --log-queries too: a terminal
  // that scrolls one line per query stays readable.
  const prettify = pretty
    ? prettyFactory({
        // Colours only on a terminal, and never when NO_COLOR / a dumb terminal says not to.
        colorize: isTty && isColorSupported,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
        singleLine: true,
      })
    : undefined;
  if (!target) {
    const sink = new LogSink(1, { format: prettify });
    process.once('exit', () => sink.flushSync());
    return pino({ level: options.level }, sink);
  }
  if (!prettify) return pino({ level: options.level }, target);
  const prettyStream: DestinationStream = {
    write(line: string) {
      target.write(prettify(line));
    },
  };
  return pino({ level: options.level }, prettyStream);
}

/** The LogSink under a logger made by createLogger (or a child of one), if it writes to one. */
function sinkOf(logger: Logger): LogSink | undefined {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return stream instanceof LogSink ? stream : undefined;
}

/** Log lines dropped so far (a full queue, a failed write); 0 for loggers without a LogSink. */
export function logLinesDropped(logger: Logger): number {
  return sinkOf(logger)?.dropped ?? 0;
}

/** Waits (at most `timeoutMs`) for the logger's queued lines to be written. */
export function flushLogger(logger: Logger, timeoutMs?: number): Promise<void> {
  return sinkOf(logger)?.flush(timeoutMs) ?? Promise.resolve();
}

function ttyOf(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}
