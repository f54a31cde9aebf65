import { readFileSync } from 'node:fs';

/**
 * Open files the process needs before it can do anything: Node loading etcdns's modules alone
 * opens dozens at once (`ulimit -n 64` ended in EMFILE while importing, with a stack trace and
 * no hint), then sockets, the zone files' watchers and the etcd connection.
 */
export const MIN_OPEN_FILES = 256;

/** The soft limit on open files (RLIMIT_NOFILE) from /proc/self/limits; undefined where there is none (not Linux) or unlimited. */
export function openFileLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  const n = soft === undefined ? NaN : Number(soft);
  return Number.isFinite(n) ? n : undefined;
}

/** What to tell an operator whose limit is `limit`, needing `needed`. */
export function openFileLimitAdvice(limit: number, needed: number): string {
  return `the open-file limit (ulimit -n) is ${limit}; etcdns needs at least ${needed}: raise it (ulimit -n 65536, LimitNOFILE= in a systemd unit, docker run --ulimit nofile=65536)`;
}
