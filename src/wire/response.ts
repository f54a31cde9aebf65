import { Flag, RRType } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import type { RR } from '../dns/records.js';
import type { Edns, Query } from './query.js';
import { planSpreading, spreadInPlace, type Spreading, type WrittenRecord } from './spread.js';
import { MessageWriter } from './writer.js';

/**
 * A response encoded once and reused for every query with the same question: the full message
 * as it would go out for a query with ID 0, the canonical lower-case question, no RD/CD bits and
 * no OPT. `render` patches those per query, so the hot path is one copy and a few writes.
 */
export interface ResponseTemplate {
  readonly bytes: Buffer;
  readonly rcode: number;
  /** Offset just past the question section. */
  readonly questionEnd: number;
  /** Offset of the first additional record, and how many there are. */
  readonly additionalStart: number;
  readonly additionalCount: number;
  /** Referral glue must not be dropped silently: when it does not fit, set TC (RFC 9471 §3). */
  readonly additionalRequired: boolean;
  /** What a reply rendered from this template may reorder (spread.ts); undefined for most. */
  readonly spreading: Spreading | undefined;
}

export interface TemplateContent {
  readonly question: { readonly name: Name; readonly type: number; readonly class: number };
  readonly rcode: number;
  readonly authoritative: boolean;
  readonly answer: readonly RR[];
  readonly authority: readonly RR[];
  readonly additional: readonly RR[];
  readonly additionalRequired?: boolean;
  /** Class of the records (IN; CH for the server-identity names). */
  readonly recordClass?: number;
}

export function buildTemplate(content: TemplateContent): ResponseTemplate {
  const w = new MessageWriter();
  const rrClass = content.recordClass ?? content.question.class;
  w.u16(0);
  w.u16(Flag.QR | (content.authoritative ? Flag.AA : 0) | (content.rcode & 0xf));
  w.u16(1);
  w.u16(content.answer.length);
  w.u16(content.authority.length);
  w.u16(content.additional.length);
  w.name(content.question.name);
  w.u16(content.question.type);
  w.u16(content.question.class);
  const questionEnd = w.length;
  const written: WrittenRecord[] = [];
  const write = (rr: RR, additional: boolean) => {
    const start = w.length;
    w.record(rr, rrClass);
    const srv = rr.data.type === RRType.SRV ? (rr.data as { priority: number; weight: number }) : undefined;
    written.push({ name: rr.name, type: rr.type, start, end: w.length, additional, priority: srv?.priority, weight: srv?.weight });
  };
  for (const rr of content.answer) write(rr, false);
  for (const rr of content.authority) write(rr, false);
  const additionalStart = w.length;
  for (const rr of content.additional) write(rr, true);
  return {
    bytes: w.toBuffer(),
    rcode: content.rcode,
    questionEnd,
    additionalStart,
    additionalCount: content.additional.length,
    additionalRequired: content.additionalRequired ?? false,
    spreading: planSpreading(written, w.pointers, w.length),
  };
}

/**
 * Spreads load over the records of `reply`, rendered from `template` (see spread.ts): rotates
 * A/AAAA RRsets one step per call and orders SRV records by weight. A truncated reply (the
 * question only) is left alone.
 */
export function spreadRendered(reply: Buffer, template: ResponseTemplate, random: () => number): void {
  const spreading = template.spreading;
  if (!spreading || reply[2]! & (Flag.TC >> 8)) return;
  const full = template.bytes.length;
  // render() keeps the whole template or all but the additional section, then maybe an OPT.
  const body = reply.length === full || reply.length === full + OPT_LENGTH ? full : template.additionalStart;
  spreadInPlace(reply, spreading, body, random);
}

const OPT_LENGTH = 11;
/** Flags a response copies from the query: RD (RFC 1035 §4.1.1) and CD (RFC 4035 §3.2.2). */
const COPIED_FLAGS = Flag.RD | Flag.CD;

/**
 * The reply to `query` from `template`, fitting in `maxSize` octets. When the whole message
 * does not fit, the additional section goes first (it is optional, RFC 2181 §9); if it still
 * does not fit, the reply carries only the question with TC set, so the client retries over
 * TCP (RFC 1035 §4.2.1, RFC 7766 §5).
 */
export function render(template: ResponseTemplate, query: Query, maxSize: number, advertisedUdpSize: number, extraFlags = 0): Buffer {
  const opt = query.edns ? OPT_LENGTH : 0;
  const src = template.bytes;
  let body = src.length;
  let arcount = template.additionalCount;
  let truncated = false;
  if (body + opt > maxSize) {
    if (!template.additionalRequired && template.additionalStart + opt <= maxSize) {
      body = template.additionalStart;
      arcount = 0;
    } else {
      body = template.questionEnd;
      truncated = true;
    }
  }
  const out = Buffer.allocUnsafe(body + opt);
  src.copy(out, 0, 0, body);
  out.writeUInt16BE(query.id, 0);
  out.writeUInt16BE(src.readUInt16BE(2) | (query.flags & COPIED_FLAGS) | extraFlags | (truncated ? Flag.TC : 0), 2);
  if (truncated) out.fill(0, 6, 10);
  out.writeUInt16BE((truncated ? 0 : arcount) + (opt ? 1 : 0), 10);
  // Echo the question exactly as sent (0x20 case randomisation, RFC 1034 §3.1); its length
  // equals the canonical one because only ASCII case differs.
  if (query.nameInline) {
    // Byte by byte: a Buffer.copy of part of a buffer allocates a view, and names are short.
    const msg = query.message;
    for (let i = 12; i < query.nameEnd; i++) out[i] = msg[i]!;
  }
  if (opt) writeOpt(out, body, query.edns!, template.rcode, advertisedUdpSize);
  return out;
}

/**
 * A reply without records (errors, REFUSED, NOTIMP, BADVERS): header, the question if there
 * was a readable one, and OPT when the query had a well-formed one (RFC 6891 §7).
 */
export function renderBare(options: {
  id: number;
  queryFlags: number;
  rcode: number;
  /** The question section to echo, if there was a readable one. */
  question: Uint8Array | undefined;
  edns: Edns | undefined;
  advertisedUdpSize: number;
  authoritative?: boolean;
  /** Flags to set besides QR, opcode, RD/CD and RCODE (e.g. RA). */
  extraFlags?: number;
}): Buffer {
  const { id, queryFlags, rcode, question, edns } = options;
  const opt = edns ? OPT_LENGTH : 0;
  const body = 12 + (question?.length ?? 0);
  const out = Buffer.allocUnsafe(body + opt);
  out.writeUInt16BE(id, 0);
  const opcode = queryFlags & 0x7800;
  out.writeUInt16BE(Flag.QR | opcode | (options.authoritative ? Flag.AA : 0) | (options.extraFlags ?? 0) | (queryFlags & COPIED_FLAGS) | (rcode & 0xf), 2);
  out.writeUInt16BE(question ? 1 : 0, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(opt ? 1 : 0, 10);
  if (question) out.set(question, 12);
  if (opt) writeOpt(out, body, edns!, rcode, options.advertisedUdpSize);
  return out;
}

function writeOpt(out: Buffer, at: number, edns: Edns, rcode: number, udpSize: number): void {
  out[at] = 0; // root owner
  out.writeUInt16BE(41, at + 1);
  out.writeUInt16BE(udpSize, at + 3);
  out[at + 5] = (rcode >> 4) & 0xff; // extended RCODE high bits (RFC 6891 §6.1.3)
  out[at + 6] = 0; // version 0
  out.writeUInt16BE(edns.dnssecOk ? 0x8000 : 0, at + 7);
  out.writeUInt16BE(0, at + 9);
}


/** An rcode-only reply to a decoded query: header, its question as the client sent it, OPT. */
export function renderRcode(query: Query, rcode: number, advertisedUdpSize: number, extraFlags = 0): Buffer {
  return renderBare({
    id: query.id,
    queryFlags: query.flags,
    rcode,
    question: questionSection(query.message, { ...query, inline: query.nameInline }),
    edns: query.edns,
    advertisedUdpSize,
    extraFlags,
  });
}

/**
 * The question section of a query as it should be echoed: the client's own bytes when the name
 * was written inline, else re-encoded (a pointer copied out of context would point at nonsense).
 */
export function questionSection(message: Buffer, q: { name: Name; type: number; class: number; nameEnd: number; inline: boolean }): Uint8Array {
  if (q.inline) return message.subarray(12, q.nameEnd + 4);
  const w = new MessageWriter(64);
  w.name(q.name, false);
  w.u16(q.type);
  w.u16(q.class);
  return w.toBuffer();
}
