import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { createInterface } from 'node:readline';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Port shared by UDP and TCP on the first listen address. */
  readonly port: number;
  readonly addresses: readonly string[];
  /** Every JSON log line seen so far. */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the first log line matching, or rejects after `timeoutMs`. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM by PID, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<number | null>;
}

/**
 * `startServer` on a fixed loopback port found free (e.g. for --workers, whose workers bind
 * it each with SO_REUSEPORT, which port 0 cannot give). A port found free can be taken by a
 * parallel test file before the server binds it: another one is tried then.
 */
export async function startServerOnFreePort(args: readonly string[]): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServer([...args, '--listen', `127.0.0.1:${await freePort()}`]);
    } catch (err) {
      if (attempt >= 5 || !String(err).includes('EADDRINUSE')) throw err;
    }
  }
}

/**
 * Starts the built CLI (`etcdns serve`) as a real process on a random loopback port and waits
 * for its "listening" log line, which carries the bound addresses.
 */
export async function startServer(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; /** Flags left at etcdns's own default (a test of the default address). */ ownDefaults?: readonly string[] } = {},
): Promise<ServerProcess> {
  // Random ports for everything not given, so parallel test files never collide.
  const defaults = ['--listen', '--health-listen', '--ready-listen', '--metrics-listen'].flatMap((flag) =>
    args.includes(flag) || options.ownDefaults?.includes(flag) ? [] : [flag, '127.0.0.1:0'],
  );
  // Tests talk only to loopback: never forward to the machine's resolv.conf unless a test
  // names its own upstream.
  if (!args.some((a) => a === '--upstream' || a === '--forward' || a === '--forwarding')) defaults.push('--no-forwarding');
  // Tests stop servers all the time: no lameduck wait (5 s by default) unless a test asks for one.
  if (!args.includes('--lameduck')) defaults.push('--lameduck', '0');
  const child = spawn(process.execPath, [CLI, 'serve', ...defaults, '--log-format', 'json', ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...cleanEnv(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }>();
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  onLogLine(child.stdout!, (line) => {
    logs.push(line);
    for (const w of waiters) if (w.match(line)) (waiters.delete(w), w.resolve(line));
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);

  const waitForLog = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 10_000) => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const waiter = { match, resolve };
      waiters.add(waiter);
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr}; logs: ${JSON.stringify(logs.slice(-5))}`));
      }, timeoutMs);
      void exited.then((code) => {
        if (!waiters.has(waiter)) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        reject(new Error(`server exited (${code}) before the log line; stderr: ${stderr}; logs: ${JSON.stringify(logs.slice(-5))}`));
      });
    }).finally(() => undefined);
  };

  const listening = await waitForLog((l) => l.msg === 'listening');
  const addresses = listening.addresses as string[];
  const port = Number(/:(\d+)$/.exec(addresses[0]!)![1]);

  return {
    child,
    pid: child.pid!,
    port,
    addresses,
    logs,
    waitForLog,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      process.kill(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Calls `fn` with each line of a JSON log stream (pino), parsed; a non-JSON line as `{msg}`. */
export function onLogLine(stream: NodeJS.ReadableStream, fn: (line: Record<string, unknown>) => void): void {
  createInterface({ input: stream }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { msg: text };
    }
    fn(line);
  });
}

/** The environment without our own variables, so a developer's ETCDNS_* never leaks into tests. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCDNS_')));
}

/** Runs the CLI to completion (for commands other than serve). */
export async function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...cleanEnv(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
