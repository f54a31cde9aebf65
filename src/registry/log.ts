/**
 * The SDK's logger: whatever the application has. pino (and anything with `child`) is used as
 * it is; `console` or another logger with debug/info/warn/error gets the message first and the
 * structured fields after it. No pino in the SDK's own import closure: the light install
 * (docs/registry.md) must not pull the server's logging stack.
 */
import type { Logger } from '../log.js';
import type { RegistryLogger } from './types.js';

type Fields = Record<string, unknown>;
type Write = (fields: Fields, msg?: string) => void;

interface Inner {
  debug: Write;
  info: Write;
  warn: Write;
  error: Write;
  child(bindings: Fields): Inner;
}

const noop: Write = () => undefined;
const SILENT: Inner = { debug: noop, info: noop, warn: noop, error: noop, child: () => SILENT };

/**
 * The logger the SDK's components (and the etcd mirror it reuses, which is typed for pino but
 * calls only child/debug/info/warn/error) write to.
 */
export function adaptLogger(logger: RegistryLogger | undefined): Logger {
  if (logger === undefined) return SILENT as unknown as Logger;
  if (typeof (logger as { child?: unknown }).child === 'function') return logger as unknown as Logger;
  return consoleLike(logger, {}) as unknown as Logger;
}

function consoleLike(logger: RegistryLogger, bindings: Fields): Inner {
  const write =
    (level: keyof RegistryLogger): Write =>
    (fields, msg) => {
      const all = { ...bindings, ...fields };
      (logger[level] as (...args: unknown[]) => void).call(logger, `etcdns: ${msg ?? ''}`, all);
    };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (more) => consoleLike(logger, { ...bindings, ...more }),
  };
}

/** Whether `x` can be used as a logger (checked at init: a wrong value fails there, naming the option). */
export function isLogger(x: unknown): x is RegistryLogger {
  if (typeof x !== 'object' || x === null) return false;
  const l = x as Record<string, unknown>;
  return ['debug', 'info', 'warn', 'error'].every((m) => typeof l[m] === 'function');
}
