/**
 * What every `etcdns` command shares: the context it runs in (injected, so tests drive the
 * CLI in-process with fakes), the exit codes and the signal subscription. Commands import
 * this file, never cli.ts, which imports the commands.
 */
import type { ServeConfig } from '../config/serve-options.js';
import type { Name } from '../dns/name.js';
import type { Logger } from '../log.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface ZoneProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface CheckZoneResult {
  readonly ok: boolean;
  readonly origin?: Name;
  readonly records?: number;
  readonly errors: readonly ZoneProblem[];
  readonly warnings: readonly ZoneProblem[];
}

/** What the commands call; main.ts passes the real ones, tests pass fakes. */
export interface CliDeps {
  runServer(config: ServeConfig, logger: Logger): Promise<{ close(): Promise<void>; reload?(): Promise<void> }>;
  checkZoneFile(path: string, origin?: Name): Promise<CheckZoneResult>;
}

export interface CliContext extends CliDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Command output (help, check-zone results). */
  stdout(text: string): void;
  /** Usage and configuration errors. */
  stderr(text: string): void;
  /** Where serve writes its logs; stdout when absent. */
  readonly logDestination?: NodeJS.WritableStream;
  /** Fields on every serve log line (a cluster worker's id). */
  readonly logFields?: Readonly<Record<string, unknown>>;
  /** Calls `listener` on SIGINT/SIGTERM until the returned function is called. Default: process signals. */
  onSignal?(listener: (signal: NodeJS.Signals) => void): () => void;
  /** Calls `listener` on SIGHUP until the returned function is called. Default: process SIGHUP. */
  onReload?(listener: () => void): () => void;
  /** Ends the process now (a second signal during shutdown). Default: process.exit. */
  exit?(code: number): void;
}

/** The real SIGINT/SIGTERM subscription, used when the context has no `onSignal`. */
export function processSignals(listener: (signal: NodeJS.Signals) => void): () => void {
  const names = ['SIGINT', 'SIGTERM'] as const;
  for (const name of names) process.on(name, listener);
  return () => {
    for (const name of names) process.off(name, listener);
  };
}

/** A message on one line: etcd and gRPC errors, and yargs' messages, can span several. */
export function oneLine(message: string): string {
  return message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('; ');
}

/**
 * The real SIGHUP subscription. Listening also replaces Node's default for SIGHUP, which ends
 * the process (exit 129, no drain): a terminal closing, or an operator used to daemons that
 * reload on HUP, took the server down.
 */
export function processReload(listener: () => void): () => void {
  process.on('SIGHUP', listener);
  return () => {
    process.off('SIGHUP', listener);
  };
}
