/**
 * The messages of a zone transfer (AXFR, RFC 5936 §2.2; IXFR, RFC 1995 §4): the records a
 * caller hands in, in order, packed many to a message. Each message is complete on its own
 * (header, compressed names pointing only inside it), so the caller can send, sign and forget
 * it: a transfer holds one message in memory at a time, whatever the zone's size.
 */
import { Flag, RRType } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import type { RData, RR } from '../dns/records.js';
import { readName } from '../dns/wire-name.js';
import type { Query } from './query.js';
import { questionSection } from './response.js';
import { MessageWriter } from './writer.js';

/**
 * Messages are closed once they pass this size. 16 KiB as BIND: names past the first 16 KiB of
 * a message cannot be compression targets (14-bit pointers), so larger messages grow faster
 * than they fill, and a secondary reads a small message as soon as it arrives.
 */
const TRANSFER_MESSAGE_SOFT_LIMIT = 16 * 1024;

/** The 2-byte TCP length prefix bounds a message (RFC 1035 §4.2.2). */
const TCP_MESSAGE_MAX = 0xffff;

/** Room kept at the end of every message for OPT (11 octets) and a TSIG record (RFC 8945 §4.2). */
const TRAILER_RESERVE = 512;

export interface TransferPackerOptions {
  /** The UDP size we advertise in OPT, when the request had one (RFC 6891 §7). */
  readonly advertisedUdpSize: number;
  /** Close a message once it is this long (default TRANSFER_MESSAGE_SOFT_LIMIT). */
  readonly softLimit?: number;
}

/** Packs records into transfer messages: `add` each record, then `finish`. */
export class TransferPacker {
  readonly #query: Query;
  readonly #question: Uint8Array;
  readonly #softLimit: number;
  readonly #udpSize: number;
  #writer: MessageWriter | undefined;
  #answers = 0;
  #first = true;
  /** Messages made so far. */
  messages = 0;
  /** Records packed so far. */
  records = 0;

  constructor(query: Query, options: TransferPackerOptions) {
    this.#query = query;
    this.#question = questionSection(query.message, { ...query, inline: query.nameInline });
    this.#softLimit = Math.min(options.softLimit ?? TRANSFER_MESSAGE_SOFT_LIMIT, TCP_MESSAGE_MAX - TRAILER_RESERVE);
    this.#udpSize = options.advertisedUdpSize;
  }

  /** Adds one record; returns the message this closed, if it closed one. */
  add(rr: RR): Buffer | undefined {
    return this.addRecord(rr.name, rr.type, rr.ttl, rr.data);
  }

  /** `add` from a record's parts (the records of an RRset, without an RR object each). */
  addRecord(name: Name, type: number, ttl: number, data: RData): Buffer | undefined {
    let done: Buffer | undefined;
    const w = (this.#writer ??= this.#start());
    const before = w.length;
    w.recordOf(name, type, ttl, data);
    if (w.length > TCP_MESSAGE_MAX - TRAILER_RESERVE && this.#answers > 0) {
      // It does not fit after the others: it opens the next message.
      w.rewind(before);
      done = this.#close();
      const next = (this.#writer = this.#start());
      next.recordOf(name, type, ttl, data);
    }
    if (this.#writer!.length > TCP_MESSAGE_MAX - TRAILER_RESERVE) throw new Error(`a record of ${this.#writer!.length} octets does not fit in a message`);
    this.#answers++;
    this.records++;
    if (this.#writer!.length >= this.#softLimit) {
      // A record that opened a message cannot also fill it past the soft limit and the hard one.
      done ??= this.#close();
    }
    return done;
  }

  /** The last message, if records are pending (or none was made yet: an empty transfer still answers). */
  finish(): Buffer | undefined {
    if (!this.#writer && !this.#first) return undefined;
    this.#writer ??= this.#start();
    return this.#close();
  }

  #start(): MessageWriter {
    const w = new MessageWriter(this.#softLimit + 1024, { uncompressedSuffixes: false, trackPointers: false });
    const q = this.#query;
    w.u16(q.id);
    // QR, AA (we are authoritative for what we transfer), the query's opcode and RD/CD echoed.
    w.u16(Flag.QR | Flag.AA | (q.flags & (0x7800 | Flag.RD | Flag.CD)));
    // RFC 5936 §2.2.1: the question in the first message; later ones may leave it out.
    w.u16(this.#first ? 1 : 0);
    w.u16(0);
    w.u16(0);
    w.u16(0);
    if (this.#first) w.bytes(this.#question);
    this.#first = false;
    this.#answers = 0;
    return w;
  }

  #close(): Buffer {
    const w = this.#writer!;
    this.#writer = undefined;
    w.patchU16(6, this.#answers);
    if (this.#query.edns) {
      w.patchU16(10, 1);
      w.u8(0);
      w.u16(RRType.OPT);
      w.u16(this.#udpSize);
      w.u32(0);
      w.u16(0);
    }
    this.messages++;
    return w.finish();
  }
}

/**
 * The serial an IXFR request says the client has: the SOA in its authority section (RFC 1995
 * §3), or why there is none to read (the caller answers FORMERR).
 */
export function ixfrRequestSerial(query: Query): number | string {
  const msg = query.message;
  if (msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 1) return 'an IXFR request carries one SOA in the authority section and no answers';
  const owner = readName(msg, query.questionEnd);
  if (typeof owner === 'string') return `authority SOA owner: ${owner}`;
  let at = owner.end;
  if (at + 10 > msg.length) return 'authority record truncated';
  if (msg.readUInt16BE(at) !== RRType.SOA) return 'the authority record is not an SOA';
  const rdlength = msg.readUInt16BE(at + 8);
  at += 10;
  const rdataEnd = at + rdlength;
  if (rdataEnd > msg.length) return 'authority SOA runs past the end of the message';
  for (const field of ['mname', 'rname']) {
    const name = readName(msg, at);
    if (typeof name === 'string') return `authority SOA ${field}: ${name}`;
    at = name.end;
  }
  if (at + 20 !== rdataEnd) return 'authority SOA RDATA has the wrong length';
  return msg.readUInt32BE(at);
}
