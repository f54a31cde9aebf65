/**
 * (Over 500 lines: each limit of the security table is proved here against one built server.)
 *
 * Abuse and overload, against the built server as a process (and the handler chain in process for
 * the million-name memory test):
 *
 * - no amplification: a UDP reply never exceeds what the client advertised (or 512 octets
 *   without EDNS), for our own answers and for forwarded ones;
 * - response rate limiting (--rate-limit, --rate-limit-slip; BIND RRL);
 * - TCP: slow-loris clients cannot hold connection slots; per-client and total caps; queries
 *   per connection;
 * - overload: --forward-max-concurrent refuses at once instead of queueing; the response cache
 *   and the rate limiter's table stay bounded with a million distinct names and clients;
 * - startup is all or nothing: with the DNS port taken nothing stays bound or connected.
 *
 * That the forwarder refuses clients outside --allow-recursion is tested in forward.test.ts.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServer } from '../src/app.js';
import { loadServeConfig } from '../src/config/load.js';
import { Forwarder } from '../src/forward/forwarder.js';
import { silentLogger } from '../src/log.js';
import { decodeQuery, type Query } from '../src/wire/query.js';
import { ResponseRateLimiter, DEFAULT_RATE_LIMIT_ENTRIES } from '../src/chain/response-rate-limiter.js';
import { testChain } from './support/chain.js';
import { parseZoneFile } from '../src/sources/zonefile/master-file.js';
import { systemClock } from '../src/clock.js';
import { RecordTable } from '../src/table/table.js';
import { tcpExchange, udpExchange } from './support/client.js';
import { buildQuery, parseReply, RCODE } from './support/packets.js';
import { REPO_ROOT, runCli, startServer, type ServerProcess } from './support/server.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { tempZones } from './support/zones.js';

const BIG = Array.from({ length: 80 }, (_, i) => `big A 10.1.0.${i}`).join('\n');
const BIG6 = Array.from({ length: 40 }, (_, i) => `big AAAA 2001:db8::${i.toString(16)}`).join('\n');
const MX = Array.from({ length: 30 }, (_, i) => `@ MX ${i} mx${i}`).join('\n') + '\n' + Array.from({ length: 30 }, (_, i) => `mx${i} A 192.0.2.${i}`).join('\n');
const ZONE = `
$ORIGIN example.test.
$TTL 60
@        SOA ns1 hostmaster ( 2026112101 7200 1800 86400 30 )
@        NS  ns1
ns1      A   192.0.2.53
www      A   192.0.2.10
long     TXT "${'t'.repeat(255)}" "${'u'.repeat(255)}" "${'v'.repeat(255)}" "${'w'.repeat(255)}" "${'x'.repeat(255)}"
_s._tcp  SRV 0 0 1 big
*.apps   A   192.0.2.80
sub      NS  ns.sub
${Array.from({ length: 40 }, (_, i) => `sub NS ns${i}.sub\nns${i}.sub A 192.0.2.${100 + i}`).join('\n')}
${BIG}
${BIG6}
${MX}
`;

/** The largest UDP reply a client may get: RFC 1035 §4.2.1 without EDNS, else RFC 6891 §6.2.5. */
const allowed = (udpSize: number | undefined, ours = 1232) => (udpSize === undefined ? 512 : Math.min(Math.max(512, udpSize), ours));

/** The query with its OPT's UDP size set to `size` (dns2 would write 4096 for 0). */
function withUdpSize(query: Buffer, size: number | undefined): Buffer {
  // Built without options, the OPT record is the last 11 octets; its CLASS is the UDP size.
  if (size !== undefined) query.writeUInt16BE(size, query.length - 8);
  return query;
}

async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

/** Sends every packet at once from one socket (bound to `localAddress`) and collects what comes back within `waitMs`. */
async function blast(port: number, packets: readonly Buffer[], options: { localAddress?: string; waitMs?: number } = {}): Promise<Buffer[]> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, options.localAddress ?? '127.0.0.1', resolve));
  const replies: Buffer[] = [];
  socket.on('message', (m) => replies.push(m));
  try {
    // 20 at a time, a macrotask apart: fast enough to exceed any limit under test, slow
    // enough never to overflow the server's socket buffer (a drop there is not the limiter's).
    for (let i = 0; i < packets.length; i += 20) {
      for (const p of packets.slice(i, i + 20)) socket.send(p, port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => setTimeout(r, options.waitMs ?? 400));
    return replies;
  } finally {
    socket.close();
  }
}

/** A TCP connection from `localAddress`; resolves once connected. */
async function openTcp(port: number, localAddress = '127.0.0.1'): Promise<Socket & { closedAt?: number }> {
  const socket: Socket & { closedAt?: number } = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  socket.on('close', () => (socket.closedAt = performance.now()));
  await once(socket, 'connect');
  return socket;
}

/** Whether the server answers a query on this connection (false: it closed the connection instead). */
async function answersOn(socket: Socket, timeoutMs = 2000): Promise<boolean> {
  const q = buildQuery({ name: 'www.example.test', type: 'A' });
  const frame = Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.once('data', () => (clearTimeout(timer), resolve(true)));
    socket.once('close', () => (clearTimeout(timer), resolve(false)));
    if (socket.destroyed) return (clearTimeout(timer), resolve(false));
    socket.write(frame);
  });
}

const closed = (s: Socket) => new Promise<void>((resolve) => (s.destroyed && s.readyState === 'closed' ? resolve() : s.once('close', () => resolve())));

let zones: ReturnType<typeof tempZones>;
beforeAll(() => {
  zones = tempZones({ 'example.test.zone': ZONE });
});
afterAll(() => zones?.remove());

// ---------------------------------------------------------------------------------------------

describe('no amplification: UDP replies never exceed what the client allows', () => {
  let upstream: ServerProcess;
  let server: ServerProcess;
  let none: ReturnType<typeof tempZones>;
  beforeAll(async () => {
    upstream = await startServer(['--zones', zones.dir, '--edns-udp-size', '4096']);
    // No zones of its own: every name below is forwarded.
    none = tempZones({});
    server = await startServer(['--zones', none.dir, '--upstream', `127.0.0.1:${upstream.port}`, '--forward-timeout', '2s']);
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
    none?.remove();
  });

  const SIZES = [undefined, 0, 1, 100, 511, 512, 513, 600, 1000, 1231, 1232, 1233, 1400, 4096, 65535];
  const QUESTIONS: [string, string][] = [
    ['big.example.test', 'A'],
    ['big.example.test', 'AAAA'],
    ['big.example.test', 'ANY'],
    ['example.test', 'ANY'],
    ['example.test', 'MX'],
    ['example.test', 'NS'],
    ['long.example.test', 'TXT'],
    ['_s._tcp.example.test', 'SRV'],
    ['x.sub.example.test', 'A'],
    ['q.apps.example.test', 'ANY'],
    ['nope.example.test', 'A'],
  ];

  it.each([
    ['answered from our own zones (with --edns-udp-size 4096)', 'own', 4096],
    ['forwarded (fetched upstream, over TCP when truncated, and relayed within the client limit; default --edns-udp-size 1232)', 'forwarded', 1232],
  ] as const)('%s', async (_, which, ours) => {
    const port = which === 'own' ? upstream.port : server.port;
    const limitOf = (size: number | undefined) => allowed(size, ours);
    const cases = SIZES.flatMap((size) => QUESTIONS.map(([name, type]) => ({ size, name, type })));
    let truncated = 0;
    let full = 0;
    const results = await inBatches(cases, 40, async ({ size, name, type }) => {
      const query = withUdpSize(buildQuery({ name, type, edns: size === undefined ? undefined : {}, id: 4242 }), size);
      const reply = await udpExchange(port, query, { timeoutMs: 4000 });
      return { size, name, type, reply };
    });
    for (const { size, name, type, reply } of results) {
      const what = `${name} ${type} udp=${String(size)}`;
      expect(reply, what).not.toBeNull();
      expect(reply!.length, what).toBeLessThanOrEqual(limitOf(size));
      const packet = parseReply(reply!);
      expect(packet.header.id, what).toBe(4242);
      if (process.env.ABUSE_DEBUG) console.log(what, packet.header.rcode, packet.header.tc, packet.answers.length, reply!.length);
      if (packet.header.tc) truncated++;
      else full++;
    }
    // Both paths were exercised: some answers did not fit and were truncated, others fitted.
    expect(truncated).toBeGreaterThan(10);
    expect(full).toBeGreaterThan(10);
    // And the truncated ones are all there over TCP.
    const [tcp] = await tcpExchange(port, [buildQuery({ name: 'big.example.test', type: 'A' })], { timeoutMs: 4000 });
    expect(parseReply(tcp!).answers).toHaveLength(80);
  });
});

// ---------------------------------------------------------------------------------------------

describe('response rate limiting (--rate-limit 20 --rate-limit-slip 2)', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer(['--zones', zones.dir, '--rate-limit', '20', '--rate-limit-slip', '2']);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers a flood from one /24 at the rate, slips every second limited reply as TC=1, drops the rest', async () => {
    const queries = Array.from({ length: 300 }, (_, i) => buildQuery({ name: 'www.example.test', type: 'A', id: i }));
    const started = performance.now();
    const replies = await blast(server.port, queries, { localAddress: '127.0.9.1', waitMs: 300 });
    const elapsed = (performance.now() - started) / 1000;
    const parsed = replies.map(parseReply);
    const answered = parsed.filter((p) => !p.header.tc);
    const slipped = parsed.filter((p) => p.header.tc);
    // The bucket holds one second (20), plus 20 per second of the test.
    expect(answered.length).toBeGreaterThanOrEqual(20);
    expect(answered.length).toBeLessThanOrEqual(20 + Math.ceil(20 * elapsed) + 1);
    for (const p of answered) expect(p.answers).toHaveLength(1);
    // Half of the limited ones come back empty with TC=1 (slip 2), echoing ID and question.
    const limited = 300 - answered.length;
    if (process.env.ABUSE_DEBUG) console.log('answered', answered.length, 'slipped', slipped.length, 'elapsed', elapsed);
    expect(Math.abs(slipped.length - limited / 2)).toBeLessThanOrEqual(1);
    for (const p of slipped) {
      expect(p.answers).toEqual([]);
      expect(p.questions[0]!.name).toBe('www.example.test');
    }
    expect(new Set(parsed.map((p) => p.header.id)).size).toBe(parsed.length);
  });

  it('limits each /24 on its own: another network is answered meanwhile', async () => {
    await blast(server.port, Array.from({ length: 100 }, () => buildQuery({ name: 'www.example.test', type: 'A' })), { localAddress: '127.0.10.1', waitMs: 50 });
    // Same /24, another host: shares the exhausted bucket.
    const same = await blast(server.port, Array.from({ length: 10 }, () => buildQuery({ name: 'www.example.test', type: 'A' })), { localAddress: '127.0.10.2', waitMs: 200 });
    expect(same.map(parseReply).filter((p) => !p.header.tc).length).toBeLessThanOrEqual(3);
    const other = await blast(server.port, Array.from({ length: 10 }, () => buildQuery({ name: 'www.example.test', type: 'A' })), { localAddress: '127.0.11.1', waitMs: 200 });
    expect(other.map(parseReply).filter((p) => !p.header.tc)).toHaveLength(10);
  });

  it('never limits TCP: a client told TC=1 gets every answer over TCP', async () => {
    await blast(server.port, Array.from({ length: 100 }, () => buildQuery({ name: 'www.example.test', type: 'A' })), { localAddress: '127.0.0.1', waitMs: 50 });
    const replies = await tcpExchange(
      server.port,
      Array.from({ length: 60 }, (_, i) => buildQuery({ name: 'www.example.test', type: 'A', id: i })),
    );
    expect(replies.map((r) => parseReply(r).answers.length)).toEqual(Array(60).fill(1));
  });

  it('lets the network back in once it slows down', async () => {
    await blast(server.port, Array.from({ length: 100 }, () => buildQuery({ name: 'www.example.test', type: 'A' })), { localAddress: '127.0.12.1', waitMs: 50 });
    await new Promise((r) => setTimeout(r, 1100));
    const replies = await blast(server.port, Array.from({ length: 15 }, () => buildQuery({ name: 'www.example.test', type: 'A' })), { localAddress: '127.0.12.1', waitMs: 200 });
    expect(replies.map(parseReply).filter((p) => !p.header.tc)).toHaveLength(15);
  });
});

// ---------------------------------------------------------------------------------------------

describe('TCP limits at the server level', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer([
      '--zones', zones.dir,
      '--tcp-idle-timeout', '700ms',
      '--tcp-max-connections', '5',
      '--tcp-max-connections-per-client', '3',
      '--tcp-max-queries-per-connection', '4',
    ]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('closes a slow-loris connection (a frame that never completes, bytes trickling in) after the idle timeout', async () => {
    const socket = await openTcp(server.port);
    const opened = performance.now();
    socket.write(Buffer.from([0, 100, 1, 2, 3])); // announces 100 octets, sends 3
    const trickle = setInterval(() => socket.writable && socket.write(Buffer.from([7])), 100);
    try {
      await closed(socket);
    } finally {
      clearInterval(trickle);
    }
    const heldMs = socket.closedAt! - opened;
    // The trickle does not count as activity: closed at the idle timeout, not later.
    expect(heldMs).toBeGreaterThanOrEqual(600);
    expect(heldMs).toBeLessThan(2500);
  });

  it('cannot hold slots: the per-client cap refuses more, and the slots come back after the timeout', async () => {
    const loris = await Promise.all([1, 2, 3].map(() => openTcp(server.port, '127.0.0.5')));
    for (const s of loris) s.write(Buffer.from([0, 50, 1])); // partial frames
    const fourth = await openTcp(server.port, '127.0.0.5');
    expect(await answersOn(fourth)).toBe(false);
    // Other clients are still served meanwhile.
    const other = await openTcp(server.port, '127.0.0.6');
    expect(await answersOn(other)).toBe(true);
    other.destroy();
    await Promise.all(loris.map(closed));
    // The client sees its side closed a moment before the server has released the slots of
    // the connections it reset: retry briefly rather than race that bookkeeping.
    let answered = false;
    for (const deadline = Date.now() + 3000; !answered && Date.now() < deadline; ) {
      const again = await openTcp(server.port, '127.0.0.5');
      answered = await answersOn(again, 500);
      again.destroy();
      if (!answered) await new Promise((r) => setTimeout(r, 100));
    }
    expect(answered).toBe(true);
  });

  it('counts what the transport refuses and drops in etcdns_transport_events_total{type}, and logs it', async () => {
    const metricsUrl = `${server.logs.find((l) => l.msg === 'listening')!.metrics as string}/metrics`;
    const count = async (type: string) => {
      const m = new RegExp(`^etcdns_transport_events_total\\{type="${type}"\\} (\\d+)$`, 'm').exec(await (await fetch(metricsUrl)).text());
      return m ? Number(m[1]) : 0;
    };
    const [rejected, dropped] = [await count('tcp-rejected'), await count('frame-dropped')];
    const held = await Promise.all([1, 2, 3].map(() => openTcp(server.port, '127.0.0.10')));
    const fourth = await openTcp(server.port, '127.0.0.10');
    expect(await answersOn(fourth)).toBe(false);
    // An empty frame (length 0) is dropped.
    held[0]!.write(Buffer.from([0, 0]));
    for (const s of held) s.destroy();
    for (const deadline = Date.now() + 5000; (await count('frame-dropped')) <= dropped && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    expect(await count('tcp-rejected')).toBeGreaterThan(rejected);
    expect(await count('frame-dropped')).toBeGreaterThan(dropped);
    // Logged, at most one line per kind a second (a refusal just before this one's may hold it back).
    await server.waitForLog((l) => l.kind === 'tcp-rejected' && typeof l.msg === 'string' && l.msg.includes('rejected'), 5000);
    await server.waitForLog((l) => l.kind === 'frame-dropped' && l.msg === 'frame dropped: empty tcp frame', 5000);
  });

  it('caps connections in total, whatever the client', async () => {
    const held = [
      ...(await Promise.all([1, 2, 3].map(() => openTcp(server.port, '127.0.0.7')))),
      ...(await Promise.all([1, 2].map(() => openTcp(server.port, '127.0.0.8')))),
    ];
    // Five are open: each is answered (and kept, since the query limit is 4).
    expect(await Promise.all(held.map((s) => answersOn(s)))).toEqual([true, true, true, true, true]);
    const sixth = await openTcp(server.port, '127.0.0.9');
    expect(await answersOn(sixth)).toBe(false);
    for (const s of held) s.destroy();
    // The slots are free again once the server has seen the connections go.
    let served = false;
    for (let i = 0; i < 20 && !served; i++) {
      const s = await openTcp(server.port, '127.0.0.9');
      served = await answersOn(s, 500);
      s.destroy();
      if (!served) await new Promise((r) => setTimeout(r, 100));
    }
    expect(served).toBe(true);
  });

  it('closes a connection after --tcp-max-queries-per-connection queries, answering exactly those', async () => {
    const queries = Array.from({ length: 7 }, (_, i) => buildQuery({ name: 'www.example.test', type: 'A', id: 100 + i }));
    const socket = await openTcp(server.port);
    const replies: number[] = [];
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        replies.push(pending.readUInt16BE(2));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
    });
    socket.write(Buffer.concat(queries.map((q) => Buffer.concat([Buffer.from([0, q.length]), q]))));
    await closed(socket);
    expect(replies.sort()).toEqual([100, 101, 102, 103]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('overload: --forward-max-concurrent refuses at once instead of queueing', () => {
  let silent: ReturnType<typeof createSocket>;
  let server: ServerProcess;
  beforeAll(async () => {
    // An upstream that never answers: every forwarded query waits the whole timeout.
    silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    server = await startServer([
      '--zones', zones.dir,
      '--upstream', `127.0.0.1:${silent.address().port}`,
      '--forward-timeout', '1500ms',
      '--forward-max-concurrent', '5',
      '--cache-entries', '0',
    ]);
  });
  afterAll(async () => {
    await server?.stop();
    silent?.close();
  });

  it('answers REFUSED beyond 5 queries in flight, SERVFAIL for the 5 when the upstream times out, then takes new ones', async () => {
    const queries = Array.from({ length: 20 }, (_, i) => buildQuery({ name: `q${i}.elsewhere.example`, type: 'A', id: i }));
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const replies: { id: number; rcode: number; at: number }[] = [];
    const started = performance.now();
    socket.on('message', (m) => {
      const p = parseReply(m);
      replies.push({ id: p.header.id, rcode: p.header.rcode, at: performance.now() - started });
    });
    try {
      for (const q of queries) socket.send(q, server.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 500));
      // The 15 over the cap are refused at once; the 5 are still waiting for the upstream.
      expect(replies.filter((r) => r.rcode === RCODE.REFUSED)).toHaveLength(15);
      expect(replies).toHaveLength(15);
      await new Promise((r) => setTimeout(r, 2000));
      const late = replies.slice(15);
      expect(late.map((r) => r.rcode)).toEqual(Array(5).fill(RCODE.SERVFAIL));
      for (const r of late) expect(r.at).toBeGreaterThan(1400);
      // Capacity is back: a new query waits for the upstream again instead of being refused.
      socket.send(buildQuery({ name: 'later.elsewhere.example', type: 'A', id: 99 }), server.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 300));
      expect(replies.find((r) => r.id === 99)).toBeUndefined();
    } finally {
      socket.close();
    }
    // Our own zones never wait for the forwarder, even at the cap.
    const own = parseReply((await udpExchange(server.port, buildQuery({ name: 'www.example.test', type: 'A' })))!);
    expect(own.answers).toHaveLength(1);
  });
});

describe('overload: the forwarder counts what it holds (in process)', () => {
  /** A forwarder for `example` to one loopback upstream, at most `maxConcurrent` queries waiting. */
  const cappedForwarder = (port: number, maxConcurrent: number) =>
    new Forwarder({
      routes: [{ zone: 'example', upstreams: [{ host: '127.0.0.1', port }] }],
      policy: 'sequential',
      tryTimeoutMs: 300,
      maxFailures: 100,
      healthCheckIntervalMs: 1000,
      cache: { maxEntries: 10, maxBytes: 1 << 20, maxTtlSeconds: 60, maxNegativeTtlSeconds: 60, staleSeconds: 0 },
      logger: silentLogger(),
      maxConcurrent,
    });
  const query = (i: number, name = `n${i}.elsewhere.example`) => (decodeQuery(buildQuery({ name, type: 'A', id: i })) as { query: Query }).query;

  it('refuses over maxConcurrent synchronously and gives every slot back, whatever the outcome', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const forwarder = cappedForwarder(silent.address().port, 3);
    try {
      const pending = [0, 1, 2].map((i) => forwarder.forward(query(i), 512, 1232));
      expect(forwarder.inFlight).toBe(3);
      const refused = await Promise.all([3, 4].map((i) => forwarder.forward(query(i), 512, 1232)));
      expect(refused.map((r) => parseReply(r).header.rcode)).toEqual([RCODE.REFUSED, RCODE.REFUSED]);
      expect(forwarder.refusedOverLimit).toBe(2);
      expect((await Promise.all(pending)).map((r) => parseReply(r).header.rcode)).toEqual(Array(3).fill(RCODE.SERVFAIL));
      expect(forwarder.inFlight).toBe(0);
      // A name no route covers is refused at once, and gives its slot back too.
      expect(parseReply(await forwarder.forward(query(5, 'x.other.test'), 512, 1232)).header.rcode).toBe(RCODE.REFUSED);
      expect(forwarder.inFlight).toBe(0);
      expect(forwarder.refusedOverLimit).toBe(2);
    } finally {
      await forwarder.close();
      silent.close();
    }
  });

  it('answers from the cache while every slot waits for a silent upstream', async () => {
    // An upstream that answers names starting with "cached" and ignores the rest.
    const upstream = createSocket('udp4');
    await new Promise<void>((resolve) => upstream.bind(0, '127.0.0.1', resolve));
    upstream.on('message', (message, from) => {
      const asked = parseReply(message);
      if (!asked.questions[0]!.name.startsWith('cached')) return;
      asked.header.qr = 1;
      asked.answers.push({ name: asked.questions[0]!.name, type: 1, class: 1, ttl: 300, address: '192.0.2.7' } as never);
      upstream.send(asked.toBuffer(), from.port, from.address);
    });
    const forwarder = cappedForwarder(upstream.address().port, 2);
    try {
      expect(parseReply(await forwarder.forward(query(1, 'cached.elsewhere.example'), 512, 1232)).answers).toHaveLength(1);
      const stuck = [2, 3].map((i) => forwarder.forward(query(i, `n${i}.elsewhere.example`), 512, 1232));
      expect(forwarder.inFlight).toBe(2);
      // At the cap, but the cache has it: answered at once, not refused.
      const hit = forwarder.forward(query(4, 'cached.elsewhere.example'), 512, 1232);
      expect(hit).toBeInstanceOf(Uint8Array);
      const reply = parseReply(hit as Buffer);
      expect(reply.header.rcode).toBe(RCODE.NOERROR);
      expect(reply.header.id).toBe(4);
      expect(reply.answers.map((a) => (a as { address?: string }).address)).toEqual(['192.0.2.7']);
      expect(forwarder.refusedOverLimit).toBe(0);
      // A question the cache lacks is still refused at the cap.
      expect(parseReply(await forwarder.forward(query(5, 'other.elsewhere.example'), 512, 1232)).header.rcode).toBe(RCODE.REFUSED);
      await Promise.all(stuck);
    } finally {
      await forwarder.close();
      upstream.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('overload: memory stays bounded with a million distinct names', () => {
  it('keeps the response cache and the rate limiter table within their bounds (heap growth measured)', () => {
    const parsed = parseZoneFile(ZONE, { file: 'example.test.zone', origin: 'example.test' });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const table = new RecordTable({ sources: ['files'] });
    table.publish('files', new Map([[parsed.zone.origin, parsed.zone]]));
    const limiter = new ResponseRateLimiter({ responsesPerSecond: 1_000_000, slip: 2, clock: systemClock });
    // The defaults of the real server: the response cache's 100 000 entries / 64 MiB.
    const handle = testChain({ snapshot: () => table.current, rateLimit: limiter });
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };

    const q = Buffer.alloc(300);
    const rcodes = new Map<number, number>();
    const ask = (i: number) => {
      // In-zone NXDOMAIN, wildcard matches, and names in no zone of ours (REFUSED: no forwarding).
      const kind = i % 3;
      const name = kind === 0 ? `n${i}.nx.example.test` : kind === 1 ? `w${i}.apps.example.test` : `o${i}.elsewhere.org`;
      let o = 12;
      q.writeUInt16BE(i & 0xffff, 0);
      q.writeUInt32BE(0x01000001, 2); // RD, QDCOUNT 1
      q.fill(0, 6, 12);
      for (const label of name.split('.')) {
        q[o++] = label.length;
        o += q.write(label, o, 'latin1');
      }
      q[o++] = 0;
      q.writeUInt32BE(0x00010001, o); // A IN
      // Every query from another /24: a million distinct clients for the rate limiter.
      const address = `${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}.1`;
      const reply = handle(q.subarray(0, o + 4), { transport: 'udp', remoteAddress: address, remotePort: 53000, localPort: 53 }) as Buffer;
      const rcode = reply[3]! & 0x0f;
      rcodes.set(rcode, (rcodes.get(rcode) ?? 0) + 1);
    };

    const started = performance.now();
    const before = heap();
    // Enough to fill the cache (two in three names are cached) and the limiter's table.
    for (let i = 0; i < 200_000; i++) ask(i);
    const warm = heap();
    for (let i = 200_000; i < 1_000_000; i++) ask(i);
    const after = heap();
    const seconds = (performance.now() - started) / 1000;
    const mb = (n: number) => Math.round(n / 1e5) / 10;
    console.log(
      `1M names in ${seconds.toFixed(1)} s: heap+buffers ${mb(before)} MB before, ${mb(warm)} MB after 200k (caches full), ${mb(after)} MB after 1M; ` +
        `rate limiter ${limiter.size} networks`,
    );

    // Every one answered as its kind (i % 3) says; none rate limited (one query per /24).
    expect(Object.fromEntries(rcodes)).toEqual({ [RCODE.NXDOMAIN!]: 333_334, [RCODE.NOERROR!]: 333_333, [RCODE.REFUSED!]: 333_333 });
    expect(limiter.size).toBe(DEFAULT_RATE_LIMIT_ENTRIES);
    // Bounded: 800 000 more distinct names after the caches filled cost (next to) nothing...
    expect(after - warm).toBeLessThan(8e6);
    // ...and all of it together stays under 150 MB (measured: about 70 MB for the response
    // cache's 100 000 entries and the limiter's 65 536 networks).
    expect(after - before).toBeLessThan(150e6);
    // The chain still answers (and is still referenced here, so none of it was collected early).
    const last = handle(buildQuery({ name: 'w1.apps.example.test', type: 'A', id: 9 }), { transport: 'udp', remoteAddress: '198.51.100.1', remotePort: 53000, localPort: 53 }) as Buffer;
    expect(parseReply(last).header).toMatchObject({ id: 9, rcode: RCODE.NOERROR });
  }, 90_000);
});

// ---------------------------------------------------------------------------------------------

describe('startup is all or nothing', () => {
  /** A port free on 127.0.0.1 for TCP and UDP right now. */
  async function freePort(): Promise<number> {
    const s = createServer().listen(0, '127.0.0.1');
    await once(s, 'listening');
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    return port;
  }

  /** A TCP proxy in front of a real etcd: counts the connections made and those still open. */
  async function countingProxy(target: string): Promise<{ server: Server; port: number; open: () => number; seen: () => number }> {
    const { hostname, port } = new URL(target);
    const sockets = new Set<Socket>();
    let seen = 0;
    const server = createServer((client) => {
      seen++;
      sockets.add(client);
      const upstream = connect({ host: hostname, port: Number(port) });
      client.pipe(upstream).pipe(client);
      for (const s of [client, upstream]) s.on('error', () => {});
      client.on('close', () => (sockets.delete(client), upstream.destroy()));
      upstream.on('close', () => client.destroy());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { server, port: (server.address() as { port: number }).port, open: () => sockets.size, seen: () => seen };
  }

  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('with the DNS port taken, leaves no port bound and no etcd connection open (in process)', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const dnsPort = (blocker.address() as { port: number }).port;
    const opsPort = await freePort();
    const proxy = await countingProxy(etcd.endpoints[0]!);
    const handles = () =>
      process
        .getActiveResourcesInfo()
        .filter((r) => /TCPServerWrap|UDPWrap|FSEventWrap|StatWatcher/.test(r))
        .sort();
    // Handles closed just before (a probe for a free port) take a moment to leave the list.
    await new Promise((r) => setTimeout(r, 200));
    const before = handles();
    try {
      const config = loadServeConfig({
        argv: [
          '--listen', `127.0.0.1:${dnsPort}`,
          '--zones', zones.dir,
          '--etcd', `http://127.0.0.1:${proxy.port}`,
          '--etcd-zone', 'etcd.test',
          '--metrics-listen', `127.0.0.1:${opsPort}`,
          '--health-listen', 'off',
          '--ready-listen', 'off',
          '--no-forwarding',
        ],
        env: {},
        cwd: REPO_ROOT,
      });
      // UDP binds; TCP, held by the blocker, fails.
      await expect(runServer(config, silentLogger())).rejects.toMatchObject({
        code: 'ETCDNS_ERR_LISTEN',
        transport: 'tcp',
        host: '127.0.0.1',
        port: dnsPort,
        osCode: 'EADDRINUSE',
        message: expect.stringContaining(`cannot listen on tcp 127.0.0.1:${dnsPort}`),
      });
      // No connection to etcd stays open, and no stopped mirror reconnects later. (Whether it
      // got as far as connecting before the listeners failed depends on timing: the mirror
      // starts first, but its first connection takes a few event-loop turns.)
      await new Promise((r) => setTimeout(r, 1500));
      expect(proxy.open()).toBe(0);
      // No listener (UDP or TCP, DNS or ops) and no file watcher (zones/) more than before.
      expect(handles()).toEqual(before);
      // The metrics port it had bound, and the UDP port it had bound before TCP failed, are free.
      const probe = createServer().listen(opsPort, '127.0.0.1');
      await once(probe, 'listening');
      await new Promise((r) => probe.close(r));
      const udp = createSocket('udp4');
      await new Promise<void>((resolve, reject) => (udp.once('error', reject), udp.bind(dnsPort, '127.0.0.1', resolve)));
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    } finally {
      blocker.close();
      proxy.server.close();
    }
  });

  it('with the DNS port taken, the process exits 1 at once with one line naming the address', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const dnsPort = (blocker.address() as { port: number }).port;
    try {
      const started = performance.now();
      const r = await runCli(
        ['serve', '--listen', `127.0.0.1:${dnsPort}`, '--zones', zones.dir, '--etcd', etcd.endpoints[0]!, '--etcd-zone', 'etcd.test', '--no-forwarding', '--log-format', 'json'],
        { timeoutMs: 15_000 },
      );
      expect(r.code).toBe(1);
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(r.stdout + r.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${dnsPort}: address already in use \\(EADDRINUSE\\); set another address with --listen HOST:PORT`));
    } finally {
      blocker.close();
    }
  });

  it.each([
    [['--rate-limit', '-5'], '--rate-limit "-5": must be 0-1000000'],
    [['--rate-limit-slip', '20'], '--rate-limit-slip "20": must be 0-10'],
    [['--forward-max-concurrent', '0'], '--forward-max-concurrent "0": must be at least 1'],
  ])('refuses %j with one line naming it, exit code 2', async (args, message) => {
    const r = await runCli(['serve', '--listen', '127.0.0.1:0', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`etcdns: ${message}`]);
  });

  it('refuses a bad ETCDNS_RATE_LIMIT the same way', async () => {
    const r = await runCli(['serve', '--listen', '127.0.0.1:0'], { env: { ETCDNS_RATE_LIMIT: 'fast' } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('etcdns: ETCDNS_RATE_LIMIT="fast": not a number');
  });
});

