// (Over 500 lines: every case shares the fake upstream servers set up at the top.)
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import dns2 from 'dns2';
import { afterEach, describe, expect, it } from 'vitest';
import { buildQuery, parseReply, TYPE, type Packet as PacketType } from '../../test/support/packets.js';
import { systemClock, type Clock } from '../clock.js';
import { Flag, Rcode } from '../dns/constants.js';
import { silentLogger } from '../log.js';
import { decodeQuery, type Query } from '../wire/query.js';
import { sameEndpoint } from './client.js';
import { Forwarder } from './forwarder.js';
import type { ForwarderOptions, Upstream, UpstreamEvent } from './types.js';

const { Packet } = dns2;

// ---------------------------------------------------------------------------------------------
// A scriptable upstream: UDP and TCP on one loopback port, replies built with dns2.

interface Seen {
  transport: 'udp' | 'tcp';
  id: number;
  name: string;
  type: number;
  rd: number;
  cd: number;
  opt: { udpSize: number; doFlag: boolean; options: number } | undefined;
}

interface Exchange {
  readonly query: PacketType;
  readonly transport: 'udp' | 'tcp';
  /** Sends a reply on the same transport, to the asker. */
  send(reply: Buffer): void;
  /** UDP only: sends from another socket (another source port), as a spoofer would. */
  sendFromElsewhere(reply: Buffer): Promise<void>;
}

type Handler = (x: Exchange) => void | Promise<void>;

class FakeUpstream {
  readonly seen: Seen[] = [];
  handler: Handler;
  readonly #udp: Socket;
  readonly #tcp: Server;
  readonly #conns = new Set<TcpSocket>();
  readonly port: number;
  readonly host: string;

  private constructor(udp: Socket, tcp: Server, host: string, port: number, handler: Handler) {
    this.#udp = udp;
    this.#tcp = tcp;
    this.host = host;
    this.port = port;
    this.handler = handler;
    udp.on('message', (raw, from) => this.#onUdp(raw, from));
    tcp.on('connection', (c) => this.#onTcp(c));
  }

  static async start(handler: Handler, host = '127.0.0.1'): Promise<FakeUpstream> {
    for (let attempt = 0; ; attempt++) {
      const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(0, host, () => resolve());
      });
      const port = udp.address().port;
      const tcp = createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, host, () => resolve());
        });
        return new FakeUpstream(udp, tcp, host, port, handler);
      } catch (e) {
        udp.close();
        if (attempt > 5) throw e;
      }
    }
  }

  get upstream(): Upstream {
    return { host: this.host, port: this.port };
  }

  count(filter: Partial<Pick<Seen, 'transport' | 'name'>> = {}): number {
    return this.seen.filter((s) => (filter.transport ? s.transport === filter.transport : true) && (filter.name !== undefined ? s.name === filter.name : true)).length;
  }

  #record(query: PacketType, transport: 'udp' | 'tcp'): void {
    const opt = query.additionals.find((r) => r.type === TYPE.EDNS) as unknown as { class: number; doFlag: boolean; rdata: unknown[] } | undefined;
    this.seen.push({
      transport,
      id: query.header.id,
      name: query.questions[0]?.name ?? '?',
      type: query.questions[0]?.type ?? 0,
      rd: query.header.rd,
      cd: (query.header as unknown as { cd: number }).cd,
      opt: opt ? { udpSize: opt.class, doFlag: opt.doFlag, options: opt.rdata.length } : undefined,
    });
  }

  #onUdp(raw: Buffer, from: RemoteInfo): void {
    const query = Packet.parse(raw);
    this.#record(query, 'udp');
    void this.handler({
      query,
      transport: 'udp',
      send: (reply) => this.#udp.send(reply, from.port, from.address),
      sendFromElsewhere: async (reply) => {
        const other = createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
        await new Promise<void>((r) => other.send(reply, from.port, from.address, () => r()));
        other.close();
      },
    });
  }

  #onTcp(c: TcpSocket): void {
    this.#conns.add(c);
    c.on('close', () => this.#conns.delete(c));
    c.on('error', () => {});
    let pending = Buffer.alloc(0);
    c.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const raw = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + raw.length);
        const query = Packet.parse(raw);
        this.#record(query, 'tcp');
        void this.handler({
          query,
          transport: 'tcp',
          send: (reply) => {
            const framed = Buffer.alloc(2 + reply.length);
            framed.writeUInt16BE(reply.length, 0);
            reply.copy(framed, 2);
            c.write(framed);
          },
          sendFromElsewhere: () => Promise.reject(new Error('UDP only')),
        });
      }
    });
  }

  async close(): Promise<void> {
    for (const c of this.#conns) c.destroy();
    await new Promise<void>((r) => this.#tcp.close(() => r()));
    await new Promise<void>((r) => this.#udp.close(() => r()));
  }
}

type Record_ = Record<string, unknown> & { type: number; ttl?: number };

/** A reply to `q` as a recursive resolver would send it; `opt` echoes an OPT with a cookie. */
function answer(
  q: PacketType,
  spec: { answers?: Record_[]; authorities?: Record_[]; rcode?: number; tc?: boolean; id?: number; name?: string; opt?: boolean } = {},
): Buffer {
  const p = new Packet();
  const question = q.questions[0]!;
  p.header = new Packet.Header({ id: spec.id ?? q.header.id, qr: 1, rd: q.header.rd, ra: 1, tc: spec.tc ? 1 : 0, rcode: spec.rcode ?? 0 });
  p.questions.push({ ...question, name: spec.name ?? question.name } as never);
  for (const r of spec.answers ?? []) p.answers.push({ name: question.name, class: 1, ttl: 300, ...r } as never);
  for (const r of spec.authorities ?? []) p.authorities.push({ class: 1, ttl: 300, ...r } as never);
  const queryOpt = q.additionals.find((r) => r.type === TYPE.EDNS) as unknown as { doFlag: boolean } | undefined;
  if (queryOpt && spec.opt !== false) {
    // A real resolver echoes OPT, here with a cookie option (RFC 7873) that must not reach the client.
    const edns = Packet.Resource.EDNS([{ ednsCode: 10, data: Buffer.alloc(16, 7) }] as never, { udpPayloadSize: 1232, doFlag: queryOpt.doFlag } as never);
    p.additionals.push(Object.assign(edns, { name: '' }) as never);
  }
  const bytes = p.toBuffer();
  return bytes;
}

const A = (address: string, ttl = 300): Record_ => ({ type: TYPE.A!, address, ttl });
const SOA = (name: string, ttl: number, minimum: number): Record_ => ({
  name,
  type: TYPE.SOA!,
  ttl,
  primary: 'ns.example.test',
  admin: 'hostmaster.example.test',
  serial: 1,
  refresh: 3600,
  retry: 600,
  expiration: 86400,
  minimum,
});

/** Answers A/AAAA/MX/TXT/NS for any name. */
const standard: Handler = (x) => {
  const type = x.query.questions[0]!.type;
  const records: Record_[] =
    type === TYPE.A
      ? [A('192.0.2.10', 300)]
      : type === TYPE.AAAA
        ? [{ type: TYPE.AAAA!, address: '2001:db8::10' }]
        : type === TYPE.MX
          ? [{ type: TYPE.MX!, exchange: 'mail.example.test', priority: 10 }]
          : type === TYPE.TXT
            ? [{ type: TYPE.TXT!, data: ['v=spf1 -all'] }]
            : type === TYPE.NS
              ? [{ type: TYPE.NS!, ns: 'a.root-servers.net' }]
              : [];
  x.send(answer(x.query, { answers: records }));
};

const silent: Handler = () => {};

// ---------------------------------------------------------------------------------------------

/** now() moves only when the test says so; timers are real, so sockets and timeouts work. */
class ManualClock implements Clock {
  t = 5_000_000;
  now = (): number => this.t;
  setTimeout = systemClock.setTimeout;
  clearTimeout = systemClock.clearTimeout;
  setInterval = systemClock.setInterval;
  clearInterval = systemClock.clearInterval;
  setImmediate = systemClock.setImmediate;
  clearImmediate = systemClock.clearImmediate;
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

function query(name: string, type: string, extra: { id?: number; edns?: { udpSize?: number; dnssecOk?: boolean }; cd?: boolean } = {}): Query {
  const bytes = buildQuery({ name, type, id: extra.id ?? 0x1234, edns: extra.edns });
  if (extra.cd) bytes.writeUInt16BE(bytes.readUInt16BE(2) | Flag.CD, 2);
  const d = decodeQuery(bytes);
  if (d.kind !== 'query') throw new Error('not a query');
  return d.query;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function upstreamWith(handler: Handler, host?: string): Promise<FakeUpstream> {
  const u = await FakeUpstream.start(handler, host);
  cleanups.push(() => u.close());
  return u;
}

interface Harness {
  forwarder: Forwarder;
  clock: ManualClock;
  events: UpstreamEvent[];
  cache: string[];
  ask(name: string, type?: string, extra?: Parameters<typeof query>[2], maxSize?: number): Promise<PacketType>;
}

function forwarder(options: Partial<Omit<ForwarderOptions, 'cache'>> & { cache?: Partial<ForwarderOptions['cache']>; upstreams?: FakeUpstream[] }): Harness {
  const clock = new ManualClock();
  const events: UpstreamEvent[] = [];
  const cache: string[] = [];
  const f = new Forwarder({
    routes: options.routes ?? [{ zone: '', upstreams: (options.upstreams ?? []).map((u) => u.upstream) }],
    policy: options.policy ?? 'sequential',
    tryTimeoutMs: options.tryTimeoutMs ?? 150,
    maxFailures: options.maxFailures ?? 3,
    healthCheckIntervalMs: options.healthCheckIntervalMs ?? 50,
    cache: { maxEntries: 1000, maxBytes: 1 << 20, maxTtlSeconds: 3600, maxNegativeTtlSeconds: 300, staleSeconds: 600, ...options.cache },
    clock,
    logger: silentLogger(),
    observe: { upstream: (e) => events.push(e), cache: (e) => cache.push(e) },
  });
  cleanups.push(() => f.close());
  return {
    forwarder: f,
    clock,
    events,
    cache,
    async ask(name, type = 'A', extra = {}, maxSize = 65535) {
      const q = query(name, type, extra);
      const bytes = await f.forward(q, maxSize, 1232);
      expect(bytes.length).toBeLessThanOrEqual(maxSize);
      const p = parseReply(bytes);
      expect(p.header.id).toBe(q.id);
      return p;
    },
  };
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Forwarder', () => {
  it('forwards A, AAAA, MX and TXT with a fresh ID, RD, the canonical name and our OPT', async () => {
    const up = await upstreamWith(standard);
    const h = forwarder({ upstreams: [up] });
    const a = await h.ask('www.example.org', 'A');
    expect(a.header).toMatchObject({ qr: 1, ra: 1, rd: 1, rcode: 0, aa: 0 });
    expect(a.answers[0]).toMatchObject({ name: 'www.example.org', type: TYPE.A, address: '192.0.2.10', ttl: 300 });
    const aaaa = await h.ask('www.example.org', 'AAAA');
    expect(aaaa.answers[0]).toMatchObject({ address: '2001:db8::10' });
    const mx = await h.ask('example.org', 'MX');
    expect(mx.answers[0]).toMatchObject({ exchange: 'mail.example.test', priority: 10 });
    const txt = await h.ask('example.org', 'TXT');
    expect((txt.answers[0] as unknown as { data: string[] }).data).toEqual(['v=spf1 -all']);

    expect(up.seen).toHaveLength(4);
    for (const s of up.seen) {
      expect(s).toMatchObject({ transport: 'udp', rd: 1, cd: 0, opt: { udpSize: 1232, doFlag: false, options: 0 } });
    }
    // RFC 5452: the upstream never sees the client's ID, and IDs vary.
    expect(up.seen.some((s) => s.id !== 0x1234)).toBe(true);
    expect(new Set(up.seen.map((s) => s.id)).size).toBeGreaterThan(1);
    expect(h.cache).toEqual(['miss', 'miss', 'miss', 'miss']);
  });

  it("echoes the client's question case, and copies CD and DO upstream", async () => {
    const up = await upstreamWith(standard);
    const h = forwarder({ upstreams: [up] });
    const r = await h.ask('WwW.ExAmPlE.OrG', 'A', { cd: true, edns: { dnssecOk: true } });
    expect(r.questions[0]!.name).toBe('WwW.ExAmPlE.OrG');
    expect(r.answers[0]!.name).toBe('WwW.ExAmPlE.OrG');
    expect((r.header as unknown as { cd: number }).cd).toBe(1);
    expect(up.seen[0]).toMatchObject({ name: 'www.example.org', cd: 1, opt: { doFlag: true } });
  });

  it("drops the upstream's OPT, and adds ours only when the client sent one", async () => {
    const up = await upstreamWith(standard);
    const h = forwarder({ upstreams: [up] });
    const plain = await h.ask('www.example.org', 'A');
    expect(plain.additionals).toHaveLength(0);
    const withOpt = await h.ask('www.example.org', 'A', { edns: { udpSize: 4096, dnssecOk: false } });
    expect(withOpt.additionals).toHaveLength(1);
    expect(withOpt.additionals[0]).toMatchObject({ type: TYPE.EDNS, class: 1232, doFlag: false, rdata: [] });
  });

  it('retries over TCP when the UDP reply is truncated (RFC 7766), and truncates for a small client', async () => {
    const many = Array.from({ length: 60 }, (_, i) => A(`10.0.${i >> 8}.${i & 0xff}`));
    const up = await upstreamWith((x) => {
      if (x.transport === 'udp') x.send(answer(x.query, { tc: true }));
      else x.send(answer(x.query, { answers: many }));
    });
    const h = forwarder({ upstreams: [up] });
    const full = await h.ask('big.example.org', 'A');
    expect(full.header.tc).toBe(0);
    expect(full.answers).toHaveLength(60);
    expect(up.seen.map((s) => s.transport)).toEqual(['udp', 'tcp']);
    // The same data for a client that takes 512 octets: question only, TC set, from the cache.
    const small = await h.ask('big.example.org', 'A', {}, 512);
    expect(small.header).toMatchObject({ tc: 1, ancount: 0 });
    expect(up.seen).toHaveLength(2);
  });

  it('fails over to the next upstream when one times out', async () => {
    const dead = await upstreamWith(silent);
    const live = await upstreamWith(standard);
    const h = forwarder({ upstreams: [dead, live], tryTimeoutMs: 100 });
    const r = await h.ask('www.example.org');
    expect(r.answers[0]).toMatchObject({ address: '192.0.2.10' });
    expect(dead.seen).toHaveLength(1);
    expect(live.seen).toHaveLength(1);
    expect(h.events.map((e) => [e.upstream, e.ok, e.reason])).toEqual([
      [`127.0.0.1:${dead.port}`, false, 'timeout'],
      [`127.0.0.1:${live.port}`, true, undefined],
    ]);
  });

  it('fails over at once when the upstream port is closed (ICMP unreachable on a connected socket)', async () => {
    const closed = await FakeUpstream.start(silent);
    await closed.close();
    const live = await upstreamWith(standard);
    const h = forwarder({ upstreams: [closed, live], tryTimeoutMs: 5000 });
    const started = Date.now();
    const r = await h.ask('www.example.org');
    expect(r.answers).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(h.events[0]).toMatchObject({ ok: false, reason: 'ECONNREFUSED' });
  });

  it('counts SERVFAIL as a failure and asks the next upstream', async () => {
    const broken = await upstreamWith((x) => x.send(answer(x.query, { rcode: Rcode.SERVFAIL })));
    const live = await upstreamWith(standard);
    const h = forwarder({ upstreams: [broken, live] });
    const r = await h.ask('www.example.org');
    expect(r.header.rcode).toBe(0);
    expect(h.events.map((e) => [e.ok, e.rcode, e.reason])).toEqual([
      [false, Rcode.SERVFAIL, 'SERVFAIL'],
      [true, 0, undefined],
    ]);
  });

  it('marks an upstream down after maxFailures, skips it, and probes it back up with . IN NS', async () => {
    const flaky = await upstreamWith(silent);
    const live = await upstreamWith(standard);
    const h = forwarder({ upstreams: [flaky, live], tryTimeoutMs: 80, maxFailures: 2, healthCheckIntervalMs: 40 });
    await h.ask('a.example.org');
    expect(h.forwarder.isDown(flaky.upstream)).toBe(false);
    await h.ask('b.example.org');
    expect(h.forwarder.isDown(flaky.upstream)).toBe(true);
    // Skipped now: the query goes straight to the healthy one.
    const before = flaky.count({ name: 'c.example.org' });
    await h.ask('c.example.org');
    expect(flaky.count({ name: 'c.example.org' })).toBe(before);
    // Probes go out while it is down.
    await until(() => flaky.count({ name: '' }) >= 2);
    expect(flaky.seen.filter((s) => s.name === '').every((s) => s.type === TYPE.NS)).toBe(true);
    expect(h.forwarder.isDown(flaky.upstream)).toBe(true);
    // It recovers: a probe marks it up, and it gets queries again.
    flaky.handler = standard;
    await until(() => !h.forwarder.isDown(flaky.upstream));
    await h.ask('d.example.org');
    expect(flaky.count({ name: 'd.example.org' })).toBe(1);
    expect(h.events.some((e) => e.kind === 'probe' && e.ok)).toBe(true);
  });

  it('still tries an upstream when all are down, and recovers when it answers', async () => {
    const only = await upstreamWith(silent);
    const h = forwarder({ upstreams: [only], tryTimeoutMs: 60, maxFailures: 1, healthCheckIntervalMs: 10_000 });
    expect((await h.ask('a.example.org')).header.rcode).toBe(Rcode.SERVFAIL);
    expect(h.forwarder.isDown(only.upstream)).toBe(true);
    only.handler = standard;
    const r = await h.ask('b.example.org');
    expect(r.header.rcode).toBe(0);
    expect(h.forwarder.isDown(only.upstream)).toBe(false);
  });

  it('answers SERVFAIL with RA and the question when every upstream fails and nothing is cached', async () => {
    const dead = await upstreamWith(silent);
    const h = forwarder({ upstreams: [dead], tryTimeoutMs: 60 });
    const r = await h.ask('Nothing.Example.org', 'A', { edns: {} });
    expect(r.header).toMatchObject({ rcode: Rcode.SERVFAIL, ra: 1, qr: 1 });
    expect(r.questions[0]!.name).toBe('Nothing.Example.org');
    expect(r.additionals.map((x) => x.type)).toEqual([TYPE.EDNS]);
  });

  it('says why every upstream failed, as an Extended DNS Error (RFC 8914): 22 when none answered, 23 when the port was closed', async () => {
    const reason = async (upstream: FakeUpstream) => {
      const h = forwarder({ upstreams: [upstream], tryTimeoutMs: 200 });
      const bytes = await h.forwarder.forward(query('why.example.org', 'A', { edns: {} }), 65535, 1232);
      expect(parseReply(bytes).header.rcode).toBe(Rcode.SERVFAIL);
      const at = bytes.indexOf('no upstream answered');
      return at < 0 ? undefined : { code: bytes.readUInt16BE(at - 2), text: bytes.subarray(at).toString() };
    };
    expect(await reason(await upstreamWith(silent))).toMatchObject({ code: 22, text: expect.stringMatching(/: timeout$/) });
    const closed = await FakeUpstream.start(silent);
    await closed.close();
    expect(await reason(closed)).toMatchObject({ code: 23, text: expect.stringMatching(/ECONNREFUSED$/) });
  });

  it('answers from the cache with TTLs counted down', async () => {
    const up = await upstreamWith(standard);
    const h = forwarder({ upstreams: [up] });
    expect((await h.ask('www.example.org')).answers[0]!.ttl).toBe(300);
    h.clock.advance(42.5);
    const r = await h.ask('WWW.example.org', 'A', { id: 999 });
    expect(r.answers[0]!.ttl).toBe(258);
    expect(r.questions[0]!.name).toBe('WWW.example.org');
    expect(up.seen).toHaveLength(1);
    expect(h.cache).toEqual(['miss', 'hit']);
    expect(h.forwarder.cacheSize.entries).toBe(1);
    expect(h.forwarder.cacheSize.bytes).toBeGreaterThan(0);
    // DO=1 is another question as far as the cache goes.
    await h.ask('www.example.org', 'A', { edns: { dnssecOk: true } });
    expect(up.seen).toHaveLength(2);
  });

  it('does not cache TTL-0 answers', async () => {
    const up = await upstreamWith((x) => x.send(answer(x.query, { answers: [A('192.0.2.1', 0)] })));
    const h = forwarder({ upstreams: [up] });
    await h.ask('zero.example.org');
    await h.ask('zero.example.org');
    expect(up.seen).toHaveLength(2);
    expect(h.forwarder.cacheSize.entries).toBe(0);
  });

  it('caches NXDOMAIN for the SOA minimum (RFC 2308 §5), and no longer than the cap', async () => {
    const up = await upstreamWith((x) =>
      x.send(answer(x.query, { rcode: Rcode.NXDOMAIN, authorities: [SOA('example.org', 3600, x.query.questions[0]!.name.startsWith('long') ? 7200 : 60)] })),
    );
    const h = forwarder({ upstreams: [up], cache: { maxNegativeTtlSeconds: 300 } });
    const first = await h.ask('nope.example.org');
    expect(first.header.rcode).toBe(Rcode.NXDOMAIN);
    expect(first.authorities[0]).toMatchObject({ type: TYPE.SOA, ttl: 3600 });
    h.clock.advance(59);
    const cached = await h.ask('nope.example.org');
    expect(cached.header.rcode).toBe(Rcode.NXDOMAIN);
    expect(cached.authorities[0]!.ttl).toBe(3541);
    expect(up.count({ name: 'nope.example.org' })).toBe(1);
    h.clock.advance(1);
    await h.ask('nope.example.org');
    expect(up.count({ name: 'nope.example.org' })).toBe(2);

    await h.ask('long.example.org');
    h.clock.advance(299);
    await h.ask('long.example.org');
    expect(up.count({ name: 'long.example.org' })).toBe(1);
    h.clock.advance(1);
    await h.ask('long.example.org');
    expect(up.count({ name: 'long.example.org' })).toBe(2);
  });

  it('serves stale answers with TTL 30 when every upstream fails, within the window, then SERVFAIL (RFC 8767)', async () => {
    const up = await upstreamWith((x) => x.send(answer(x.query, { answers: [A('192.0.2.7', 10)] })));
    const h = forwarder({ upstreams: [up], tryTimeoutMs: 60, cache: { staleSeconds: 100 } });
    await h.ask('www.example.org');
    up.handler = silent;
    h.clock.advance(10);
    const stale = await h.ask('www.example.org');
    expect(stale.header.rcode).toBe(0);
    expect(stale.answers[0]).toMatchObject({ address: '192.0.2.7', ttl: 30 });
    expect(up.seen).toHaveLength(2);
    h.clock.advance(95);
    expect((await h.ask('www.example.org')).answers[0]).toMatchObject({ ttl: 30 });
    h.clock.advance(5); // 110 s after the answer: 10 s TTL + 100 s window are over
    const gone = await h.ask('www.example.org');
    expect(gone.header.rcode).toBe(Rcode.SERVFAIL);
    expect(h.cache).toEqual(['miss', 'stale', 'stale', 'miss']);
  });

  it('ignores replies with the wrong ID, the wrong question or from another port, and takes the right one', async () => {
    const up = await upstreamWith(async (x) => {
      const good = answer(x.query, { answers: [A('192.0.2.1')] });
      x.send(answer(x.query, { id: (x.query.header.id + 1) & 0xffff, answers: [A('6.6.6.6')] }));
      x.send(answer(x.query, { name: 'www.example.evil', answers: [A('6.6.6.7')] }));
      await x.sendFromElsewhere(good);
      await new Promise((r) => setTimeout(r, 20));
      x.send(good);
    });
    const h = forwarder({ upstreams: [up], tryTimeoutMs: 1000 });
    const r = await h.ask('www.example.org');
    expect(r.answers.map((a) => (a as unknown as { address: string }).address)).toEqual(['192.0.2.1']);
    expect(h.events).toHaveLength(1);
    expect(h.events[0]!.ok).toBe(true);
  });

  it('sends one upstream query for many identical concurrent questions', async () => {
    const up = await upstreamWith(async (x) => {
      await new Promise((r) => setTimeout(r, 80));
      standard(x);
    });
    // The delay keeps the 20 questions in flight together; the try timeout is far above it, so a
    // loaded machine cannot turn the one upstream answer into a SERVFAIL (seen at the 150 ms default).
    const h = forwarder({ upstreams: [up], tryTimeoutMs: 5000 });
    const names = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'WWW.example.ORG' : 'www.example.org'));
    const replies = await Promise.all(names.map((n, i) => h.forwarder.forward(query(n, 'A', { id: 1000 + i }), 512, 1232)));
    expect(up.seen).toHaveLength(1);
    replies.forEach((bytes, i) => {
      const p = parseReply(bytes);
      expect(p.header.id).toBe(1000 + i);
      expect(p.questions[0]!.name).toBe(names[i]);
      expect(p.answers).toHaveLength(1);
    });
  });

  it('picks the most specific route (per-domain forwarding)', async () => {
    const general = await upstreamWith(standard);
    const corp = await upstreamWith(standard);
    const lab = await upstreamWith(standard);
    const h = forwarder({
      routes: [
        { zone: '', upstreams: [general.upstream] },
        { zone: 'lab.corp.test', upstreams: [lab.upstream] },
        { zone: 'corp.test', upstreams: [corp.upstream] },
      ],
    });
    await h.ask('www.example.org');
    await h.ask('git.corp.test');
    await h.ask('Corp.Test');
    await h.ask('x.lab.corp.test');
    await h.ask('notcorp.test');
    expect(general.seen.map((s) => s.name)).toEqual(['www.example.org', 'notcorp.test']);
    expect(corp.seen.map((s) => s.name)).toEqual(['git.corp.test', 'corp.test']);
    expect(lab.seen.map((s) => s.name)).toEqual(['x.lab.corp.test']);
  });

  it('answers REFUSED for a name no route covers', async () => {
    const up = await upstreamWith(standard);
    const h = forwarder({ routes: [{ zone: 'corp.test', upstreams: [up.upstream] }] });
    expect(h.forwarder.handles('www.example.org')).toBe(false);
    expect((await h.ask('www.example.org')).header.rcode).toBe(Rcode.REFUSED);
    expect(up.seen).toHaveLength(0);
  });

  it('spreads queries over the healthy upstreams with the random policy', async () => {
    const one = await upstreamWith(standard);
    const two = await upstreamWith(standard);
    const h = forwarder({ upstreams: [one, two], policy: 'random' });
    for (let i = 0; i < 30; i++) await h.ask(`n${i}.example.org`);
    expect(one.seen.length + two.seen.length).toBe(30);
    expect(one.seen.length).toBeGreaterThan(2);
    expect(two.seen.length).toBeGreaterThan(2);
  });

  it('forwards to an IPv6 upstream', async (ctx) => {
    let up: FakeUpstream;
    try {
      up = await upstreamWith(standard, '::1');
    } catch {
      ctx.skip();
      return;
    }
    const h = forwarder({ upstreams: [up] });
    const r = await h.ask('www.example.org');
    expect(r.answers).toHaveLength(1);
  });

  it('rejects hostnames as upstreams, and close() ends queries in flight', async () => {
    expect(() => forwarder({ routes: [{ zone: '', upstreams: [{ host: 'dns.example', port: 53 }] }] })).toThrow(/not an IP/);
    const dead = await upstreamWith(silent);
    const h = forwarder({ upstreams: [dead], tryTimeoutMs: 10_000 });
    const pending = h.forwarder.forward(query('www.example.org', 'A'), 512, 1232);
    await until(() => dead.seen.length === 1);
    const started = Date.now();
    await h.forwarder.close();
    const p = parseReply(await pending);
    expect(p.header.rcode).toBe(Rcode.SERVFAIL);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('sameEndpoint', () => {
  it('matches the address and port, whatever the IPv6 spelling', () => {
    expect(sameEndpoint({ address: '127.0.0.1', port: 53 }, { host: '127.0.0.1', port: 53 })).toBe(true);
    expect(sameEndpoint({ address: '127.0.0.1', port: 5353 }, { host: '127.0.0.1', port: 53 })).toBe(false);
    expect(sameEndpoint({ address: '127.0.0.2', port: 53 }, { host: '127.0.0.1', port: 53 })).toBe(false);
    expect(sameEndpoint({ address: '2001:db8::1', port: 53 }, { host: '2001:DB8:0:0::1', port: 53 })).toBe(true);
    expect(sameEndpoint({ address: '2001:db8::2', port: 53 }, { host: '2001:db8::1', port: 53 })).toBe(false);
  });
});
