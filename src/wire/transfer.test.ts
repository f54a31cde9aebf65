import { describe, expect, it } from 'vitest';
import { buildQuery, parseReply } from '../../test/support/packets.js';
import { RRType } from '../dns/constants.js';
import type { RR } from '../dns/records.js';
import { decodeQuery, type Query } from './query.js';
import { TransferPacker, ixfrRequestSerial } from './transfer.js';

function query(message: Buffer): Query {
  const d = decodeQuery(message);
  if (d.kind !== 'query') throw new Error(`not a query: ${JSON.stringify(d)}`);
  return d.query;
}

const axfr = (edns = false) => query(buildQuery({ name: 'example.test', type: 'AXFR', id: 4321, edns: edns ? {} : undefined }));

function pack(q: Query, records: Iterable<RR>, softLimit?: number): Buffer[] {
  const packer = new TransferPacker(q, { advertisedUdpSize: 1232, softLimit });
  const out: Buffer[] = [];
  for (const rr of records) {
    const m = packer.add(rr);
    if (m) out.push(m);
  }
  const last = packer.finish();
  if (last) out.push(last);
  return out;
}

function* hosts(n: number, label = (i: number) => `host${i}.svc${i % 7}`): Generator<RR> {
  for (let i = 0; i < n; i++) yield { name: `${label(i)}.example.test`, type: RRType.A, ttl: 30, data: { type: RRType.A, address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` } };
}

describe('transfer messages', () => {
  it('packs many records to a message, every message parseable on its own, the question in the first only (RFC 5936 §2.2.1)', () => {
    const messages = pack(axfr(), hosts(5000));
    expect(messages.length).toBeGreaterThan(5);
    const names: string[] = [];
    messages.forEach((m, i) => {
      expect(m.length).toBeLessThanOrEqual(16 * 1024 + 600);
      const p = parseReply(m);
      expect(p.header).toMatchObject({ id: 4321, qr: 1, aa: 1, rcode: 0 });
      expect(p.questions.length).toBe(i === 0 ? 1 : 0);
      for (const a of p.answers) names.push(`${a.name} ${(a as { address: string }).address}`);
    });
    expect(names).toEqual([...hosts(5000)].map((r) => `${r.name} ${(r.data as { address: string }).address}`));
  });

  it('moves a record that does not fit to the next message whole, and its names are not compressed against the one it left', () => {
    // TXT records of ~8 KiB: with a soft limit above the hard one, only the 64 KiB bound cuts.
    const big = (i: number): RR => ({ name: `t${i}.example.test`, type: RRType.TXT, ttl: 30, data: { type: RRType.TXT, strings: Array.from({ length: 32 }, () => Buffer.alloc(255, 97 + (i % 26))) } });
    const records = Array.from({ length: 20 }, (_, i) => big(i));
    const messages = pack(axfr(), records, 70_000);
    expect(messages.length).toBeGreaterThan(1);
    const got: string[] = [];
    for (const m of messages) {
      expect(m.length).toBeLessThanOrEqual(0xffff);
      for (const a of parseReply(m).answers) got.push(a.name);
    }
    expect(got).toEqual(records.map((r) => r.name));
  });

  it('names the owner of an RRset\'s later records with a pointer, and SRV targets whole and uncompressed (RFC 2782)', () => {
    const srv = (i: number) => ({ type: RRType.SRV, priority: 10, weight: 0, port: 80 + i, target: `x${i}.svc.example.test` });
    const records: RR[] = [
      ...[0, 1, 2].map((i): RR => ({ name: 'svc.example.test', type: RRType.SRV, ttl: 30, data: srv(i) })),
      ...[0, 1, 2].map((i): RR => ({ name: `x${i}.svc.example.test`, type: RRType.A, ttl: 30, data: { type: RRType.A, address: `10.0.0.${i}` } })),
    ];
    const [message] = pack(axfr(), records);
    const p = parseReply(message!);
    expect(p.answers.map((a) => `${a.name} ${(a as { target?: string }).target ?? (a as { address?: string }).address}`)).toEqual([
      'svc.example.test x0.svc.example.test',
      'svc.example.test x1.svc.example.test',
      'svc.example.test x2.svc.example.test',
      'x0.svc.example.test 10.0.0.0',
      'x1.svc.example.test 10.0.0.1',
      'x2.svc.example.test 10.0.0.2',
    ]);
    // Each target in full (21 octets), never a pointer in it; each A owner a pointer to its target.
    const target = Buffer.from('\x02x0\x03svc\x07example\x04test\x00', 'latin1');
    expect(message!.indexOf(target)).toBeGreaterThan(0);
    // Header and question, 3 SRV (the first owner in full, 18 octets, the others a pointer to it;
    // type, class, TTL, RDLENGTH 10; priority, weight, port 6; the target 21), 3 A (owner 2 + 10 + 4).
    const question = 12 + 'example.test'.length + 2 + 4;
    expect(message!.length).toBe(question + 18 + 2 * 2 + 3 * (10 + 6 + 21) + 3 * (2 + 10 + 4));
  });

  it('ends every message with OPT when the request had one, and sends one message for an empty stream', () => {
    const messages = pack(axfr(true), []);
    expect(messages).toHaveLength(1);
    const p = parseReply(messages[0]!);
    expect(p.additionals.map((a) => a.type)).toEqual([RRType.OPT]);
    expect(p.answers).toEqual([]);
  });
});

describe('the serial of an IXFR request (RFC 1995 §3)', () => {
  /** What `dig IXFR=N` sends: the question and the client's SOA in the authority section. */
  function ixfr(serial: number): Buffer {
    const q = buildQuery({ name: 'example.test', type: RRType.IXFR });
    // Owner: a pointer to the question name; MNAME and RNAME: the root.
    const soa = Buffer.concat([Buffer.from([0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([0, 0]), Buffer.alloc(20)]);
    soa.writeUInt16BE(2 + 20, 10);
    soa.writeUInt32BE(serial, 14);
    const out = Buffer.concat([q, soa]);
    out.writeUInt16BE(1, 8);
    return out;
  }
  it('reads the serial, and says why when the SOA is missing or malformed', () => {
    expect(ixfrRequestSerial(query(ixfr(2026120301)))).toBe(2026120301);
    expect(ixfrRequestSerial(query(buildQuery({ name: 'example.test', type: RRType.IXFR })))).toMatch(/one SOA in the authority section/);
    // A truncated SOA does not get this far: the decoder answers FORMERR.
    const short = ixfr(7);
    expect(decodeQuery(short.subarray(0, short.length - 1))).toMatchObject({ kind: 'error', rcode: 1 });
  });
});
