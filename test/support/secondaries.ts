/**
 * Real secondaries for zone-transfer tests: Knot (knotd) and NSD, each run in the foreground
 * from a config written to its own temp dir, listening on a random loopback port, transferring
 * the given zones from a primary (AXFR, RFC 5936; IXFR, RFC 1995), accepting its NOTIFY
 * (RFC 1996), optionally with TSIG (RFC 8945). Every daemon is stopped by its PID.
 *
 * Between each secondary and its primary the harness puts a tap: a loopback relay (TCP and UDP
 * on one port) that passes every byte through unchanged and reads the DNS messages as they go
 * by. It is how we know what kind of transfer really went over the wire: NSD 4.6 logs that a
 * zone was updated to a serial but never whether by AXFR or IXFR (checked at verbosity 5), and
 * an IXFR request may be answered AXFR-style (RFC 1995 §4), which only the answer's second
 * record tells (a second SOA: incremental). Knot does log the kind ("IXFR, incoming, ...,
 * finished"; an AXFR-style answer to its IXFR as "AXFR, incoming"), and its log and the tap
 * agree (test/support/secondaries.test.ts checks both against a real Knot primary).
 * TSIG covers the message, not the connection: relaying leaves signatures valid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dig } from './dig.js';
import { findTool } from './tools.js';
import { freePort } from './ports.js';


const KNOTD = findTool('knotd');
const NSD = findTool('nsd');
export { findTool };
export const HAVE_KNOT = KNOTD !== undefined;
export const HAVE_NSD = NSD !== undefined;
/** The Debian packages of the missing daemons, and the line that installs them (empty when none). */
export const MISSING_PACKAGES = [...(HAVE_KNOT ? [] : ['knot']), ...(HAVE_NSD ? [] : ['nsd'])];
export const APT_LINE = MISSING_PACKAGES.length === 0 ? '' : `sudo apt-get install ${MISSING_PACKAGES.join(' ')}`;

export interface Tsig {
  /** Key name, e.g. `xfr-key`. */
  name: string;
  /** e.g. `hmac-sha256`. */
  algorithm: string;
  /** Base64. */
  secret: string;
}

export interface SecondaryOptions {
  zones: string[];
  /** Where the zones come from (loopback). The secondary talks to it through a tap. */
  primary: { host: string; port: number };
  /** Sign transfer requests (and SOA queries) with this key. */
  tsig?: Tsig;
  /** The address NOTIFY is accepted from (default 127.0.0.1). */
  notifyFrom?: string;
  /** Whether a NOTIFY must be signed with `tsig` (default: yes when `tsig` is given). */
  notifyKey?: boolean;
  /** A port chosen beforehand (so a primary can be told to NOTIFY it before it runs); default a free one. */
  port?: number;
  /**
   * The loopback source address the primary sees the transfers come from (default 127.0.0.1),
   * e.g. 127.0.0.2 to be outside a primary's `127.0.0.1/32` ACL.
   */
  via?: string;
}

/** One AXFR or IXFR as the tap saw it go by. */
export interface WireTransfer {
  /** The question's name, lower case, no final dot. */
  zone: string;
  transport: 'tcp' | 'udp';
  /** What was asked. */
  type: 'AXFR' | 'IXFR';
  /** For IXFR: the serial the secondary said it had (the SOA in the request's authority section). */
  fromSerial: number | undefined;
  /** e.g. NOERROR, NOTAUTH, REFUSED; undefined until the first reply. */
  rcode: string | undefined;
  /**
   * How it was answered: `full` (every record, an AXFR or an AXFR-style IXFR), `incremental`
   * (RFC 1995 §4 differences: the second record is an SOA), `soa-only` (an IXFR answer saying
   * "you are up to date", or one to be retried over TCP), `none` (no records, e.g. refused).
   */
  style: 'full' | 'incremental' | 'soa-only' | 'none';
  /** The serial in the answer's first SOA. */
  serial: number | undefined;
  /** The answer ended as the style requires (the closing SOA seen). */
  complete: boolean;
  messages: number;
  records: number;
}

export interface Secondary {
  readonly kind: 'knot' | 'nsd';
  readonly port: number;
  readonly pid: number;
  /** Everything the daemon printed so far (stdout and stderr). */
  log(): string;
  /** Resolves once the log matches; rejects with the log after `withinMs`. */
  waitForLog(pattern: RegExp, withinMs?: number): Promise<void>;
  /** The zone's SOA serial as the secondary serves it; undefined while it does not serve the zone. */
  serial(zone: string): Promise<number | undefined>;
  /** Polls until it serves `zone` with this serial (or a later one, in RFC 1982 arithmetic). */
  waitForSerial(zone: string, serial: number, withinMs?: number): Promise<void>;
  /**
   * Completed incoming transfers by kind (of `zone`, or all). Knot: from its log. NSD, which
   * does not log the kind: from the tap (complete NOERROR answers; AXFR-style counts as axfr).
   */
  transfers(zone?: string): { axfr: number; ixfr: number };
  /** Every transfer the tap saw between this secondary and its primary. */
  wire(): readonly WireTransfer[];
  /** SIGTERM by PID (SIGKILL after 5 s), closes the tap, removes the temp dir. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Daemons

/** A third-party daemon run in the foreground; its output kept; stopped by PID. */
export interface Daemon {
  readonly pid: number;
  output(): string;
  waitForOutput(pattern: RegExp, withinMs?: number): Promise<void>;
  /** Whether it has exited (e.g. a bad config). */
  exited(): boolean;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Spawns `command` in its own process group (NSD forks helpers: a SIGKILL must reach them too),
 * with `env` added to the test's environment (Kea finds its PID and lock file folders there).
 */
export function runDaemon(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Daemon {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Synchronous, so it runs on 'exit': nothing started here outlives a failed test run.
    process.on('exit', () => {
      for (const c of live) killGroup(c.pid!, 'SIGKILL');
    });
  }
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(env ? { env: { ...process.env, ...env } } : {}) });
  live.add(child);
  let output = '';
  const onData = (d: Buffer) => (output += d.toString());
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  // 'close': exited and its output read to the end (an error it printed on the way out included).
  const exit = once(child, 'close').then(() => live.delete(child));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    pid: child.pid!,
    output: () => output,
    exited: gone,
    async waitForOutput(pattern, withinMs = 5000) {
      const started = Date.now();
      while (!pattern.test(output)) {
        if (gone()) await exit;
        if (gone()) throw new Error(`${command} exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}; output:\n${output}`);
        if (Date.now() - started > withinMs) throw new Error(`${command} did not print ${pattern} within ${withinMs} ms; output:\n${output}`);
        await sleep(25);
      }
    },
    async stop() {
      if (gone()) return;
      process.kill(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
      // Its helpers exit with it on SIGTERM; after a SIGKILL they may not have.
      killGroup(child.pid!, 'SIGKILL');
    },
  };
}

/** Signals the process group we created for one daemon (its PID is the group's id). */
function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}

/** Polls until the daemon answers anything (even SERVFAIL: it has no zone yet) on its port. */
async function waitForAnswering(daemon: Daemon, port: number, zone: string, withinMs = 10_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (daemon.exited()) throw new Error(`daemon exited before answering on port ${port}; output:\n${daemon.output()}`);
    const r = await dig(port, [zone, 'SOA', '+time=1']).catch(() => undefined);
    if (r) return;
    if (Date.now() - started > withinMs) throw new Error(`no answer on port ${port} within ${withinMs} ms; output:\n${daemon.output()}`);
    await sleep(50);
  }
}

/**
 * The start of every knot.conf the tests write: its run and storage folders under `dir`, one
 * loopback listener, the log on stderr at `level`. Sections that differ follow it.
 */
export function knotConfHead(dir: string, port: number, level: 'info' | 'warning' = 'info'): string {
  return `server:
    rundir: "${dir}/run"
    listen: 127.0.0.1@${port}
log:
  - target: stderr
    any: ${level}
database:
    storage: "${dir}/storage"
`;
}

// ---------------------------------------------------------------------------------------------
// Secondaries

export async function startKnotSecondary(o: SecondaryOptions): Promise<Secondary> {
  if (!KNOTD) throw new Error(`knotd not found: ${APT_LINE}`);
  return startSecondary('knot', o, (dir, port, primary) => {
    for (const d of ['run', 'storage', 'zones']) mkdirSync(join(dir, d));
    const key = o.tsig;
    const notifyKey = key !== undefined && (o.notifyKey ?? true) ? key : undefined;
    const conf = join(dir, 'knot.conf');
    writeFileSync(
      conf,
      // Log level info: the transfer lines ("AXFR, incoming, ... finished"), refreshes and failures.
      `${knotConfHead(dir, port)}${key ? `key:\n  - id: ${key.name}\n    algorithm: ${key.algorithm}\n    secret: ${key.secret}\n` : ''}remote:
  - id: primary
    address: ${primary}
${key ? `    key: ${key.name}\n` : ''}acl:
  - id: notify
    address: ${o.notifyFrom ?? '127.0.0.1'}
${notifyKey ? `    key: ${notifyKey.name}\n` : ''}    action: notify
template:
  - id: default
    storage: "${dir}/zones"
    master: primary
    acl: notify
    # A pure secondary: the zone lives in the journal only, never read from or written to a file.
    zonefile-load: none
    zonefile-sync: -1
    journal-content: all
    # A failed transfer is retried within a second or two, not Knot's default minutes.
    retry-min-interval: 1
    retry-max-interval: 2
zone:
${o.zones.map((z) => `  - domain: ${z}\n`).join('')}`,
    );
    return runDaemon(KNOTD, ['-c', conf]);
  });
}

export async function startNsdSecondary(o: SecondaryOptions): Promise<Secondary> {
  if (!NSD) throw new Error(`nsd not found: ${APT_LINE}`);
  return startSecondary('nsd', o, (dir, port, primary) => {
    const key = o.tsig;
    const notifyKey = key && (o.notifyKey ?? true) ? key.name : 'NOKEY';
    const conf = join(dir, 'nsd.conf');
    writeFileSync(
      conf,
      `server:
    ip-address: 127.0.0.1
    port: ${port}
    do-ip6: no
    # As root NSD would chroot and drop to the nsd user, who cannot read this dir.
    username: ""
    chroot: ""
    zonesdir: "${dir}"
    database: ""
    pidfile: "${dir}/nsd.pid"
    xfrdfile: "${dir}/xfrd.state"
    zonelistfile: "${dir}/zone.list"
    xfrdir: "${dir}"
    # No logfile: with -d it logs to stderr. 3: notifies, transfers and their failures.
    verbosity: 3
    server-count: 1
    reuseport: no
    # Serve a transfer as soon as it is in (the default waits up to 1 s between reloads).
    xfrd-reload-timeout: 0
    zonefiles-write: 0
remote-control:
    control-enable: no
${key ? `key:\n    name: "${key.name}"\n    algorithm: ${key.algorithm}\n    secret: "${key.secret}"\n` : ''}${o.zones
        .map(
          (z) => `zone:
    name: "${z}"
    zonefile: "${z}.zone"
    request-xfr: ${primary} ${key ? key.name : 'NOKEY'}
    allow-notify: ${o.notifyFrom ?? '127.0.0.1'} ${notifyKey}
`,
        )
        .join('')}`,
    );
    return runDaemon(NSD, ['-d', '-c', conf]);
  });
}

async function startSecondary(
  kind: 'knot' | 'nsd',
  o: SecondaryOptions,
  launch: (dir: string, port: number, primary: string) => Daemon,
): Promise<Secondary> {
  if (o.zones.length === 0) throw new Error('a secondary needs at least one zone');
  const tap = await startTap(o.primary, o.via ?? '127.0.0.1');
  const dir = mkdtempSync(join(tmpdir(), `etcdns-${kind}-secondary-`));
  let daemon: Daemon | undefined;
  const cleanup = async () => {
    await daemon?.stop();
    await tap.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = o.port ?? (await freeUdpTcpPort());
    daemon = launch(dir, port, `127.0.0.1@${tap.port}`);
    await waitForAnswering(daemon, port, o.zones[0]!);
    const d = daemon;
    const serial = async (zone: string) => {
      const r = await dig(port, [zone, 'SOA']).catch(() => undefined);
      const soa = r?.status === 'NOERROR' ? r.answer.find((a) => a.type === 'SOA') : undefined;
      return soa ? Number(soa.data.split(/\s+/)[2]) : undefined;
    };
    let closed: Promise<void> | undefined;
    return {
      kind,
      port,
      pid: d.pid,
      log: () => d.output(),
      waitForLog: (pattern, withinMs) => d.waitForOutput(pattern, withinMs),
      serial,
      async waitForSerial(zone, want, withinMs = 3000) {
        const started = Date.now();
        for (;;) {
          const have = await serial(zone);
          if (have !== undefined && serialAtLeast(have, want)) return;
          if (Date.now() - started > withinMs) {
            throw new Error(`${kind} secondary on port ${port}: ${zone} serial ${String(have)}, not ${want}, after ${withinMs} ms; wire: ${JSON.stringify(tap.seen)}\nlog:\n${d.output()}`);
          }
          await sleep(25);
        }
      },
      transfers(zone) {
        if (kind === 'knot') return knotTransfers(d.output(), zone);
        const want = zone?.replace(/\.$/, '').toLowerCase();
        const done = tap.seen.filter((t) => t.complete && t.rcode === 'NOERROR' && (want === undefined || t.zone === want));
        return { axfr: done.filter((t) => t.style === 'full').length, ixfr: done.filter((t) => t.style === 'incremental').length };
      },
      wire: () => tap.seen,
      close: () => (closed ??= cleanup()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** RFC 1982 serial number arithmetic: `a` is `b` or after it. */
function serialAtLeast(a: number, b: number): boolean {
  return a === b || ((a - b) >>> 0) < 0x8000_0000;
}

/**
 * Knot's completed incoming transfers, e.g.
 * `[example.test.] IXFR, incoming, remote 127.0.0.1@5301, finished, 0.00 seconds, 1 messages, 273 bytes`
 * (with TSIG: `remote 127.0.0.1@5301 TSIG xfr-key.`). An IXFR answered AXFR-style is logged as
 * "receiving AXFR-style IXFR" and then finishes as an AXFR: counted as one.
 */
function knotTransfers(log: string, zone?: string): { axfr: number; ixfr: number } {
  const counts = { axfr: 0, ixfr: 0 };
  const want = zone === undefined ? undefined : zone.replace(/\.?$/, '.').toLowerCase();
  for (const m of log.matchAll(/\[([^\]]+)\] (AXFR|IXFR), incoming, remote [^,]*, finished,/g)) {
    if (want !== undefined && m[1]!.toLowerCase() !== want) continue;
    if (m[2] === 'AXFR') counts.axfr++;
    else counts.ixfr++;
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Comparison

const DEFAULT_TYPES = ['SOA', 'NS', 'A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'PTR'] as const;

/**
 * Asks both servers every name × type and returns how the secondary's answers differ from the
 * primary's (empty: the same). Compared: rcode, the aa flag, the answer (names, TTLs, types and
 * data, in any order) and, for negative answers, the authority SOA.
 */
export async function compareWithPrimary(
  primaryPort: number,
  secondaryPort: number,
  names: readonly string[],
  types: readonly string[] = DEFAULT_TYPES,
): Promise<string[]> {
  const questions = names.flatMap((name) => types.map((type) => [name, type] as const));
  const [want, got] = await Promise.all([askAll(primaryPort, questions), askAll(secondaryPort, questions)]);
  const differences: string[] = [];
  questions.forEach(([name, type], i) => {
    if (want[i] !== got[i]) differences.push(`${name} ${type}:\n  primary:   ${want[i]}\n  secondary: ${got[i]}`);
  });
  return differences;
}

/**
 * Each question's answer summarised. dig takes many questions in one run (one process, not
 * hundreds: a 2-core box spends seconds spawning them), in batches. A question whose answer is
 * missing or is no response at all is asked again alone, up to three times: knotd 3.2.6 now
 * and then (about once in 3000 UDP queries here, with transfers going on) sends a query back
 * as it came, QR clear (RFC 1035 §4.1.1: QR=1 marks a response), which dig takes as the answer.
 */
async function askAll(port: number, questions: readonly (readonly [string, string])[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < questions.length; i += 50) {
    const batch = questions.slice(i, i + 50);
    const r = await dig(port, batch.flat()).catch(() => undefined);
    const chunks = r ? r.raw.split(';; Got answer:\n').slice(1) : [];
    const aligned = chunks.length === batch.length && chunks.every((c, j) => answers(c, batch[j]!));
    for (const [j, q] of batch.entries()) {
      let text = aligned ? chunks[j]! : undefined;
      for (let attempt = 0; attempt < 3 && (text === undefined || !isResponse(text)); attempt++) {
        const one = await dig(port, [...q]).catch((err: Error) => err);
        text = one instanceof Error ? `no answer (${one.message.split('\n')[0]})` : one.raw;
      }
      out.push(isResponse(text!) ? summary(text!) : `not a response: ${text!.trim()}`);
    }
  }
  return out;
}

/** Whether dig's answer text has this question in its question section. */
function answers(text: string, [name, type]: readonly [string, string]): boolean {
  const m = /;; QUESTION SECTION:\n;(\S+)\s+\S+\s+(\S+)/.exec(text);
  return m !== null && m[1]!.toLowerCase() === `${name.toLowerCase().replace(/\.$/, '')}.` && m[2] === type;
}

function isResponse(text: string): boolean {
  return /;; flags: (?:[^;]* )?qr\b/.test(text);
}

/** One of dig's answers (its text from ";; ->>HEADER<<-" on) as a comparable line. */
function summary(text: string): string {
  const status = /status: (\w+)/.exec(text)?.[1] ?? 'no status';
  const aa = /;; flags: [^;]*\baa\b/.test(text) ? 'aa' : 'no-aa';
  const section = (title: string): string[] => {
    const start = text.indexOf(`;; ${title} SECTION:\n`);
    if (start < 0) return [];
    const rows: string[] = [];
    for (const line of text.slice(start).split('\n').slice(1)) {
      if (line.trim() === '') break;
      const m = /^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(line);
      if (m) rows.push(`${m[1]!.toLowerCase()} ${m[2]} ${m[4]} ${m[5]!.trim()}`);
    }
    return rows.sort();
  };
  const answer = section('ANSWER');
  const negative = answer.length === 0 ? section('AUTHORITY').filter((r) => r.split(' ')[2] === 'SOA') : [];
  return `${status} ${aa} [${answer.join(' | ')}]${negative.length ? ` authority [${negative.join(' | ')}]` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// The tap

interface Tap {
  port: number;
  seen: WireTransfer[];
  close(): Promise<void>;
}

const TYPE_NAMES: Record<number, 'AXFR' | 'IXFR'> = { 252: 'AXFR', 251: 'IXFR' };
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const SOA = 6;

/** What a DNS message says that the tap needs: its id, rcode, question type and SOA serials. */
interface Parsed {
  id: number;
  response: boolean;
  rcode: string;
  qname: string;
  qtype: number;
  /** Answer section: type, and for an SOA its serial. */
  answer: { type: number; serial?: number }[];
  /** The first SOA serial in the authority section (an IXFR request's current version). */
  authoritySerial: number | undefined;
}

function parseMessage(m: Buffer): Parsed | undefined {
  if (m.length < 12) return undefined;
  const flags = m.readUInt16BE(2);
  const qd = m.readUInt16BE(4);
  const an = m.readUInt16BE(6);
  const ns = m.readUInt16BE(8);
  let off = 12;
  let qtype = 0;
  let qname = '';
  for (let i = 0; i < qd; i++) {
    qname = readName(m, off);
    off = skipName(m, off);
    qtype = m.readUInt16BE(off);
    off += 4;
  }
  const readRRs = (count: number) => {
    const out: { type: number; serial?: number }[] = [];
    for (let i = 0; i < count; i++) {
      off = skipName(m, off);
      const type = m.readUInt16BE(off);
      const rdlength = m.readUInt16BE(off + 8);
      const rdata = off + 10;
      if (type === SOA) {
        const serialAt = skipName(m, skipName(m, rdata));
        out.push({ type, serial: m.readUInt32BE(serialAt) });
      } else {
        out.push({ type });
      }
      off = rdata + rdlength;
    }
    return out;
  };
  const answer = readRRs(an);
  const authority = readRRs(ns);
  return {
    id: m.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    rcode: RCODES[flags & 0xf] ?? `RCODE${flags & 0xf}`,
    qname,
    qtype,
    answer,
    authoritySerial: authority.find((r) => r.type === SOA)?.serial,
  };
}

/** A name as text (lower case, no final dot), following compression pointers. */
function readName(m: Buffer, off: number): string {
  const labels: string[] = [];
  for (let hops = 0; hops < 64; hops++) {
    const len = m[off];
    if (len === undefined) throw new RangeError('truncated name');
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      off = m.readUInt16BE(off) & 0x3fff;
      continue;
    }
    labels.push(m.toString('latin1', off + 1, off + 1 + len).toLowerCase());
    off += 1 + len;
  }
  return labels.join('.');
}

/** Past a (possibly compressed) name; throws (RangeError) on a truncated message. */
function skipName(m: Buffer, off: number): number {
  for (;;) {
    const len = m[off];
    if (len === undefined) throw new RangeError('truncated name');
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2;
    off += 1 + len;
  }
}

/** Follows the transfers asked and answered on one connection (TCP) or one client (UDP). */
class TransferTracker {
  private readonly open = new Map<number, { t: WireTransfer; soaSerials: number[] }>();

  constructor(
    private readonly transport: 'tcp' | 'udp',
    private readonly seen: WireTransfer[],
  ) {}

  query(bytes: Buffer): void {
    const p = safeParse(bytes);
    if (!p || p.response) return;
    const type = TYPE_NAMES[p.qtype];
    if (!type) return;
    const t: WireTransfer = {
      zone: p.qname,
      transport: this.transport,
      type,
      fromSerial: type === 'IXFR' ? p.authoritySerial : undefined,
      rcode: undefined,
      style: 'none',
      serial: undefined,
      complete: false,
      messages: 0,
      records: 0,
    };
    this.seen.push(t);
    this.open.set(p.id, { t, soaSerials: [] });
  }

  reply(bytes: Buffer): void {
    const p = safeParse(bytes);
    if (!p || !p.response) return;
    const entry = this.open.get(p.id);
    if (!entry) return;
    const { t } = entry;
    t.messages++;
    t.rcode ??= p.rcode;
    if (p.rcode !== 'NOERROR') t.rcode = p.rcode;
    // Every SOA in order, and whether the answer's second record is one (RFC 1995 §4).
    for (const rr of p.answer) {
      t.records++;
      if (rr.type === SOA) entry.soaSerials.push(rr.serial!);
      if (t.records === 1) {
        t.serial = rr.type === SOA ? rr.serial : undefined;
        t.style = t.type === 'IXFR' && rr.type === SOA ? 'soa-only' : 'full';
      } else if (t.records === 2) {
        t.style = t.type === 'IXFR' && rr.type === SOA ? 'incremental' : 'full';
      }
    }
    const first = t.serial;
    const closingSoas = entry.soaSerials.filter((s) => s === first).length;
    // full: opening and closing SOA; incremental: the new SOA opens, heads the last additions
    // and closes; soa-only: just the one (it may yet go on in a further message).
    t.complete =
      t.rcode === 'NOERROR' &&
      ((t.style === 'full' && entry.soaSerials.length >= 2 && closingSoas >= 2) ||
        (t.style === 'incremental' && closingSoas >= 3) ||
        t.style === 'soa-only');
    if (t.rcode !== 'NOERROR' || (t.complete && t.style !== 'soa-only')) this.open.delete(p.id);
  }
}

function safeParse(bytes: Buffer): Parsed | undefined {
  try {
    return parseMessage(bytes);
  } catch {
    return undefined; // the tap only watches; a message it cannot read still goes through
  }
}

/** Splits a DNS-over-TCP byte stream into messages (RFC 1035 §4.2.2: a two-octet length each). */
function framer(onMessage: (m: Buffer) => void): (chunk: Buffer) => void {
  let buffered: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  return (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const len = buffered.readUInt16BE(0);
      if (buffered.length < 2 + len) break;
      onMessage(buffered.subarray(2, 2 + len));
      buffered = buffered.subarray(2 + len);
    }
  };
}

async function startTap(target: { host: string; port: number }, via: string): Promise<Tap> {
  const seen: WireTransfer[] = [];
  const sockets = new Set<Socket>();
  const tcp: Server = createServer((client) => {
    const upstream = connect({ host: target.host, port: target.port, localAddress: via });
    sockets.add(client).add(upstream);
    const tracker = new TransferTracker('tcp', seen);
    const fromClient = framer((m) => tracker.query(m));
    const fromUpstream = framer((m) => tracker.reply(m));
    client.on('data', (d: Buffer) => {
      fromClient(d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      fromUpstream(d);
      client.write(d);
    });
    // Half-closes pass through: a secondary may end its side after the request.
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });

  for (let attempt = 1; ; attempt++) {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (tcp.address() as { port: number }).port;
    const udp = createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) {
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      if (attempt >= 5) throw new Error('tap: no port free for both TCP and UDP');
      continue;
    }
    // UDP: one upstream socket per client address, so replies find their way back.
    const upstreams = new Map<string, { socket: UdpSocket; tracker: TransferTracker }>();
    udp.on('message', (msg, rinfo) => {
      const key = `${rinfo.address}:${rinfo.port}`;
      let up = upstreams.get(key);
      if (!up) {
        const socket = createSocket('udp4');
        const tracker = new TransferTracker('udp', seen);
        socket.bind(0, via);
        socket.on('message', (reply) => {
          tracker.reply(reply);
          udp.send(reply, rinfo.port, rinfo.address);
        });
        socket.on('error', () => {});
        up = { socket, tracker };
        upstreams.set(key, up);
      }
      up.tracker.query(msg);
      up.socket.send(msg, target.port, target.host);
    });
    udp.on('error', () => {});
    return {
      port,
      seen,
      async close() {
        for (const s of sockets) s.destroy();
        for (const { socket } of upstreams.values()) socket.close();
        udp.close();
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
      },
    };
  }
}

/** A port free for both TCP and UDP on 127.0.0.1 just now (a DNS server binds both). */
export async function freeUdpTcpPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (ok) return port;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
