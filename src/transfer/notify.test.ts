import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig } from '../../test/support/dig.js';
import { parseReply } from '../../test/support/packets.js';
import { freePort } from '../../test/support/ports.js';
import { ManualClock } from '../../test/support/clock.js';
import { systemClock } from '../clock.js';
import { Flag, Opcode, Rcode, RRType } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import type { RR } from '../dns/records.js';
import { NotifySender, type NotifyEvent, type NotifySocket, type NotifyTarget } from './notify.js';

// ---------------------------------------------------------------------------------------------
// NotifySender against a hand-driven clock and a socket that records what it is given.


interface Sent {
  at: number;
  host: string;
  port: number;
  id: number;
  zone: Name;
  serial: number;
  bytes: Buffer;
}

const PRIMARY: NotifyTarget = { host: '192.0.2.53', port: 53 };
const OTHER: NotifyTarget = { host: '2001:db8::53', port: 5353 };

function soa(serial: number, zone: Name = 'example.test'): RR {
  return {
    name: zone,
    type: RRType.SOA,
    ttl: 3600,
    data: { type: RRType.SOA, mname: `ns1.${zone}`, rname: `hostmaster.${zone}`, serial, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 },
  };
}

/** The response a secondary would give: our message with QR set, the RCODE, no answer section. */
function answer(sent: Pick<Sent, 'bytes'>, rcode: number = Rcode.NOERROR, over: { id?: number } = {}): Buffer {
  const qEnd = 12 + sent.bytes.subarray(12).indexOf(0) + 1 + 4;
  const out = Buffer.from(sent.bytes.subarray(0, qEnd));
  out.writeUInt16BE((out.readUInt16BE(2) & ~0x000f) | Flag.QR | rcode, 2);
  out.writeUInt16BE(0, 6);
  if (over.id !== undefined) out.writeUInt16BE(over.id, 0);
  return out;
}

function setup(o: { targets?: NotifyTarget[]; delayMs?: number; random?: () => number; sign?: (m: Buffer) => Buffer } = {}) {
  const clock = new ManualClock();
  const sent: Sent[] = [];
  const socket: NotifySocket = {
    send(bytes, port, host) {
      const p = parseReply(bytes);
      const answer = p.answers[0] as { serial: number };
      sent.push({ at: clock.t, host, port, id: p.header.id, zone: p.questions[0]!.name, serial: answer.serial, bytes });
    },
  };
  const events: NotifyEvent[] = [];
  const logs: { level: number; msg: string; [k: string]: unknown }[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void logs.push(JSON.parse(l) as (typeof logs)[number]) });
  const sender = new NotifySender({
    targets: o.targets ?? [PRIMARY],
    delayMs: o.delayMs ?? 1000,
    clock,
    socket,
    logger,
    random: o.random ?? (() => 1),
    onEvent: (e) => events.push(e),
    ...(o.sign ? { sign: o.sign } : {}),
  });
  const from = (t: NotifyTarget = PRIMARY) => ({ address: t.host, port: t.port });
  const warns = () => logs.filter((l) => l.level === 40).map((l) => l.msg);
  const infos = () => logs.filter((l) => l.level === 30).map((l) => l.msg);
  const outcomes = () => events.map((e) => e.outcome);
  return { clock, sent, events, logs, sender, from, warns, infos, outcomes };
}

describe('NotifySender: coalescing', () => {
  it('sends a burst of 100 serial changes within 1 s as one NOTIFY with the newest SOA, at the end of the window', () => {
    const t = setup();
    const start = t.clock.t;
    for (let serial = 1; serial <= 100; serial++) {
      t.sender.zoneChanged(soa(serial));
      t.clock.advance(9);
    }
    expect(t.sent).toEqual([]);
    t.clock.advance(start + 1000 - t.clock.t);
    expect(t.sent.map((s) => [s.at - start, s.serial, s.host, s.port])).toEqual([[1000, 100, '192.0.2.53', 53]]);
    t.sender.receive(answer(t.sent[0]!), t.from());
    t.clock.advance(600_000);
    expect(t.sent).toHaveLength(1);
    expect(t.outcomes()).toEqual(['sent', 'acked']);
  });

  it('announces a lone change after exactly delayMs, and a zone that never stops changing once per window', () => {
    const t = setup();
    const start = t.clock.t;
    // A change every 100 ms for 10 s, each NOTIFY acknowledged at once.
    let serial = 0;
    for (let i = 0; i < 100; i++) {
      t.sender.zoneChanged(soa(++serial));
      t.clock.advance(50);
      for (const s of t.sent) t.sender.receive(answer(s), t.from());
      t.clock.advance(50);
    }
    const times = t.sent.map((s) => s.at - start);
    expect(times[0]).toBe(1000);
    // Throttled, not debounced: ~one per second, never two within delayMs, each the newest serial.
    expect(t.sent.length).toBeGreaterThanOrEqual(9);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
    // Each carries the newest serial made before it (changes at 0, 100, ... are serials 1, 2, ...);
    // the change right after a send opens the next window.
    expect(t.sent.map((s) => [s.at - start, s.serial])).toEqual(Array.from({ length: 10 }, (_, i) => [1000 * (i + 1), 10 * (i + 1)]));
  });

  it('gives every target and every zone its own NOTIFY', () => {
    const t = setup({ targets: [PRIMARY, OTHER, { host: '192.0.2.53', port: 53 }] });
    t.sender.zoneChanged(soa(1, 'a.test'));
    t.sender.zoneChanged(soa(7, 'b.test'));
    t.clock.advance(1000);
    // The duplicate target is dropped.
    expect(t.sent.map((s) => `${s.zone} ${s.serial} ${s.host}:${s.port}`).sort()).toEqual([
      'a.test 1 192.0.2.53:53',
      'a.test 1 2001:db8::53:5353',
      'b.test 7 192.0.2.53:53',
      'b.test 7 2001:db8::53:5353',
    ]);
    expect(new Set(t.events.map((e) => e.target))).toEqual(new Set(['192.0.2.53:53', '[2001:db8::53]:5353']));
  });

  it('ignores the serial it is already retransmitting', () => {
    const t = setup();
    t.sender.zoneChanged(soa(5));
    t.clock.advance(1000);
    t.sender.zoneChanged(soa(5));
    t.clock.advance(999);
    expect(t.sent).toHaveLength(1);
    t.clock.advance(1);
    // The retransmission, on its own schedule, not a new NOTIFY.
    expect(t.sent.map((s) => [s.serial, s.id])).toEqual([
      [5, t.sent[0]!.id],
      [5, t.sent[0]!.id],
    ]);
    expect(t.outcomes()).toEqual(['sent', 'retry']);
  });
});

describe('NotifySender: retransmission (RFC 1996 §3.6)', () => {
  it('retransmits with the same ID at 1, 2, 4, 8, 16, then 30 s (jitter at its top), for as long as it takes', () => {
    const t = setup({ random: () => 1 });
    t.sender.zoneChanged(soa(1));
    t.clock.advance(1000);
    const first = t.sent[0]!.at;
    t.clock.advance(10 * 60_000);
    const gaps = t.sent.slice(1).map((s, i) => s.at - t.sent[i]!.at);
    expect(gaps.slice(0, 8)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(t.sent.at(-1)!.at - first).toBeGreaterThan(9 * 60_000);
    expect(new Set(t.sent.map((s) => s.id)).size).toBe(1);
    expect(t.outcomes().filter((o) => o === 'sent')).toHaveLength(1);
  });

  it('jitters each interval within [d/2, d], but never sends two messages within delayMs', () => {
    const t = setup({ random: () => 0 });
    t.sender.zoneChanged(soa(1));
    t.clock.advance(120_000);
    const gaps = t.sent.slice(1).map((s, i) => s.at - t.sent[i]!.at);
    // d/2: 500 (raised to delayMs), 1000, 2000, 4000, 8000, then 15000 at the cap.
    expect(gaps.slice(0, 7)).toEqual([1000, 1000, 2000, 4000, 8000, 15000, 15000]);

    const fast = setup({ random: () => 0, delayMs: 100 });
    fast.sender.zoneChanged(soa(1));
    fast.clock.advance(10_000);
    expect(fast.sent.slice(1, 4).map((s, i) => s.at - fast.sent[i]!.at)).toEqual([500, 1000, 2000]);
  });

  it('warns once after 3 unanswered tries, and says so at info when the secondary answers', () => {
    const t = setup();
    t.sender.zoneChanged(soa(1));
    // Tries at 1, 2 and 4 s; the fourth, at 8 s, comes after three unanswered ones.
    t.clock.advance(8000 - 1);
    expect(t.sent).toHaveLength(3);
    expect(t.warns()).toEqual([]);
    t.clock.advance(1);
    expect(t.sent).toHaveLength(4);
    expect(t.warns()).toEqual(['secondary has not acknowledged NOTIFY; still retrying']);
    expect(t.logs.find((l) => l.level === 40)).toMatchObject({ zone: 'example.test.', target: '192.0.2.53:53', serial: 1, tries: 3 });
    t.clock.advance(120_000);
    expect(t.warns()).toHaveLength(1);
    t.sender.receive(answer(t.sent.at(-1)!), t.from());
    expect(t.infos()).toEqual(['secondary acknowledged NOTIFY again']);
    const n = t.sent.length;
    t.clock.advance(600_000);
    expect(t.sent).toHaveLength(n);
  });

  it('counts unanswered tries across serials: a zone that keeps changing still warns about a dead secondary', () => {
    const t = setup();
    for (let serial = 1; serial <= 5; serial++) {
      t.sender.zoneChanged(soa(serial));
      t.clock.advance(1100);
    }
    expect(t.sent.map((s) => s.serial)).toEqual([1, 2, 3, 4, 5]);
    // Each new serial supersedes an unanswered one, and the silence is still noticed.
    expect(t.outcomes().filter((o) => o === 'superseded')).toHaveLength(4);
    t.clock.advance(60_000);
    expect(t.warns()).toEqual(['secondary has not acknowledged NOTIFY; still retrying']);
  });

  it('retransmits after an error answer that is not an ack (SERVFAIL, FORMERR)', () => {
    const t = setup();
    t.sender.zoneChanged(soa(1));
    t.clock.advance(1000);
    t.sender.receive(answer(t.sent[0]!, Rcode.SERVFAIL), t.from());
    t.clock.advance(1000);
    expect(t.sent).toHaveLength(2);
    t.sender.receive(answer(t.sent[1]!, Rcode.FORMERR), t.from());
    t.clock.advance(2000);
    expect(t.sent).toHaveLength(3);
    expect(t.outcomes()).toEqual(['sent', 'retry', 'retry']);
  });

  it('signs every transmission afresh', () => {
    let signed = 0;
    const t = setup({ sign: (m) => (signed++, m) });
    t.sender.zoneChanged(soa(1));
    t.clock.advance(1000 + 1000 + 2000);
    expect(signed).toBe(3);
  });
});

describe('NotifySender: a newer serial supersedes the outstanding NOTIFY', () => {
  it('drops the retransmission, sends the newest serial with a new ID at the end of its window, and no longer accepts the old ID', () => {
    const t = setup();
    t.sender.zoneChanged(soa(1));
    t.clock.advance(1000);
    const old = t.sent[0]!;
    t.clock.advance(300);
    t.sender.zoneChanged(soa(2));
    t.clock.advance(500);
    t.sender.zoneChanged(soa(3));
    t.clock.advance(499);
    // The retransmission of serial 1 (due 1000 ms after it) did not happen.
    expect(t.sent).toHaveLength(1);
    t.clock.advance(1);
    expect(t.sent.map((s) => s.serial)).toEqual([1, 3]);
    expect(t.sent[1]!.at - old.at).toBe(1300);
    expect(t.outcomes()).toEqual(['sent', 'superseded', 'sent']);
    // A late ack for serial 1 is ignored: serial 3 is still retransmitted (after 2 s: the
    // backoff counts the unanswered serial 1 too).
    t.sender.receive(answer(old), t.from());
    t.clock.advance(2000);
    expect(t.sent.map((s) => [s.serial, s.id])).toEqual([
      [1, old.id],
      [3, t.sent[1]!.id],
      [3, t.sent[1]!.id],
    ]);
    t.sender.receive(answer(t.sent[1]!), t.from());
    t.clock.advance(600_000);
    expect(t.sent).toHaveLength(3);
    expect(t.outcomes()).toEqual(['sent', 'superseded', 'sent', 'retry', 'acked']);
  });

  it('still counts an ack for the outstanding NOTIFY that arrives before its successor goes out', () => {
    const t = setup();
    t.sender.zoneChanged(soa(1));
    t.clock.advance(1000);
    t.sender.zoneChanged(soa(2));
    t.clock.advance(200);
    t.sender.receive(answer(t.sent[0]!), t.from());
    t.clock.advance(800);
    expect(t.sent.map((s) => s.serial)).toEqual([1, 2]);
    expect(t.outcomes()).toEqual(['sent', 'acked', 'sent']);
  });
});

describe('NotifySender: acknowledgements (RFC 1996 §3.3)', () => {
  it('ignores answers with the wrong ID, zone or opcode, from another address or port, and queries', () => {
    const t = setup();
    t.sender.zoneChanged(soa(1));
    t.clock.advance(1000);
    const s = t.sent[0]!;
    t.sender.receive(answer(s, Rcode.NOERROR, { id: (s.id + 1) & 0xffff }), t.from());
    t.sender.receive(answer(s), { address: '192.0.2.54', port: 53 });
    t.sender.receive(answer(s), { address: '192.0.2.53', port: 5353 });
    t.sender.receive(s.bytes, t.from());
    const otherZone = answer({ bytes: t.sent[0]!.bytes });
    otherZone[13] = 'f'.charCodeAt(0); // "fxample.test"
    t.sender.receive(otherZone, t.from());
    const query = answer(s);
    query.writeUInt16BE((Opcode.QUERY << 11) | Flag.QR, 2);
    t.sender.receive(query, t.from());
    t.sender.receive(Buffer.from('not dns'), t.from());
    t.clock.advance(1000);
    expect(t.sent).toHaveLength(2);
    expect(t.outcomes()).toEqual(['sent', 'retry']);
    t.sender.receive(answer(s), t.from());
    t.clock.advance(600_000);
    expect(t.sent).toHaveLength(2);
    expect(t.outcomes()).toEqual(['sent', 'retry', 'acked']);
    // A second copy of the ack (an answer to the retransmission) changes nothing.
    t.sender.receive(answer(s), t.from());
    expect(t.outcomes()).toEqual(['sent', 'retry', 'acked']);
  });

  it('matches source addresses in canonical form (IPv6 spellings, IPv4-mapped on a dual-stack socket)', () => {
    const t = setup({ targets: [{ host: '2001:DB8:0:0:0:0:0:53', port: 53 }, { host: '127.0.0.1', port: 53 }] });
    t.sender.zoneChanged(soa(1));
    t.clock.advance(1000);
    const v6 = t.sent.find((s) => s.host.includes(':'))!;
    const v4 = t.sent.find((s) => !s.host.includes(':'))!;
    t.sender.receive(answer(v6), { address: '2001:db8::53', port: 53 });
    t.sender.receive(answer(v4), { address: '::ffff:127.0.0.1', port: 53 });
    expect(t.outcomes()).toEqual(['sent', 'sent', 'acked', 'acked']);
  });

  it('rejects targets that are not IP literals', () => {
    expect(() => setup({ targets: [{ host: 'ns1.example.test', port: 53 }] })).toThrow(/not an IP address/);
    expect(() => setup({ targets: [{ host: '192.0.2.1', port: 0 }] })).toThrow(/port/);
  });
});

describe('NotifySender: refusals', () => {
  it.each([
    ['NOTAUTH', 9],
    ['REFUSED', Rcode.REFUSED],
  ])('%s: warns once and keeps retrying at the longest interval until the secondary accepts', (_name, rcode) => {
    const t = setup();
    t.sender.zoneChanged(soa(1));
    t.clock.advance(1000);
    t.sender.receive(answer(t.sent[0]!, rcode), t.from());
    expect(t.warns()).toEqual(['secondary refuses our NOTIFY (its ACL or TSIG key for us?); retrying at the longest interval']);
    t.clock.advance(30_000 - 1);
    expect(t.sent).toHaveLength(1);
    t.clock.advance(1);
    expect(t.sent).toHaveLength(2);
    t.sender.receive(answer(t.sent[1]!, rcode), t.from());
    t.clock.advance(30_000);
    expect(t.sent).toHaveLength(3);
    expect(t.warns()).toHaveLength(1);
    // The operator fixed the ACL.
    t.sender.receive(answer(t.sent[2]!), t.from());
    expect(t.infos()).toEqual(['secondary acknowledged NOTIFY again']);
    expect(t.outcomes()).toEqual(['sent', 'refused', 'retry', 'refused', 'retry', 'acked']);
    t.clock.advance(600_000);
    expect(t.sent).toHaveLength(3);
  });

  it('NOTIMP: stops NOTIFY to that target for every zone, with a warning; other targets go on', () => {
    const t = setup({ targets: [PRIMARY, OTHER] });
    t.sender.zoneChanged(soa(1, 'a.test'));
    t.sender.zoneChanged(soa(1, 'b.test'));
    t.clock.advance(1000);
    const toPrimary = t.sent.find((s) => s.host === PRIMARY.host && s.zone === 'a.test')!;
    t.sender.receive(answer(toPrimary, Rcode.NOTIMP), t.from());
    expect(t.warns()).toEqual(['secondary does not implement NOTIFY (NOTIMP); no more NOTIFY to it']);
    expect(t.events.at(-1)).toEqual({ zone: 'a.test', target: '192.0.2.53:53', outcome: 'stopped' });
    const before = t.sent.length;
    t.sender.zoneChanged(soa(2, 'a.test'));
    t.clock.advance(5000);
    const later = t.sent.slice(before);
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((s) => s.host === OTHER.host)).toBe(true);
  });
});

describe('NotifySender: close', () => {
  it('cancels every timer, and ignores changes and datagrams afterwards', () => {
    const t = setup({ targets: [PRIMARY, OTHER] });
    t.sender.zoneChanged(soa(1));
    t.clock.advance(1000);
    t.sender.zoneChanged(soa(2, 'b.test'));
    expect(t.clock.timers.size).toBe(4);
    t.sender.close();
    expect(t.clock.timers.size).toBe(0);
    t.sender.zoneChanged(soa(3));
    t.sender.receive(answer(t.sent[0]!), t.from());
    t.clock.advance(600_000);
    expect(t.sent).toHaveLength(2);
    expect(t.clock.timers.size).toBe(0);
    expect(t.outcomes()).toEqual(['sent', 'sent']);
  });
});

// ---------------------------------------------------------------------------------------------
// A real secondary: Knot DNS takes our NOTIFY over real UDP, on IPv4 and IPv6 loopback.

function findTool(name: string): string | undefined {
  // Daemons live in sbin, which a non-root PATH may lack.
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin']) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

const KNOTD = findTool('knotd');

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, output: () => string, ms = 15_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - started > ms) throw new Error(`${what} within ${ms} ms; knotd said:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

if (!KNOTD) {
  describe.skip('NotifySender with a real Knot DNS secondary (knotd missing; install with: sudo apt-get install knot)', () => {
    it('is acknowledged by Knot', () => {});
  });
} else {
  describe('NotifySender with a real Knot DNS secondary', () => {
    let dir: string;
    let port: number;
    let output = '';
    let knot: ReturnType<typeof spawn>;
    let udp4: Socket;
    let udp6: Socket;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'etcdns-notify-knot-'));
      port = await freePort();
      // The primary Knot would transfer from: a port where nothing listens (discard), so
      // refreshes fail fast; only NOTIFY handling is under test.
      const unused = await freePort();
      writeFileSync(
        join(dir, 'knot.conf'),
        `server:
    rundir: "${dir}"
    listen: [ 127.0.0.1@${port}, ::1@${port} ]
log:
  - target: stderr
    any: info
database:
    storage: "${dir}"
remote:
  - id: etcdns
    address: 127.0.0.1@${unused}
acl:
  - id: notify_from_us
    address: [ 127.0.0.1, ::1 ]
    action: notify
  - id: notify_from_elsewhere
    address: 192.0.2.1
    action: notify
template:
  - id: default
    storage: "${dir}"
    master: etcdns
zone:
  - domain: example.test
    acl: notify_from_us
  - domain: denied.test
    acl: notify_from_elsewhere
`,
      );
      knot = spawn(KNOTD, ['-c', join(dir, 'knot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
      knot.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      knot.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      // Ready when it answers a query (SERVFAIL: the zones are empty until a transfer).
      await until('knotd did not answer', () => dig(port, ['example.test', 'SOA']).then((r) => r.status, () => undefined), () => output);
      udp4 = createSocket('udp4');
      udp6 = createSocket('udp6');
      await Promise.all([new Promise<void>((r) => udp4.bind(0, '127.0.0.1', r)), new Promise<void>((r) => udp6.bind(0, '::1', r))]);
    });

    afterAll(async () => {
      udp4?.close();
      udp6?.close();
      if (knot && knot.exitCode === null && knot.signalCode === null) {
        const exited = once(knot, 'exit');
        process.kill(knot.pid!, 'SIGTERM');
        const timer = setTimeout(() => knot.exitCode === null && process.kill(knot.pid!, 'SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('is acknowledged (NOERROR) over IPv4 and IPv6, Knot reads our serial, and a zone whose ACL does not allow us is refused', async () => {
      const events: NotifyEvent[] = [];
      const sender = new NotifySender({
        targets: [
          { host: '127.0.0.1', port },
          { host: '::1', port },
        ],
        delayMs: 20,
        clock: systemClock,
        // One socket per family; the caller routes by the target's address.
        socket: { send: (m, p, h) => (isIPv6(h) ? udp6 : udp4).send(m, p, h) },
        logger: pino({ level: 'silent' }),
        retryMs: { first: 200, max: 400 },
        onEvent: (e) => events.push(e),
      });
      for (const s of [udp4, udp6]) s.on('message', (m, rinfo) => sender.receive(m, rinfo));
      try {
        sender.zoneChanged(soa(2026120301));
        sender.zoneChanged(soa(2026120302));
        sender.zoneChanged(soa(7, 'denied.test'));
        const outcome = (zone: string, target: string) => events.find((e) => e.zone === zone && e.target === target && e.outcome !== 'sent' && e.outcome !== 'retry')?.outcome;
        const got = await until(
          'no answer to every NOTIFY',
          () => {
            const all = ['example.test', 'denied.test'].flatMap((z) => [`127.0.0.1:${port}`, `[::1]:${port}`].map((t) => outcome(z, t)));
            return all.every((o) => o !== undefined) ? all : undefined;
          },
          () => output,
        );
        expect(got).toEqual(['acked', 'acked', 'refused', 'refused']);
        // Coalesced: Knot saw serial ...02 only (from the SOA in our answer section, §3.7),
        // once per address family, and never ...01.
        await until('Knot did not log the NOTIFY', () => ((output.match(/\[example\.test\.\] notify, incoming.*serial 2026120302/g)?.length ?? 0) >= 2 ? true : undefined), () => output);
        expect(output).not.toMatch(/serial 2026120301/);
      } finally {
        sender.close();
      }
    });
  });
}
