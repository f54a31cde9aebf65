import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DigRecord {
  name: string;
  ttl: number;
  class: string;
  type: string;
  data: string;
}

export interface DigResult {
  status: string;
  flags: string[];
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** The OPT pseudosection line (`; EDNS: version: 0, flags: do; udp: 1232`), if any. */
  edns: string | undefined;
  raw: string;
}

/**
 * Runs the real `dig` against a server on loopback and parses its output. One try, short
 * timeout: a server that does not answer fails the test instead of stalling it.
 */
export async function dig(port: number, args: readonly string[], server = '127.0.0.1'): Promise<DigResult> {
  const { stdout } = await run('dig', [`@${server}`, '-p', String(port), '+norecurse', '+time=2', '+tries=1', '+nocookie', ...args], {
    timeout: 15_000,
  });
  return parseDig(stdout);
}

function parseDig(out: string): DigResult {
  const status = /status: (\w+)/.exec(out)?.[1];
  if (!status) throw new Error(`dig got no answer:\n${out}`);
  const flags = (/;; flags: ([^;]*);/.exec(out)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const section = (title: string): DigRecord[] => {
    const start = out.indexOf(`;; ${title} SECTION:\n`);
    if (start < 0) return [];
    const lines = out.slice(start).split('\n').slice(1);
    const records: DigRecord[] = [];
    for (const line of lines) {
      if (line.trim() === '') break;
      const m = /^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(line);
      if (m) records.push({ name: m[1]!, ttl: Number(m[2]), class: m[3]!, type: m[4]!, data: m[5]!.trim() });
    }
    return records;
  };
  return {
    status,
    flags,
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL'),
    edns: /; EDNS: [^\n]*/.exec(out)?.[0],
    raw: out,
  };
}

/**
 * Polls with dig until `check` passes and returns that answer; fails with the last answer after
 * `withinMs`. For changes that arrive asynchronously (etcd watch, zone reload, registration).
 */
export async function digUntil(port: number, args: readonly string[], check: (r: DigResult) => boolean, withinMs = 4000): Promise<DigResult> {
  const started = Date.now();
  for (;;) {
    const r = await dig(port, args);
    if (check(r)) return r;
    if (Date.now() - started > withinMs) throw new Error(`dig ${args.join(' ')}: condition not met within ${withinMs} ms; last answer:\n${r.raw}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
