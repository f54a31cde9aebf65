import { describe, expect, it } from 'vitest';
import { buildQuery } from '../../test/support/packets.js';
import { Rcode } from '../dns/constants.js';
import { DOT_IN_LABEL } from '../dns/name.js';
import { decodeQuery } from './query.js';

function header(fields: { id?: number; flags?: number; qd?: number; an?: number; ns?: number; ar?: number }): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(fields.id ?? 7, 0);
  b.writeUInt16BE(fields.flags ?? 0x0100, 2);
  b.writeUInt16BE(fields.qd ?? 1, 4);
  b.writeUInt16BE(fields.an ?? 0, 6);
  b.writeUInt16BE(fields.ns ?? 0, 8);
  b.writeUInt16BE(fields.ar ?? 0, 10);
  return b;
}
const typeIn = Buffer.from([0, 1, 0, 1]);

describe('decodeQuery', () => {
  it('reads a plain query and folds ASCII case', () => {
    const d = decodeQuery(buildQuery({ name: 'WWW.Example.TEST', type: 'A', id: 0xbeef }));
    expect(d.kind).toBe('query');
    if (d.kind !== 'query') return;
    expect(d.query).toMatchObject({ id: 0xbeef, name: 'www.example.test', type: 1, class: 1, nameInline: true, edns: undefined });
    expect(d.query.questionEnd).toBe(12 + 18 + 4);
  });

  it('reads EDNS: payload size (floored at 512), DO bit, version', () => {
    const d = decodeQuery(buildQuery({ name: 'a.test', type: 'AAAA', edns: { udpSize: 4096, dnssecOk: true } }));
    expect(d.kind === 'query' && d.query.edns).toEqual({ udpSize: 4096, version: 0, dnssecOk: true, nsid: false });
    const small = decodeQuery(buildQuery({ name: 'a.test', type: 'A', edns: { udpSize: 100 } }));
    expect(small.kind === 'query' && small.query.edns?.udpSize).toBe(512);
  });

  it('answers EDNS version 1 with BADVERS (RFC 6891 §6.1.3)', () => {
    const d = decodeQuery(buildQuery({ name: 'a.test', type: 'A', edns: { version: 1 } }));
    expect(d).toMatchObject({ kind: 'error', rcode: Rcode.BADVERS });
  });

  it('drops what has no header or is a response', () => {
    expect(decodeQuery(Buffer.alloc(11)).kind).toBe('drop');
    expect(decodeQuery(Buffer.concat([header({ flags: 0x8000 }), Buffer.from([0]), typeIn])).kind).toBe('drop');
  });

  it.each([
    ['no question', Buffer.concat([header({ qd: 0 })])],
    ['two questions', Buffer.concat([header({ qd: 2 }), Buffer.from([0]), typeIn, Buffer.from([0]), typeIn])],
    ['truncated question', Buffer.concat([header({}), Buffer.from([1, 0x61, 0, 0])])],
    ['label past the end', Buffer.concat([header({}), Buffer.from([9, 0x61])])],
    ['pointer to itself', Buffer.concat([header({}), Buffer.from([0xc0, 12]), typeIn])],
    ['forward pointer', Buffer.concat([header({}), Buffer.from([0xc0, 20]), typeIn, Buffer.alloc(8)])],
    ['pointer loop through a label', Buffer.concat([header({}), Buffer.from([1, 0x61, 0xc0, 12]), typeIn])],
    ['reserved label type', Buffer.concat([header({}), Buffer.from([0x41, 0x61, 0]), typeIn])],
    ['name over 255 octets', Buffer.concat([header({}), ...Array.from({ length: 5 }, () => Buffer.from([63, ...Buffer.alloc(63, 0x61)])), Buffer.from([0]), typeIn])],
    ['OPT with a truncated option', Buffer.concat([header({ ar: 1 }), Buffer.from([0]), typeIn, Buffer.from([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 6, 0, 8, 0, 9, 0, 0])])],
    ['OPT cut short', Buffer.concat([header({ ar: 1 }), Buffer.from([0]), typeIn, Buffer.from([0, 0, 41, 4])])],
  ])('FORMERR for %s', (_label, message) => {
    const d = decodeQuery(message);
    expect(d).toMatchObject({ kind: 'error', rcode: Rcode.FORMERR, id: 7 });
  });

  it('FORMERR for two OPT records (RFC 6891 §6.1.1), found by the full parser', () => {
    const opt = Buffer.from([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0]);
    const d = decodeQuery(Buffer.concat([header({ ar: 2 }), Buffer.from([1, 0x61, 0]), typeIn, opt, opt]));
    expect(d).toMatchObject({ kind: 'error', rcode: Rcode.FORMERR });
  });

  it('reads an OPT behind another additional record through the full parser', () => {
    const other = Buffer.from([1, 0x62, 0, 0, 16, 0, 1, 0, 0, 0, 60, 0, 2, 1, 0x78]); // b. TXT "x"
    const opt = Buffer.from([0, 0, 41, 16, 0, 0, 0, 0x80, 0, 0, 0]);
    const d = decodeQuery(Buffer.concat([header({ ar: 2 }), Buffer.from([1, 0x61, 0]), typeIn, other, opt]));
    expect(d.kind === 'query' && d.query.edns).toEqual({ udpSize: 4096, version: 0, dnssecOk: true, nsid: false });
  });

  it('NOTIMP for opcodes other than QUERY, echoing the question', () => {
    const d = decodeQuery(Buffer.concat([header({ flags: 4 << 11 }), Buffer.from([1, 0x61, 0]), typeIn]));
    expect(d).toMatchObject({ kind: 'error', rcode: Rcode.NOTIMP, question: { name: 'a', type: 1 } });
  });

  it('follows a backwards compression pointer in the question and marks the name as not inline', () => {
    // ID 0x0161 reads as the label "a" at offset 0 and the zero flags byte ends the name there.
    const msg = Buffer.concat([header({ id: 0x0161, flags: 0x0000 }), Buffer.from([0xc0, 0x00]), typeIn]);
    const d = decodeQuery(msg);
    expect(d.kind === 'query' && d.query).toMatchObject({ name: 'a', nameInline: false, questionEnd: 18 });
  });

  it('keeps a dot inside a label distinct from a label boundary (RFC 2181 §11)', () => {
    const d = decodeQuery(Buffer.concat([header({}), Buffer.from([3, 0x61, 0x2e, 0x62, 4, 0x74, 0x65, 0x73, 0x74, 0]), typeIn]));
    expect(d.kind === 'query' && d.query.name).toBe(`a${DOT_IN_LABEL}b.test`);
  });
});
