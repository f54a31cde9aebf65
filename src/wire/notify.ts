import { Flag, Opcode, RRClass, RRType } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import type { RR } from '../dns/records.js';
import { readName } from '../dns/wire-name.js';
import { MessageWriter } from './writer.js';

/**
 * The bytes of DNS NOTIFY (RFC 1996): the message a primary sends its secondaries when a
 * zone's SOA serial changes, and the reading of their acknowledgements. The retry and
 * coalescing logic is in src/transfer/notify.ts; only this folder sees bytes.
 */

const HEADER = 12;

/**
 * A NOTIFY for `soa`'s zone (RFC 1996): opcode NOTIFY, AA set (the primary speaks as the
 * zone's authority), one question (zone apex, SOA, IN) and the SOA itself in the answer
 * section. §3.7 allows that answer as an unsecured hint: a secondary that already holds that
 * serial may stop there, and none is obliged to read it (Knot logs the serial it read).
 * Names are written uncompressed in the question and compressed in the record: the apex then
 * costs one pointer, and the SOA's MNAME/RNAME, usually below the apex, shrink as well.
 */
export function renderNotify(id: number, soa: RR): Buffer {
  if (soa.type !== RRType.SOA) throw new Error(`NOTIFY carries the zone's SOA, not type ${soa.type}`);
  const w = new MessageWriter(HEADER + 2 * (soa.name.length + 2) + 64);
  w.u16(id & 0xffff);
  w.u16((Opcode.NOTIFY << 11) | Flag.AA);
  w.u16(1); // QDCOUNT
  w.u16(1); // ANCOUNT
  w.u16(0); // NSCOUNT
  w.u16(0); // ARCOUNT
  w.name(soa.name);
  w.u16(RRType.SOA);
  w.u16(RRClass.IN);
  w.record(soa);
  return w.toBuffer();
}

/** What a NOTIFY response says: its ID, its RCODE, and the zone its question names. */
export interface NotifyAck {
  readonly id: number;
  /** The header's 4-bit RCODE: we send no OPT, so a conforming reply carries no extended bits. */
  readonly rcode: number;
  /** Canonical (lower-case) zone apex from the echoed question. */
  readonly zone: Name;
}

/**
 * Reads a NOTIFY response (RFC 1996 §3.3: the request with QR set; its arrival tells the
 * primary that the secondary has the NOTIFY, so the retry ends). Anything else is undefined: a query rather than a response, another
 * opcode, no single question, a question that is not (name, SOA, IN), or bytes that do not
 * parse. The sections after the question are not read: an ack's meaning is its RCODE, and a
 * TSIG record there is the signer's business. Never throws.
 */
export function readNotifyAck(message: Buffer): NotifyAck | undefined {
  if (message.length < HEADER) return undefined;
  const flags = message.readUInt16BE(2);
  if (!(flags & Flag.QR)) return undefined;
  if (((flags >> 11) & 0xf) !== Opcode.NOTIFY) return undefined;
  if (message.readUInt16BE(4) !== 1) return undefined;
  const qname = readName(message, HEADER);
  if (typeof qname === 'string') return undefined;
  if (qname.end + 4 > message.length) return undefined;
  if (message.readUInt16BE(qname.end) !== RRType.SOA) return undefined;
  if (message.readUInt16BE(qname.end + 2) !== RRClass.IN) return undefined;
  return { id: message.readUInt16BE(0), rcode: flags & 0xf, zone: qname.name };
}
