import { describe, expect, it } from 'vitest';
import { buildQuery, parseReply, TYPE } from '../../test/support/packets.js';
import { Flag, Rcode, RRType } from '../dns/constants.js';
import type { RR } from '../dns/records.js';
import { txtStrings } from '../dns/records.js';
import { decodeQuery, type Query } from './query.js';
import { buildTemplate, questionSection, render, renderBare } from './response.js';

function query(name: string, type: string, extra: Parameters<typeof buildQuery>[0] extends infer O ? Partial<O> : never = {}): Query {
  const d = decodeQuery(buildQuery({ name, type, ...extra }));
  if (d.kind !== 'query') throw new Error(`not a query: ${JSON.stringify(d)}`);
  return d.query;
}

const a = (name: string, address: string, ttl = 60): RR => ({ name, type: RRType.A, ttl, data: { type: RRType.A, address } });

describe('templates and render', () => {
  const answer = [a('www.example.test', '192.0.2.1'), a('www.example.test', '192.0.2.2')];
  const template = buildTemplate({
    question: { name: 'www.example.test', type: RRType.A, class: 1 },
    rcode: Rcode.NOERROR,
    authoritative: true,
    answer,
    authority: [],
    additional: [],
  });

  it('patches ID, copies RD, sets AA and echoes the question case', () => {
    const q = query('WwW.ExAmple.test', 'A', { id: 4242 });
    const reply = parseReply(render(template, q, 512, 1232));
    expect(reply.header).toMatchObject({ id: 4242, qr: 1, aa: 1, rd: 1, tc: 0, rcode: 0 });
    expect(reply.questions[0]!.name).toBe('WwW.ExAmple.test');
    // Owner names point at the question, so they come back in the client's case too.
    expect(reply.answers.map((r) => [r.name, (r as { address?: string }).address])).toEqual([
      ['WwW.ExAmple.test', '192.0.2.1'],
      ['WwW.ExAmple.test', '192.0.2.2'],
    ]);
  });

  it('echoes OPT with our payload size and the DO bit only when the query had OPT (RFC 6891 §6.1.1, RFC 3225 §3)', () => {
    const withDo = parseReply(render(template, query('www.example.test', 'A', { edns: { udpSize: 4096, dnssecOk: true } }), 1232, 1232));
    const opt = withDo.additionals.find((r) => r.type === TYPE.EDNS) as unknown as { class: number; doFlag: boolean; version: number };
    expect(opt).toMatchObject({ class: 1232, doFlag: true, version: 0 });
    const plain = parseReply(render(template, query('www.example.test', 'A'), 512, 1232));
    expect(plain.additionals).toHaveLength(0);
  });

  it('drops the additional section before truncating, then sets TC with the question only', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({
      name: '_http._tcp.example.test',
      type: RRType.SRV,
      ttl: 30,
      data: { type: RRType.SRV, priority: 10, weight: 10, port: 8000 + i, target: `host${i}.example.test` },
    }));
    const glue = many.map((rr, i) => a((rr.data as { target: string }).target, `10.0.0.${i}`));
    const big = buildTemplate({
      question: { name: '_http._tcp.example.test', type: RRType.SRV, class: 1 },
      rcode: 0,
      authoritative: true,
      answer: many.slice(0, 12),
      authority: [],
      additional: glue.slice(0, 12),
    });
    const q = query('_http._tcp.example.test', 'SRV');
    const full = render(big, q, 0xffff, 1232);
    expect(full.length).toBeGreaterThan(512);
    const noGlue = parseReply(render(big, q, 512, 1232));
    expect(noGlue.header.tc).toBe(0);
    expect(noGlue.answers).toHaveLength(12);
    expect(noGlue.additionals).toHaveLength(0);

    const tooMany = buildTemplate({
      question: { name: '_http._tcp.example.test', type: RRType.SRV, class: 1 },
      rcode: 0,
      authoritative: true,
      answer: many,
      authority: [],
      additional: [],
    });
    const tc = render(tooMany, query('_http._tcp.example.test', 'SRV', { edns: { udpSize: 512 } }), 512, 1232);
    expect(tc.length).toBeLessThanOrEqual(512);
    const parsed = parseReply(tc);
    expect(parsed.header.tc).toBe(1);
    expect(parsed.answers).toHaveLength(0);
    expect(parsed.questions).toHaveLength(1);
    expect(parsed.additionals.map((r) => r.type)).toEqual([TYPE.EDNS]);
  });

  it('writes TXT strings over 255 octets as several character-strings that decode back', () => {
    const long = 'x'.repeat(300) + 'y'.repeat(300);
    const t = buildTemplate({
      question: { name: 'txt.example.test', type: RRType.TXT, class: 1 },
      rcode: 0,
      authoritative: true,
      answer: [{ name: 'txt.example.test', type: RRType.TXT, ttl: 5, data: { type: RRType.TXT, strings: txtStrings(long) } }],
      authority: [],
      additional: [],
    });
    const reply = parseReply(render(t, query('txt.example.test', 'TXT'), 0xffff, 1232));
    const strings = (reply.answers[0] as unknown as { data: string[] }).data;
    expect(strings.map((s) => s.length)).toEqual([255, 255, 90]);
    expect(strings.join('')).toBe(long);
  });

  it('encodes every record shape so that an independent parser reads it back', () => {
    const name = 'all.example.test';
    const rrs: RR[] = [
      a(name, '198.51.100.7'),
      { name, type: RRType.AAAA, ttl: 1, data: { type: RRType.AAAA, address: '2001:db8::1' } },
      { name, type: RRType.MX, ttl: 1, data: { type: RRType.MX, preference: 10, exchange: 'mail.example.test' } },
      { name, type: RRType.SRV, ttl: 1, data: { type: RRType.SRV, priority: 1, weight: 2, port: 3, target: 'srv.example.test' } },
      { name, type: RRType.CNAME, ttl: 1, data: { type: RRType.CNAME, target: 'c.example.test' } },
      {
        name,
        type: RRType.SOA,
        ttl: 1,
        data: { type: RRType.SOA, mname: 'ns.example.test', rname: 'hostmaster.example.test', serial: 2026112101, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 },
      },
      { name, type: RRType.CAA, ttl: 1, data: { type: RRType.CAA, flags: 0, tag: 'issue', value: Buffer.from('letsencrypt.org') } },
    ];
    const t = buildTemplate({ question: { name, type: RRType.ANY, class: 1 }, rcode: 0, authoritative: true, answer: rrs, authority: [], additional: [] });
    const reply = parseReply(render(t, query(name, 'ANY'), 0xffff, 1232));
    const got = reply.answers as unknown as Record<string, unknown>[];
    expect(got.map((r) => r.type)).toEqual([RRType.A, RRType.AAAA, RRType.MX, RRType.SRV, RRType.CNAME, RRType.SOA, RRType.CAA]);
    expect(got[0]).toMatchObject({ address: '198.51.100.7' });
    expect(got[1]).toMatchObject({ address: '2001:db8::1' });
    expect(got[2]).toMatchObject({ exchange: 'mail.example.test', priority: 10 });
    expect(got[3]).toMatchObject({ priority: 1, weight: 2, port: 3, target: 'srv.example.test' });
    expect(got[4]).toMatchObject({ domain: 'c.example.test' });
    expect(got[5]).toMatchObject({ primary: 'ns.example.test', admin: 'hostmaster.example.test', serial: 2026112101, minimum: 30 });
    expect(got[6]).toMatchObject({ tag: 'issue', value: 'letsencrypt.org' });
  });

  it('renders bare errors with the question and OPT', () => {
    const q = query('Nope.Example', 'A', { edns: { udpSize: 1232 } });
    const bytes = renderBare({
      id: q.id,
      queryFlags: q.flags,
      rcode: Rcode.REFUSED,
      question: questionSection(q.message, { ...q, inline: q.nameInline }),
      edns: q.edns,
      advertisedUdpSize: 1232,
    });
    const reply = parseReply(bytes);
    expect(reply.header).toMatchObject({ rcode: Rcode.REFUSED, qr: 1, aa: 0, rd: 1 });
    expect(reply.questions[0]!.name).toBe('Nope.Example');
    expect(reply.additionals[0]!.type).toBe(TYPE.EDNS);
    expect(bytes.readUInt16BE(2) & Flag.TC).toBe(0);
  });
});
