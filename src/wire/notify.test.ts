import dns2 from 'dns2';
import { describe, expect, it } from 'vitest';
import { parseReply, TYPE } from '../../test/support/packets.js';
import { Flag, Opcode, Rcode, RRType } from '../dns/constants.js';
import type { RR } from '../dns/records.js';
import { readNotifyAck, renderNotify } from './notify.js';

const { Packet } = dns2;

const SOA: RR = {
  name: 'example.test',
  type: RRType.SOA,
  ttl: 3600,
  data: { type: RRType.SOA, mname: 'ns1.example.test', rname: 'hostmaster.example.test', serial: 2026120301, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 },
};

/** A NOTIFY response encoded by dns2, independently of our writer. */
function ack(spec: { id?: number; qr?: boolean; opcode?: number; rcode?: number; name?: string; type?: number; qclass?: number; questions?: number } = {}): Buffer {
  const p = new Packet();
  p.header = new Packet.Header({ id: spec.id ?? 0x4242, qr: spec.qr === false ? 0 : 1, opcode: spec.opcode ?? Opcode.NOTIFY, aa: 1, rcode: spec.rcode ?? 0 } as never);
  for (let i = 0; i < (spec.questions ?? 1); i++) {
    p.questions.push({ name: spec.name ?? 'example.test', type: spec.type ?? TYPE.SOA!, class: spec.qclass ?? 1 } as never);
  }
  return p.toBuffer();
}

describe('renderNotify (RFC 1996 §3.7)', () => {
  it('is a NOTIFY query with AA, the apex SOA question, and the SOA in the answer section, as dns2 reads it', () => {
    const bytes = renderNotify(0xbeef, SOA);
    const p = parseReply(bytes);
    expect(p.header).toMatchObject({ id: 0xbeef, qr: 0, opcode: Opcode.NOTIFY, aa: 1, tc: 0, rd: 0, rcode: 0 });
    expect(p.questions).toEqual([{ name: 'example.test', type: TYPE.SOA, class: 1 }]);
    expect(p.answers).toHaveLength(1);
    expect(p.answers[0]).toMatchObject({
      name: 'example.test',
      type: TYPE.SOA,
      class: 1,
      ttl: 3600,
      primary: 'ns1.example.test',
      admin: 'hostmaster.example.test',
      serial: 2026120301,
      refresh: 7200,
      retry: 1800,
      expiration: 86400,
      minimum: 30,
    });
    expect(p.authorities).toEqual([]);
    expect(p.additionals).toEqual([]);
    // The header by hand, too: opcode 4 in bits 11-14, AA, QD=AN=1, NS=AR=0.
    expect(bytes.readUInt16BE(2)).toBe((4 << 11) | Flag.AA);
    expect([4, 6, 8, 10].map((o) => bytes.readUInt16BE(o))).toEqual([1, 1, 0, 0]);
  });

  it('keeps the ID to 16 bits and refuses a record that is not an SOA', () => {
    expect(renderNotify(0x1_0007, SOA).readUInt16BE(0)).toBe(7);
    expect(() => renderNotify(1, { name: 'example.test', type: RRType.A, ttl: 1, data: { type: RRType.A, address: '192.0.2.1' } })).toThrow(/SOA/);
  });

  it('compresses the record owner and the SOA names against the question', () => {
    // Owner = one 2-octet pointer; MNAME "ns1" + pointer, RNAME "hostmaster" + pointer.
    const header = 12;
    const question = 'example.test'.length + 2 + 4;
    const rdata = 4 + 2 + 11 + 2 + 20;
    expect(renderNotify(1, SOA).length).toBe(header + question + 2 + 10 + rdata);
  });

  it('reads back as its own acknowledgement once QR is set', () => {
    const bytes = renderNotify(0x1234, SOA);
    bytes.writeUInt16BE(bytes.readUInt16BE(2) | Flag.QR, 2);
    expect(readNotifyAck(bytes)).toEqual({ id: 0x1234, rcode: 0, zone: 'example.test' });
  });
});

describe('readNotifyAck (RFC 1996 §3.3)', () => {
  it('reads ID, RCODE and the canonical zone of a NOTIFY response', () => {
    expect(readNotifyAck(ack())).toEqual({ id: 0x4242, rcode: Rcode.NOERROR, zone: 'example.test' });
    expect(readNotifyAck(ack({ rcode: 9, name: 'Example.TEST' }))).toEqual({ id: 0x4242, rcode: 9, zone: 'example.test' });
    expect(readNotifyAck(ack({ rcode: Rcode.NOTIMP }))?.rcode).toBe(Rcode.NOTIMP);
  });

  it('is undefined for a query, another opcode, no or two questions, or a question other than (zone, SOA, IN)', () => {
    expect(readNotifyAck(ack({ qr: false }))).toBeUndefined();
    expect(readNotifyAck(ack({ opcode: Opcode.QUERY }))).toBeUndefined();
    expect(readNotifyAck(ack({ opcode: Opcode.UPDATE }))).toBeUndefined();
    expect(readNotifyAck(ack({ questions: 0 }))).toBeUndefined();
    expect(readNotifyAck(ack({ questions: 2 }))).toBeUndefined();
    expect(readNotifyAck(ack({ type: TYPE.A! }))).toBeUndefined();
    expect(readNotifyAck(ack({ qclass: 3 }))).toBeUndefined();
  });

  it('never throws: every truncation, a looping name, and random bytes', () => {
    const full = ack();
    for (let n = 0; n < full.length; n++) expect(readNotifyAck(full.subarray(0, n))).toBeUndefined();
    const loop = Buffer.from(full.subarray(0, 12));
    expect(readNotifyAck(Buffer.concat([loop, Buffer.from([0xc0, 12, 0, 6, 0, 1])]))).toBeUndefined();
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(Array.from({ length: 12 + (i % 40) }, next));
      // Often enough a NOTIFY response header, so the question reader sees garbage.
      if (i % 2) b.writeUInt16BE(Flag.QR | (Opcode.NOTIFY << 11), 2), b.writeUInt16BE(1, 4);
      expect(() => readNotifyAck(b)).not.toThrow();
    }
  });
});
