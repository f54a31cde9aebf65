import dns2 from 'dns2';
import { Flag, Opcode, Rcode, RRType } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import { readName, type ReadName } from '../dns/wire-name.js';
import { NSID_OPTION } from './nsid.js';
import { readUpdateSections, type UpdateMessage } from './update.js';

/** EDNS(0) as the client sent it (RFC 6891 §6.1.3). */
export interface Edns {
  /** Requestor's UDP payload size; values below 512 count as 512 (RFC 6891 §6.2.5). */
  readonly udpSize: number;
  readonly version: number;
  /** DNSSEC OK (RFC 3225 §3): copied to the response. */
  readonly dnssecOk: boolean;
  /** The query carried an NSID option (RFC 5001 §2.1): the reply may say which server answered. */
  readonly nsid?: boolean;
}

export interface QuestionInfo {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
  readonly nameEnd: number;
  readonly inline: boolean;
}

/** A query the server can answer, decoded from its bytes. */
export interface Query {
  readonly message: Buffer;
  readonly id: number;
  readonly flags: number;
  readonly opcode: number;
  /** Canonical (lower-case) question name. */
  readonly name: Name;
  readonly type: number;
  readonly class: number;
  /** Offset just past the question name, and whether it was written inline (no pointer). */
  readonly nameEnd: number;
  readonly nameInline: boolean;
  /** Offset just past the question section. */
  readonly questionEnd: number;
  readonly edns: Edns | undefined;
}

/**
 * - `query`: answer it.
 * - `error`: answer with `rcode`, echoing the header (and the question when it was readable).
 * - `drop`: send nothing (too short to have an ID, or a response rather than a query).
 */
export type Decoded =
  | { readonly kind: 'query'; readonly query: Query }
  | {
      readonly kind: 'error';
      readonly rcode: number;
      readonly id: number;
      readonly flags: number;
      readonly question: QuestionInfo | undefined;
      /** The client's EDNS when it was well-formed: the error reply then carries OPT too. */
      readonly edns: Edns | undefined;
      readonly reason: string;
    }
  | {
      /** An UPDATE (RFC 2136) whose sections could be read; what they mean is src/update/'s. */
      readonly kind: 'update';
      readonly id: number;
      readonly flags: number;
      /** The zone section, which has the shape of a question (RFC 2136 §2.3). */
      readonly question: QuestionInfo;
      readonly edns: Edns | undefined;
      readonly update: UpdateMessage;
    }
  | { readonly kind: 'drop'; readonly reason: string };

const HEADER = 12;

const questionName: ReadName = { name: '', end: 0, inline: false };

/**
 * Decodes a query. The common shape (one question, at most an OPT record) is read by hand in
 * one pass with no parsing library on the hot path; anything else (answer/authority records,
 * other additional records such as TSIG) goes through dns2's full parser, guarded, to find and
 * validate the OPT record. Never throws.
 */
export function decodeQuery(message: Buffer): Decoded {
  if (message.length < HEADER) return { kind: 'drop', reason: 'shorter than a DNS header' };
  const id = message.readUInt16BE(0);
  const flags = message.readUInt16BE(2);
  // Never answer a response: that is how reflection loops start.
  if (flags & Flag.QR) return { kind: 'drop', reason: 'QR set: not a query' };
  const opcode = (flags >> 11) & 0xf;
  const qdcount = message.readUInt16BE(4);
  const ancount = message.readUInt16BE(6);
  const nscount = message.readUInt16BE(8);
  const arcount = message.readUInt16BE(10);

  // RFC 9619: a QUERY carries exactly one question; RFC 2136 §3.1.1: an UPDATE one zone.
  if (qdcount !== 1) return errorReply(id, flags, opcode === Opcode.QUERY || opcode === Opcode.UPDATE ? Rcode.FORMERR : Rcode.NOTIMP, `QDCOUNT is ${qdcount}`);
  // Into one reused object: every field is copied out below, before the next query.
  const qname = readName(message, HEADER, questionName);
  if (typeof qname === 'string') return errorReply(id, flags, Rcode.FORMERR, `question name: ${qname}`);
  if (qname.end + 4 > message.length) return errorReply(id, flags, Rcode.FORMERR, 'question truncated');
  const type = message.readUInt16BE(qname.end);
  const qclass = message.readUInt16BE(qname.end + 2);
  const questionEnd = qname.end + 4;
  if (opcode === Opcode.UPDATE) return decodeUpdate(message, id, flags, questionInfo(qname, type, qclass));

  let edns: Edns | undefined;
  if (ancount === 0 && nscount === 0 && arcount <= 1) {
    const opt = arcount === 1 ? readOpt(message, questionEnd) : undefined;
    if (typeof opt === 'string') return errorReply(id, flags, Rcode.FORMERR, opt, questionInfo(qname, type, qclass));
    if (opt === null) {
      const slow = ednsViaFullParse(message);
      if (typeof slow === 'string') return errorReply(id, flags, Rcode.FORMERR, slow, questionInfo(qname, type, qclass));
      edns = slow;
    } else edns = opt;
  } else {
    const slow = ednsViaFullParse(message);
    if (typeof slow === 'string') return errorReply(id, flags, Rcode.FORMERR, slow, questionInfo(qname, type, qclass));
    edns = slow;
  }

  if (opcode !== Opcode.QUERY) return errorReply(id, flags, Rcode.NOTIMP, `opcode ${opcode}`, questionInfo(qname, type, qclass), edns);
  // RFC 6891 §6.1.3: we speak EDNS version 0 only.
  if (edns && edns.version !== 0) return errorReply(id, flags, Rcode.BADVERS, `EDNS version ${edns.version}`, questionInfo(qname, type, qclass), { ...edns, version: 0 });

  return {
    kind: 'query',
    query: {
      message,
      id,
      flags,
      opcode,
      name: qname.name,
      type,
      class: qclass,
      nameEnd: qname.end,
      nameInline: qname.inline,
      questionEnd,
      edns,
    },
  };
}

/** The sections of an UPDATE (RFC 2136 §2): read whole, as they are rare and all of them matter. */
function decodeUpdate(message: Buffer, id: number, flags: number, zone: QuestionInfo): Decoded {
  // RFC 2136 §3.1.1: the zone section's type must be SOA.
  if (zone.type !== RRType.SOA) return errorReply(id, flags, Rcode.FORMERR, 'zone section type is not SOA', zone);
  const read = readUpdateSections(message, { name: zone.name, class: zone.class, end: zone.nameEnd + 4 });
  if (typeof read === 'string') return errorReply(id, flags, Rcode.FORMERR, read, zone);
  if (read.edns && read.edns.version !== 0) return errorReply(id, flags, Rcode.BADVERS, `EDNS version ${read.edns.version}`, zone, { ...read.edns, version: 0 });
  return { kind: 'update', id, flags, question: zone, edns: read.edns, update: read.update };
}

/** Only error replies need the question on its own: built on those paths, not per query. */
function questionInfo(qname: { name: Name; end: number; inline: boolean }, type: number, qclass: number): QuestionInfo {
  return { name: qname.name, type, class: qclass, nameEnd: qname.end, inline: qname.inline };
}

function errorReply(id: number, flags: number, rcode: number, reason: string, question?: QuestionInfo, edns?: Edns): Decoded {
  return { kind: 'error', rcode, id, flags, question, edns, reason };
}

/** The OPT record at `at`; null when the record there is something else (e.g. TSIG). */
function readOpt(msg: Buffer, at: number): Edns | string | null {
  // RFC 6891 §6.1.2: owner is the root, type 41, class = UDP size, TTL = ext-rcode/version/flags.
  if (at + 11 > msg.length) return 'additional record truncated';
  if (msg[at] !== 0 || msg.readUInt16BE(at + 1) !== RRType.OPT) return null;
  const udpSize = msg.readUInt16BE(at + 3);
  const version = msg[at + 6]!;
  const flags = msg.readUInt16BE(at + 7);
  const rdlength = msg.readUInt16BE(at + 9);
  const end = at + 11 + rdlength;
  if (end > msg.length) return 'OPT RDATA runs past the end of the message';
  // Options are {code, length, data} triples that must exactly fill RDATA.
  let nsid = false;
  for (let p = at + 11; p < end; ) {
    if (p + 4 > end) return 'OPT option header truncated';
    if (msg.readUInt16BE(p) === NSID_OPTION) nsid = true;
    const optionLength = msg.readUInt16BE(p + 2);
    p += 4 + optionLength;
    if (p > end) return 'OPT option runs past RDATA';
  }
  return { udpSize: Math.max(512, udpSize), version, dnssecOk: (flags & 0x8000) !== 0, nsid };
}

/**
 * dns2's full parser, for the rare query shapes the fast path does not read. It throws only for
 * messages under 12 octets and reports every other defect in `errors`, which we treat as
 * FORMERR (the reference notes on dns2 3.1.1: guard and catch around it).
 */
function ednsViaFullParse(msg: Buffer): Edns | undefined | string {
  let packet: InstanceType<typeof dns2.Packet>;
  try {
    packet = dns2.Packet.parse(msg);
  } catch (e) {
    return `unparseable: ${(e as Error).message}`;
  }
  const found: Edns[] = [];
  for (const error of packet.errors) {
    // dns2 decodes some EDNS options (client subnet, EDE) strictly; RFC 6891 §6.1.2 only asks
    // that options fill RDATA exactly, and the fast path reads OPT that way. So an OPT dns2 gave
    // up on is read here the same way, and the verdict does not depend on other records.
    const at = (error as { offset?: number }).offset;
    const opt = error.recovered && error.section === 'additionals' && at !== undefined ? readOpt(msg, at) : null;
    if (opt === null) return `malformed: ${error.message}`;
    if (typeof opt === 'string') return opt;
    found.push(opt);
  }
  for (const r of packet.additionals as { type: number; name: string; class: number; version?: number; doFlag?: boolean }[]) {
    if (r.type !== RRType.OPT) continue;
    // RFC 6891 §6.1.1: an OPT not owned by the root is FORMERR.
    if (r.name !== '') return 'OPT record not owned by the root';
    // dns2 keeps no options we read: NSID is honoured on the fast path (a lone OPT) only.
    found.push({ udpSize: Math.max(512, r.class), version: r.version ?? 0, dnssecOk: !!r.doFlag, nsid: false });
  }
  // RFC 6891 §6.1.1: more than one OPT is FORMERR.
  if (found.length > 1) return 'more than one OPT record';
  return found[0];
}
