import dns2 from 'dns2';
import { describe, expect, it } from 'vitest';
import { buildQuery, parseReply, TYPE } from '../../test/support/packets.js';
import { Flag, Rcode, RRType } from '../dns/constants.js';
import { decodeQuery, type Query } from './query.js';
import { buildUpstreamQuery, inspectUpstreamReply, relayToClient, type ExpectedReply, type StoredReply, type UpstreamReply } from './relay.js';

const { Packet } = dns2;

function query(name: string, type: string, extra: { id?: number; edns?: { udpSize?: number; dnssecOk?: boolean }; cd?: boolean; ad?: boolean } = {}): Query {
  const bytes = buildQuery({ name, type, id: extra.id ?? 0x4242, edns: extra.edns });
  if (extra.cd) bytes.writeUInt16BE(bytes.readUInt16BE(2) | Flag.CD, 2);
  if (extra.ad) bytes.writeUInt16BE(bytes.readUInt16BE(2) | Flag.AD, 2);
  const d = decodeQuery(bytes);
  if (d.kind !== 'query') throw new Error(`not a query: ${JSON.stringify(d)}`);
  return d.query;
}

interface ReplySpec {
  id?: number;
  name?: string;
  type?: number;
  qclass?: number;
  rcode?: number;
  tc?: boolean;
  aa?: boolean;
  ad?: boolean;
  answers?: object[];
  authorities?: object[];
  additionals?: object[];
  /** Upstream OPT; `after` adds records after it (some servers do not put OPT last). */
  opt?: { udpSize?: number; doFlag?: boolean; extendedRcode?: number; ecs?: string };
  afterOpt?: object[];
}

/** An upstream reply encoded by dns2, independently of our writer. */
function upstream(spec: ReplySpec = {}): Buffer {
  const p = new Packet();
  p.header = new Packet.Header({
    id: spec.id ?? 777,
    qr: 1,
    rd: 1,
    ra: 1,
    aa: spec.aa ? 1 : 0,
    ad: spec.ad ? 1 : 0,
    tc: spec.tc ? 1 : 0,
    rcode: spec.rcode ?? 0,
  } as never);
  p.questions.push({ name: spec.name ?? 'www.example.test', type: spec.type ?? TYPE.A!, class: spec.qclass ?? 1 } as never);
  for (const r of spec.answers ?? []) p.answers.push(r as never);
  for (const r of spec.authorities ?? []) p.authorities.push(r as never);
  for (const r of spec.additionals ?? []) p.additionals.push(r as never);
  if (spec.opt) {
    const rdata = spec.opt.ecs ? [Packet.Resource.EDNS.ECS(spec.opt.ecs)] : [];
    const edns = Packet.Resource.EDNS(rdata as never, {
      udpPayloadSize: spec.opt.udpSize ?? 4096,
      doFlag: spec.opt.doFlag ?? false,
      extendedRcode: spec.opt.extendedRcode ?? 0,
    } as never);
    p.additionals.push(Object.assign(edns, { name: '' }) as never);
  }
  for (const r of spec.afterOpt ?? []) p.additionals.push(r as never);
  return p.toBuffer();
}

const A = (name: string, address: string, ttl = 300) => ({ name, type: TYPE.A, class: 1, ttl, address });
const AAAA = (name: string, address: string, ttl = 300) => ({ name, type: TYPE.AAAA, class: 1, ttl, address });
const SOA = (name: string, ttl: number, minimum: number) => ({
  name,
  type: TYPE.SOA,
  class: 1,
  ttl,
  primary: 'ns1.example.test',
  admin: 'hostmaster.example.test',
  serial: 2026010101,
  refresh: 3600,
  retry: 600,
  expiration: 86400,
  minimum,
});

const expectA: ExpectedReply = { id: 777, name: 'www.example.test', type: RRType.A, class: 1 };

/** dns2's typings lack the AD and CD bits its parser sets. */
const bits = (p: { header: object }) => p.header as { ad: number; cd: number };

function inspected(bytes: Buffer, expect = expectA): StoredReply {
  const info = inspectUpstreamReply(bytes, expect);
  if ('error' in info) throw new Error(info.error);
  return { bytes, info };
}

describe('buildUpstreamQuery', () => {
  it('asks with our ID, RD, the client CD, the canonical question and only our OPT (RFC 5452, RFC 6891)', () => {
    // The client sends a client-subnet option: it must not travel upstream.
    const client = new Packet();
    client.header.id = 1;
    client.header.rd = 0;
    bits(client).cd = 1;
    client.questions.push({ name: 'WwW.Example.TEST', type: TYPE.MX, class: 1 } as never);
    const edns = Packet.Resource.EDNS([Packet.Resource.EDNS.ECS('192.0.2.0/24')] as never, { udpPayloadSize: 4096, doFlag: true } as never);
    client.additionals.push(Object.assign(edns, { name: '' }) as never);
    const d = decodeQuery(client.toBuffer());
    if (d.kind !== 'query') throw new Error('not a query');

    const bytes = buildUpstreamQuery(d.query, 0xbeef, 1232);
    const p = parseReply(bytes);
    expect(p.header).toMatchObject({ id: 0xbeef, qr: 0, rd: 1, cd: 1, opcode: 0, qdcount: 1, ancount: 0, nscount: 0, arcount: 1 });
    expect(p.questions).toEqual([{ name: 'www.example.test', type: TYPE.MX, class: 1 }]);
    const opt = p.additionals[0] as unknown as { type: number; class: number; doFlag: boolean; version: number; rdata: unknown[] };
    expect(opt).toMatchObject({ type: TYPE.EDNS, class: 1232, doFlag: true, version: 0 });
    expect(opt.rdata).toEqual([]);
    // Exactly header + name + type/class + 11-octet OPT: no options at all.
    expect(bytes.length).toBe(12 + 18 + 4 + 11);
  });

  it('sends an OPT with DO clear when the client had no EDNS, and no CD when the client had none', () => {
    const p = parseReply(buildUpstreamQuery(query('a.example', 'AAAA'), 1, 1232));
    expect(bits(p).cd).toBe(0);
    expect(p.additionals[0]).toMatchObject({ type: TYPE.EDNS, class: 1232, doFlag: false });
  });
});

describe('inspectUpstreamReply', () => {
  it('accepts the reply to our question, any letter case, and notes TTL offsets and minima', () => {
    const bytes = upstream({
      name: 'WWW.example.TEST',
      answers: [A('www.example.test', '192.0.2.1', 300), A('www.example.test', '192.0.2.2', 120)],
      authorities: [{ name: 'example.test', type: TYPE.NS, class: 1, ttl: 3600, ns: 'ns1.example.test' }],
      additionals: [A('ns1.example.test', '192.0.2.53', 60)],
      opt: { udpSize: 1232 },
    });
    const info = inspectUpstreamReply(bytes, expectA) as UpstreamReply;
    expect('error' in info).toBe(false);
    expect(info).toMatchObject({ rcode: 0, kind: 'positive', truncated: false, answerCount: 2, authorityCount: 1, additionalCount: 1 });
    expect(info.answerMinTtl).toBe(120);
    expect(info.minTtl).toBe(60);
    expect(info.negativeTtl).toBeUndefined();
    expect([...info.ttlOffsets].map((at) => bytes.readUInt32BE(at))).toEqual([300, 120, 3600, 60]);
    // The OPT is last: kept bytes end where it starts, and it runs to the end of the message.
    expect(info.opt).toEqual({ offset: info.end, length: 11 });
    expect(info.end + 11).toBe(bytes.length);
  });

  it('discards anything that is not the reply to our question (RFC 5452 §9.1)', () => {
    const good = upstream({ answers: [A('www.example.test', '192.0.2.1')] });
    expect('error' in inspectUpstreamReply(good, expectA)).toBe(false);
    const cases: [string, Buffer, typeof expectA, string][] = [
      ['wrong ID', good, { ...expectA, id: 778 }, 'ID 777 is not the one sent'],
      ['other name', upstream({ name: 'www.example.evil' }), expectA, 'question name differs from the one sent'],
      ['other type', upstream({ type: TYPE.AAAA }), expectA, 'question type or class differs from the one sent'],
      ['other class', upstream({ qclass: 3 }), expectA, 'question type or class differs from the one sent'],
      ['a query, not a response', Buffer.from(good).fill(0, 2, 3), expectA, 'QR not set: not a response'],
      ['no question', (() => { const b = Buffer.from(good.subarray(0, 12)); b.writeUInt16BE(0, 4); b.writeUInt16BE(0, 6); return b; })(), expectA, 'QDCOUNT is 0'],
      ['shorter than a header', good.subarray(0, 11), expectA, 'shorter than a DNS header'],
      ['cut in the answer', good.subarray(0, good.length - 2), expectA, 'record 0: RDATA runs past the end'],
    ];
    for (const [what, bytes, expect_, error] of cases) {
      expect(inspectUpstreamReply(bytes, expect_), what).toEqual({ error });
    }
  });

  it('computes the RFC 2308 §5 negative TTL as min(SOA TTL, MINIMUM) for NXDOMAIN and NODATA', () => {
    const nx = inspectUpstreamReply(upstream({ rcode: Rcode.NXDOMAIN, authorities: [SOA('example.test', 900, 60)] }), expectA) as UpstreamReply;
    expect(nx).toMatchObject({ kind: 'nxdomain', rcode: 3, negativeTtl: 60 });
    const nodata = inspectUpstreamReply(upstream({ authorities: [SOA('example.test', 45, 600)] }), expectA) as UpstreamReply;
    expect(nodata).toMatchObject({ kind: 'nodata', rcode: 0, negativeTtl: 45 });
    const bare = inspectUpstreamReply(upstream({ rcode: Rcode.NXDOMAIN }), expectA) as UpstreamReply;
    expect(bare).toMatchObject({ kind: 'nxdomain', negativeTtl: undefined });
    const sf = inspectUpstreamReply(upstream({ rcode: Rcode.SERVFAIL }), expectA) as UpstreamReply;
    expect(sf.kind).toBe('servfail');
    const refused = inspectUpstreamReply(upstream({ rcode: Rcode.REFUSED }), expectA) as UpstreamReply;
    expect(refused.kind).toBe('other');
  });

  it('reads a truncated reply without its sections, and reports TC', () => {
    const bytes = upstream({ tc: true, answers: [A('www.example.test', '192.0.2.1')] });
    const info = inspectUpstreamReply(bytes.subarray(0, bytes.length - 3), expectA) as UpstreamReply;
    expect(info).toMatchObject({ truncated: true, answerCount: 0, end: info.questionEnd });
  });

  it('rejects a second OPT, and drops records that follow the OPT', () => {
    const two = upstream({ opt: {}, afterOpt: [Object.assign(Packet.Resource.EDNS([], {}) as object, { name: '' })] });
    expect(inspectUpstreamReply(two, expectA)).toEqual({ error: 'more than one OPT record' });
    const after = upstream({ answers: [A('www.example.test', '192.0.2.1')], opt: { ecs: '10.0.0.0/8' }, afterOpt: [A('x.example.test', '192.0.2.9')] });
    const info = inspectUpstreamReply(after, expectA) as UpstreamReply;
    expect(info.additionalCount).toBe(0);
    expect(info.ttlOffsets).toHaveLength(1);
    // 11 octets of OPT plus its client-subnet option (4 + family, two prefix lengths and the
    // one address octet of a /8, RFC 7871 §6).
    expect(info.opt!.length).toBe(11 + 9);
    expect(info.end).toBe(info.opt!.offset);
    // The A record after the OPT is in the message, but not in what is kept.
    expect(info.opt!.offset + info.opt!.length).toBeLessThan(after.length);
  });

  it('reads the extended RCODE from the OPT (RFC 6891 §6.1.3)', () => {
    const info = inspectUpstreamReply(upstream({ rcode: 0, opt: { extendedRcode: 1 } }), expectA) as UpstreamReply;
    expect(info.rcode).toBe(16);
  });
});

describe('relayToClient', () => {
  const stored = inspected(
    upstream({
      aa: true,
      answers: [A('www.example.test', '192.0.2.1', 300), A('www.example.test', '192.0.2.2', 100)],
      authorities: [{ name: 'example.test', type: TYPE.NS, class: 1, ttl: 3600, ns: 'ns1.example.test' }],
      additionals: [A('ns1.example.test', '192.0.2.53', 3600)],
      opt: { udpSize: 4096, ecs: '192.0.2.0/24' },
    }),
  );

  it('answers with the client ID, its question spelling, RA, RD/CD copied and TTLs counted down', () => {
    const q = query('WwW.ExAmPlE.test', 'A', { id: 31337, cd: true });
    const bytes = relayToClient(stored, q, { ageSeconds: 30.7, maxSize: 512, advertisedUdpSize: 1232 });
    const p = parseReply(bytes);
    expect(p.header).toMatchObject({ id: 31337, qr: 1, aa: 0, rd: 1, ra: 1, cd: 1, tc: 0, rcode: 0 });
    expect(p.questions[0]!.name).toBe('WwW.ExAmPlE.test');
    // dns2 compressed the owner names to the question: they follow the client's case too.
    expect(p.answers.map((r) => [r.name, r.ttl])).toEqual([
      ['WwW.ExAmPlE.test', 270],
      ['WwW.ExAmPlE.test', 70],
    ]);
    expect(p.authorities[0]!.ttl).toBe(3570);
    expect(p.additionals.map((r) => [r.type, r.ttl])).toEqual([[TYPE.A, 3570]]);
    // The stored bytes are untouched: the next client gets its own copy.
    expect(stored.bytes.readUInt16BE(0)).toBe(777);
  });

  it('floors TTLs at 0 and sets every TTL to the stale TTL when serving stale (RFC 8767 §4)', () => {
    const q = query('www.example.test', 'A');
    const old = parseReply(relayToClient(stored, q, { ageSeconds: 200, maxSize: 512, advertisedUdpSize: 1232 }));
    expect(old.answers.map((r) => r.ttl)).toEqual([100, 0]);
    const stale = parseReply(relayToClient(stored, q, { ageSeconds: 5000, maxSize: 512, advertisedUdpSize: 1232, staleTtl: 30 }));
    expect([...stale.answers, ...stale.authorities, ...stale.additionals].map((r) => r.ttl)).toEqual([30, 30, 30, 30]);
  });

  it("drops the upstream's OPT and adds ours only when the client sent one, with its DO (RFC 6891 §7)", () => {
    const plain = parseReply(relayToClient(stored, query('www.example.test', 'A'), { ageSeconds: 0, maxSize: 512, advertisedUdpSize: 1232 }));
    expect(plain.additionals.filter((r) => r.type === TYPE.EDNS)).toHaveLength(0);
    expect(plain.header.arcount).toBe(1);
    const withDo = parseReply(
      relayToClient(stored, query('www.example.test', 'A', { edns: { udpSize: 4096, dnssecOk: true } }), { ageSeconds: 0, maxSize: 4096, advertisedUdpSize: 1232 }),
    );
    const opts = withDo.additionals.filter((r) => r.type === TYPE.EDNS) as unknown as { class: number; doFlag: boolean; rdata: unknown[] }[];
    expect(opts).toHaveLength(1);
    expect(opts[0]).toMatchObject({ class: 1232, doFlag: true, rdata: [] });
    expect(withDo.additionals).toHaveLength(2);
  });

  it('carries the extended RCODE in our OPT', () => {
    const s = inspected(upstream({ opt: { extendedRcode: 1 } }));
    const bytes = relayToClient(s, query('www.example.test', 'A', { edns: {} }), { ageSeconds: 0, maxSize: 512, advertisedUdpSize: 1232 });
    expect(parseReply(bytes).header.rcode).toBe(16);
  });

  it('keeps AD only for a client that asked for DNSSEC (RFC 6840 §5.7)', () => {
    const s = inspected(upstream({ ad: true, answers: [A('www.example.test', '192.0.2.1')] }));
    const opts = { ageSeconds: 0, maxSize: 512, advertisedUdpSize: 1232 };
    expect(bits(parseReply(relayToClient(s, query('www.example.test', 'A'), opts))).ad).toBe(0);
    expect(bits(parseReply(relayToClient(s, query('www.example.test', 'A', { edns: { dnssecOk: true } }), opts))).ad).toBe(1);
    expect(bits(parseReply(relayToClient(s, query('www.example.test', 'A', { ad: true }), opts))).ad).toBe(1);
  });

  it('drops the additional section first, then truncates to the question with TC', () => {
    const answers = Array.from({ length: 15 }, (_, i) => AAAA('big.example.test', `2001:db8::${i + 1}`));
    const glue = Array.from({ length: 10 }, (_, i) => A(`ns${i}.example.test`, `192.0.2.${i}`));
    const s = inspected(upstream({ name: 'big.example.test', type: TYPE.AAAA, answers, additionals: glue, opt: {} }), {
      ...expectA,
      name: 'big.example.test',
      type: RRType.AAAA,
    });
    const q = query('big.example.test', 'AAAA', { edns: { udpSize: 1232 } });
    const full = relayToClient(s, q, { ageSeconds: 0, maxSize: 65535, advertisedUdpSize: 1232 });
    expect(parseReply(full).answers).toHaveLength(15);
    expect(parseReply(full).additionals).toHaveLength(11);
    // Answers alone fit in 600 octets, answers plus glue do not.
    expect(full.length).toBeGreaterThan(600);
    const noGlue = relayToClient(s, q, { ageSeconds: 0, maxSize: 600, advertisedUdpSize: 1232 });
    expect(noGlue.length).toBeLessThanOrEqual(600);
    const p1 = parseReply(noGlue);
    expect(p1.header.tc).toBe(0);
    expect(p1.answers).toHaveLength(15);
    expect(p1.additionals.map((r) => r.type)).toEqual([TYPE.EDNS]);
    const tc = relayToClient(s, q, { ageSeconds: 0, maxSize: 400, advertisedUdpSize: 1232 });
    expect(tc.length).toBeLessThanOrEqual(400);
    const p2 = parseReply(tc);
    expect(p2.header).toMatchObject({ tc: 1, ancount: 0, nscount: 0, arcount: 1 });
    expect(p2.questions[0]!.name).toBe('big.example.test');
  });

  it('relays MX and TXT data byte for byte', () => {
    const mx = inspected(
      upstream({ type: TYPE.MX, answers: [{ name: 'www.example.test', type: TYPE.MX, class: 1, ttl: 60, exchange: 'mail.example.test', priority: 10 }] }),
      { ...expectA, type: RRType.MX },
    );
    const pm = parseReply(relayToClient(mx, query('www.example.test', 'MX'), { ageSeconds: 1, maxSize: 512, advertisedUdpSize: 1232 }));
    expect(pm.answers[0]).toMatchObject({ exchange: 'mail.example.test', priority: 10, ttl: 59 });
    const txt = inspected(upstream({ type: TYPE.TXT, answers: [{ name: 'www.example.test', type: TYPE.TXT, class: 1, ttl: 60, data: ['hello', 'world'] }] }), {
      ...expectA,
      type: RRType.TXT,
    });
    const pt = parseReply(relayToClient(txt, query('www.example.test', 'TXT'), { ageSeconds: 0, maxSize: 512, advertisedUdpSize: 1232 }));
    expect((pt.answers[0] as unknown as { data: string[] }).data).toEqual(['hello', 'world']);
  });
});

describe('never throws on garbage', () => {
  // A small deterministic PRNG, so a failure can be reproduced.
  let seed = 0x9e3779b9;
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };

  it('inspectUpstreamReply and relayToClient survive random bytes and mutated replies', () => {
    const base = upstream({
      answers: [A('www.example.test', '192.0.2.1'), { name: 'www.example.test', type: TYPE.MX, class: 1, ttl: 60, exchange: 'mail.example.test', priority: 10 }],
      authorities: [SOA('example.test', 60, 30)],
      additionals: [A('mail.example.test', '192.0.2.25')],
      opt: { ecs: '192.0.2.0/24' },
    });
    const q = query('www.example.test', 'A', { edns: {} });
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      let bytes: Buffer;
      if (i % 4 === 0) {
        bytes = Buffer.alloc(rand(80));
        for (let j = 0; j < bytes.length; j++) bytes[j] = rand(256);
        if (bytes.length >= 12) {
          bytes.writeUInt16BE(777, 0); // get past the ID check now and then
          bytes[2]! |= 0x80;
        }
      } else {
        bytes = Buffer.from(base.subarray(0, base.length - (i % 7 === 0 ? rand(base.length) : 0)));
        const flips = 1 + rand(4);
        for (let f = 0; f < flips; f++) bytes[12 + rand(bytes.length - 12)] = rand(256);
      }
      const info = inspectUpstreamReply(bytes, expectA);
      if ('error' in info) continue;
      accepted++;
      for (const maxSize of [512, 100, 65535]) {
        const out = relayToClient({ bytes, info }, q, { ageSeconds: rand(100), maxSize, advertisedUdpSize: 1232 });
        expect(out.length).toBeLessThanOrEqual(Math.max(maxSize, info.questionEnd + 11));
        expect(out.readUInt16BE(0)).toBe(q.id);
      }
    }
    // The mutations must leave some replies valid, or this test checks nothing.
    expect(accepted).toBeGreaterThan(1000);
  });
});
