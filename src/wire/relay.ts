import { Flag, Rcode, RRType } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import { readName } from '../dns/wire-name.js';
import type { Query } from './query.js';
import { MessageWriter } from './writer.js';

/**
 * The bytes side of forwarding: the query we send upstream, the checks an upstream reply must
 * pass before we believe it, and the reply a client gets from a (possibly cached) upstream
 * reply. The upstream's bytes are kept as they came and patched per client (ID, flags, question
 * case, TTLs, OPT), so relaying is one copy and a few writes, like `render` in response.ts.
 */

/** What buildUpstreamQuery needs from a client query (a `Query` fits; so does a probe). */
export type UpstreamQuestion = Pick<Query, 'name' | 'type' | 'class' | 'flags' | 'edns'>;

/** What an upstream reply must echo (RFC 5452 §9.1). `name` is canonical (lower case). */
export interface ExpectedReply {
  readonly id: number;
  readonly name: Name;
  readonly type: number;
  readonly class: number;
}

/**
 * - positive: NOERROR with answers
 * - nodata: NOERROR without answers (RFC 2308 §2.2)
 * - nxdomain: NXDOMAIN (RFC 2308 §2.1)
 * - servfail: SERVFAIL
 * - other: REFUSED, FORMERR, NOTIMP, ...
 */
export type ReplyKind = 'positive' | 'nxdomain' | 'nodata' | 'servfail' | 'other';

/** An upstream reply that passed the checks, with what relaying and caching need to know. */
export interface UpstreamReply {
  /** Full RCODE: the header's 4 bits plus the OPT's extended bits (RFC 6891 §6.1.3). */
  readonly rcode: number;
  readonly kind: ReplyKind;
  /** The upstream's header flags word. */
  readonly flags: number;
  /** TC was set: the sections are not read (they may be cut anywhere); retry over TCP. */
  readonly truncated: boolean;
  /** Offset just past the question section. */
  readonly questionEnd: number;
  readonly answerCount: number;
  readonly authorityCount: number;
  /** Additional records kept: those before the upstream's OPT, the OPT not counted. */
  readonly additionalCount: number;
  /** Offset of the first additional record. */
  readonly additionalStart: number;
  /**
   * Offset where the kept bytes end: the start of the upstream's OPT when there is one, else
   * the end of the last record. Everything from here on is dropped when relaying.
   */
  readonly end: number;
  /** Offsets of the TTL field of every kept record (answer, authority, additional; not OPT), ascending. */
  readonly ttlOffsets: Uint32Array;
  /** Minimum TTL of the answer section; undefined when it is empty. */
  readonly answerMinTtl: number | undefined;
  /** Minimum TTL of every kept record; undefined when there are none. */
  readonly minTtl: number | undefined;
  /** RFC 2308 §5: min(SOA TTL, SOA MINIMUM) of the first SOA in authority, for NXDOMAIN and NODATA. */
  readonly negativeTtl: number | undefined;
  /** The upstream's OPT record (RFC 6891), dropped when relaying. */
  readonly opt: { readonly offset: number; readonly length: number } | undefined;
}

/** An upstream reply as the cache keeps it: the bytes as received plus their inspection. */
export interface StoredReply {
  readonly bytes: Buffer;
  readonly info: UpstreamReply;
}

const HEADER = 12;
const OPT_LENGTH = 11;
/** RFC 8767 §4 suggests 30 s for the TTL of stale answers. */
export const STALE_TTL_SECONDS = 30;

/**
 * A fresh query for an upstream: the caller's random ID (RFC 5452 §9.2), RD set (we ask a
 * recursive resolver to recurse for us), CD copied so a client that validates itself still gets
 * the data (RFC 4035 §3.2.2), the canonical question, and our own OPT with DO copied (RFC 3225
 * §3). The client's other EDNS options (cookies, client subnet, padding, ...) are hop-by-hop
 * (RFC 6891 §6.1.1) and are never passed on.
 */
export function buildUpstreamQuery(query: UpstreamQuestion, id: number, udpSize: number): Buffer {
  const w = new MessageWriter(HEADER + query.name.length + 2 + 4 + OPT_LENGTH);
  w.u16(id & 0xffff);
  w.u16(Flag.RD | (query.flags & Flag.CD));
  w.u16(1);
  w.u16(0);
  w.u16(0);
  w.u16(1);
  w.name(query.name, false);
  w.u16(query.type);
  w.u16(query.class);
  // OPT (RFC 6891 §6.1.2): root owner, TYPE 41, CLASS = our UDP payload size, TTL = extended
  // RCODE 0, version 0, DO; no options.
  w.u8(0);
  w.u16(RRType.OPT);
  w.u16(Math.max(512, Math.min(0xffff, udpSize)));
  w.u8(0);
  w.u8(0);
  w.u16(query.edns?.dnssecOk ? 0x8000 : 0);
  w.u16(0);
  return w.toBuffer();
}

/**
 * Checks an upstream reply and notes where its parts are. RFC 5452 §9.1: a reply is accepted
 * only when it is a response (QR) to a standard query, carries our ID and echoes our question
 * (name compared case-insensitively); anything else is discarded by the caller, which keeps
 * waiting for the real one. The sections must parse (names, record lengths) unless TC is set.
 * Never throws, whatever the bytes.
 */
export function inspectUpstreamReply(reply: Buffer, expect: ExpectedReply): UpstreamReply | { error: string } {
  try {
    return inspect(reply, expect);
  } catch (e) {
    // Every read is bounds-checked; this is a last line of defence against a reader bug.
    return { error: `unreadable reply: ${(e as Error).message}` };
  }
}

function inspect(msg: Buffer, expect: ExpectedReply): UpstreamReply | { error: string } {
  if (msg.length < HEADER) return { error: 'shorter than a DNS header' };
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if (!(flags & Flag.QR)) return { error: 'QR not set: not a response' };
  if (id !== expect.id) return { error: `ID ${id} is not the one sent` };
  if (((flags >> 11) & 0xf) !== 0) return { error: 'opcode is not QUERY' };
  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  const nscount = msg.readUInt16BE(8);
  const arcount = msg.readUInt16BE(10);
  if (qdcount !== 1) return { error: `QDCOUNT is ${qdcount}` };
  const q = readName(msg, HEADER);
  if (typeof q === 'string') return { error: `question name: ${q}` };
  // The question name must be written out in full: relaying copies the client's spelling over
  // it, which is only sound when both have the same length.
  if (!q.inline) return { error: 'question name is compressed' };
  if (q.end + 4 > msg.length) return { error: 'question truncated' };
  if (q.name !== expect.name) return { error: 'question name differs from the one sent' };
  if (msg.readUInt16BE(q.end) !== expect.type || msg.readUInt16BE(q.end + 2) !== expect.class) {
    return { error: 'question type or class differs from the one sent' };
  }
  const questionEnd = q.end + 4;
  const truncated = (flags & Flag.TC) !== 0;
  const headerRcode = flags & 0xf;

  if (truncated) {
    // A truncated reply may be cut in the middle of a record: do not read the sections. The
    // caller retries over TCP (RFC 7766 §5); relaying this one yields question + TC.
    return {
      rcode: headerRcode,
      kind: classify(headerRcode, 0),
      flags,
      truncated,
      questionEnd,
      answerCount: 0,
      authorityCount: 0,
      additionalCount: 0,
      additionalStart: questionEnd,
      end: questionEnd,
      ttlOffsets: new Uint32Array(0),
      answerMinTtl: undefined,
      minTtl: undefined,
      negativeTtl: undefined,
      opt: undefined,
    };
  }

  const total = ancount + nscount + arcount;
  const ttlOffsets = new Uint32Array(total);
  let kept = 0;
  let pos = questionEnd;
  let answerMinTtl: number | undefined;
  let minTtl: number | undefined;
  let soaTtl: number | undefined;
  let soaMinimum: number | undefined;
  let additionalStart = questionEnd;
  let additionalCount = 0;
  let opt: { offset: number; length: number; extendedRcode: number } | undefined;
  let end = -1;

  for (let i = 0; i < total; i++) {
    const section = i < ancount ? 0 : i < ancount + nscount ? 1 : 2;
    if (i === ancount + nscount) additionalStart = pos;
    const start = pos;
    const nameEnd = skipName(msg, pos);
    if (nameEnd < 0) return { error: `record ${i}: bad owner name` };
    if (nameEnd + 10 > msg.length) return { error: `record ${i}: truncated` };
    const type = msg.readUInt16BE(nameEnd);
    const ttlAt = nameEnd + 4;
    const rdlength = msg.readUInt16BE(nameEnd + 8);
    const rdata = nameEnd + 10;
    const next = rdata + rdlength;
    if (next > msg.length) return { error: `record ${i}: RDATA runs past the end` };
    pos = next;

    if (type === RRType.OPT) {
      // RFC 6891 §6.1.1: one OPT at most, in the additional section, owned by the root.
      if (section !== 2) return { error: 'OPT outside the additional section' };
      if (opt) return { error: 'more than one OPT record' };
      if (nameEnd !== start + 1) return { error: 'OPT not owned by the root' };
      opt = { offset: start, length: next - start, extendedRcode: msg[ttlAt]! };
      // Records after the OPT are dropped with it: removing bytes from the middle would break
      // any compression pointer into what follows, and additional data is optional (RFC 2181
      // §9). Upstreams put OPT last in practice (only TSIG/SIG(0) may follow, RFC 8945 §5.1).
      if (end < 0) end = start;
      continue;
    }
    if (opt) continue;

    const ttl = readTtl(msg, ttlAt);
    ttlOffsets[kept++] = ttlAt;
    if (minTtl === undefined || ttl < minTtl) minTtl = ttl;
    if (section === 0 && (answerMinTtl === undefined || ttl < answerMinTtl)) answerMinTtl = ttl;
    if (section === 2) additionalCount++;
    if (section === 1 && type === RRType.SOA && soaTtl === undefined) {
      // SOA RDATA ends with five 32-bit fields, MINIMUM last (RFC 1035 §3.3.13).
      const mname = skipName(msg, rdata);
      const rname = mname < 0 ? -1 : skipName(msg, mname);
      if (rname < 0 || rname + 20 !== next) return { error: 'malformed SOA in authority' };
      soaTtl = ttl;
      soaMinimum = readTtl(msg, next - 4);
    }
  }
  if (end < 0) end = pos;
  if (total === ancount + nscount) additionalStart = pos;

  const rcode = headerRcode | ((opt?.extendedRcode ?? 0) << 4);
  const kind = classify(rcode, ancount);
  const negative = kind === 'nxdomain' || kind === 'nodata';
  return {
    rcode,
    kind,
    flags,
    truncated,
    questionEnd,
    answerCount: ancount,
    authorityCount: nscount,
    additionalCount,
    additionalStart,
    end,
    ttlOffsets: ttlOffsets.subarray(0, kept),
    answerMinTtl,
    minTtl,
    // RFC 2308 §5: the negative TTL is the minimum of the SOA's own TTL and its MINIMUM field.
    negativeTtl: negative && soaTtl !== undefined ? Math.min(soaTtl, soaMinimum!) : undefined,
    opt: opt ? { offset: opt.offset, length: opt.length } : undefined,
  };
}

function classify(rcode: number, ancount: number): ReplyKind {
  if (rcode === Rcode.NOERROR) return ancount > 0 ? 'positive' : 'nodata';
  if (rcode === Rcode.NXDOMAIN) return 'nxdomain';
  if (rcode === Rcode.SERVFAIL) return 'servfail';
  return 'other';
}

/** RFC 2181 §8: a TTL with the top bit set is treated as zero. */
function readTtl(msg: Buffer, at: number): number {
  const ttl = msg.readUInt32BE(at);
  return ttl > 0x7fffffff ? 0 : ttl;
}

/**
 * Offset just past the name at `pos`, or -1 when it is malformed: reserved label types,
 * running past the end, a pointer that does not point backwards, or more than 255 octets
 * before a pointer. Pointers are not followed: only the bytes of this name are walked.
 */
function skipName(msg: Buffer, pos: number): number {
  const start = pos;
  for (;;) {
    if (pos >= msg.length) return -1;
    const len = msg[pos]!;
    if (len === 0) return pos + 1;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= msg.length) return -1;
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!;
      return target < pos ? pos + 2 : -1;
    }
    if (kind !== 0) return -1;
    pos += len + 1;
    if (pos - start > 255) return -1;
  }
}

/** Flags a reply copies from the query: RD (RFC 1035 §4.1.1) and CD (RFC 4035 §3.2.2). */
const COPIED_FLAGS = Flag.RD | Flag.CD;

export interface RelayOptions {
  /** Seconds since the reply was received: subtracted from every TTL, floored at 0. */
  readonly ageSeconds: number;
  /** Largest reply the client can take (its UDP payload size, or 65535 over TCP). */
  readonly maxSize: number;
  /** Our UDP payload size, written into our OPT. */
  readonly advertisedUdpSize: number;
  /** When serving stale data (RFC 8767 §4), every TTL is set to this instead. */
  readonly staleTtl?: number;
}

/**
 * The reply for `query` from a stored upstream reply:
 * - the client's ID and question bytes (its own letter case, RFC 1034 §3.1 / 0x20 clients;
 *   owner names compressed to the question follow it too);
 * - QR and RA set, RD and CD copied from the client, AA cleared (we are not the authority
 *   and this may come from our cache), AD kept only for a client that asked for DNSSEC with
 *   DO or AD (RFC 6840 §5.7), the upstream's RCODE;
 * - every TTL reduced by the age (RFC 1035 §6.1.3 / RFC 2308 §5: cached TTLs count down), or
 *   set to `staleTtl` for stale data;
 * - the upstream's OPT dropped and ours appended iff the client sent one (RFC 6891 §7), with
 *   the client's DO and the upstream's extended RCODE bits;
 * - when it does not fit `maxSize`: the additional section goes first (RFC 2181 §9), and if
 *   that is not enough, question only with TC (RFC 1035 §4.2.1, RFC 7766 §5).
 */
export function relayToClient(stored: StoredReply, query: Query, options: RelayOptions): Buffer {
  const { info, bytes: src } = stored;
  const opt = query.edns ? OPT_LENGTH : 0;
  let body = info.end;
  let ancount = info.answerCount;
  let nscount = info.authorityCount;
  let arcount = info.additionalCount;
  let truncated = info.truncated;
  if (body + opt > options.maxSize) {
    if (info.additionalStart + opt <= options.maxSize) {
      body = info.additionalStart;
      arcount = 0;
    } else {
      body = info.questionEnd;
      ancount = nscount = arcount = 0;
      truncated = true;
    }
  }
  if (truncated) {
    body = info.questionEnd;
    ancount = nscount = arcount = 0;
  }

  const out = Buffer.allocUnsafe(body + opt);
  src.copy(out, 0, 0, body);
  out.writeUInt16BE(query.id, 0);
  const dnssecAware = query.edns?.dnssecOk === true || (query.flags & Flag.AD) !== 0;
  const flags =
    Flag.QR |
    (query.flags & 0x7800) | // opcode
    Flag.RA |
    (query.flags & COPIED_FLAGS) |
    (dnssecAware ? info.flags & Flag.AD : 0) |
    (truncated ? Flag.TC : 0) |
    (info.rcode & 0xf);
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(ancount, 6);
  out.writeUInt16BE(nscount, 8);
  out.writeUInt16BE(arcount + (opt ? 1 : 0), 10);
  // The client's spelling of the name; same length as ours, only ASCII case differs.
  if (query.nameInline && query.nameEnd === info.questionEnd - 4) query.message.copy(out, HEADER, HEADER, query.nameEnd);

  const age = Math.max(0, Math.floor(options.ageSeconds));
  const stale = options.staleTtl;
  for (const at of info.ttlOffsets) {
    if (at >= body) break;
    const ttl = stale ?? Math.max(0, readTtl(src, at) - age);
    out.writeUInt32BE(ttl, at);
  }

  if (opt) {
    const at = body;
    out[at] = 0; // root owner
    out.writeUInt16BE(RRType.OPT, at + 1);
    out.writeUInt16BE(options.advertisedUdpSize, at + 3);
    out[at + 5] = (info.rcode >> 4) & 0xff; // extended RCODE (RFC 6891 §6.1.3)
    out[at + 6] = 0; // version 0
    out.writeUInt16BE(query.edns!.dnssecOk ? 0x8000 : 0, at + 7);
    out.writeUInt16BE(0, at + 9);
  }
  return out;
}
