import { pino, type Logger as PinoLogger } from 'pino';

/** The logger every component takes; pino's, so child loggers and levels work as usual. */
export type Logger = PinoLogger;

/** A logger that drops everything, for tests and library use without logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
