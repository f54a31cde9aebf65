import { RRClass, RRType } from '../dns/constants.js';
import { type Name } from '../dns/name.js';
import type { RData, RR } from '../dns/records.js';
import { ipv4Bytes, ipv6Bytes } from '../dns/ip.js';

/** A '.' inside a label, as names hold it (dns/name.ts labelBytes). */
const ESCAPED_DOT = 0x12e;

export interface MessageWriterOptions {
  /**
   * Whether a name written uncompressed (SRV, DNAME, NAPTR targets) offers each of its
   * suffixes to later names (default), or only itself: a zone transfer writes a hundred
   * thousand SRV targets, and a lookup per label was a fifth of its encoding time, for the rare
   * later name that shares a suffix with a target and with no owner written before it.
   */
  readonly uncompressedSuffixes?: boolean;
  /** Whether to list the pointers written (`pointers`, default), which only reply templates read. */
  readonly trackPointers?: boolean;
}

/**
 * Writes DNS messages. Hand-written rather than dns2's writer because that one stores one
 * array element per bit (about 3x slower), writes label bytes as Latin-1 from JS strings, and
 * gives no access to offsets, which the pre-encoded responses need to patch ID, flags and the
 * question per query. Only this folder sees bytes.
 */
export class MessageWriter {
  #buf: Buffer;
  #pos = 0;
  /** Suffix name → offset of its first occurrence, for compression (RFC 1035 §4.1.4). */
  readonly #names = new Map<Name, number>();
  /**
   * Every compression pointer written, as (offset of the pointer, offset it points at) pairs:
   * lets a template that reorders records in place (SRV ordering, wire/spread.ts) re-aim the
   * pointers that point into the records it moves.
   */
  readonly pointers: number[] = [];
  /** See MessageWriterOptions.uncompressedSuffixes. */
  readonly #uncompressedSuffixes: boolean;
  readonly #trackPointers: boolean;
  /** The owner of the last record written and its offset: the next record of an RRset points there without a lookup. */
  #owner: Name | undefined;
  #ownerAt = 0;

  constructor(initialSize = 512, options: MessageWriterOptions = {}) {
    // Unfilled: only the bytes written are ever read or handed out.
    this.#buf = Buffer.allocUnsafe(initialSize);
    this.#uncompressedSuffixes = options.uncompressedSuffixes ?? true;
    this.#trackPointers = options.trackPointers ?? true;
  }

  get length(): number {
    return this.#pos;
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  u8(v: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = v;
  }

  // u16 and u32 write their bytes by hand: Buffer's writeUInt16BE and writeUInt32BE check
  // their arguments through several calls each, and a zone transfer makes millions of them.
  // The same outcomes: u16 throws out of range, u32 wraps (as `>>> 0` did).
  u16(v: number): void {
    if (!(v >= 0 && v <= 0xffff)) throw new RangeError(`${v} does not fit in 16 bits`);
    this.#ensure(2);
    const buf = this.#buf;
    const at = this.#pos;
    buf[at] = v >>> 8;
    buf[at + 1] = v;
    this.#pos = at + 2;
  }

  u32(v: number): void {
    this.#ensure(4);
    const buf = this.#buf;
    const at = this.#pos;
    buf[at] = v >>> 24;
    buf[at + 1] = v >>> 16;
    buf[at + 2] = v >>> 8;
    buf[at + 3] = v;
    this.#pos = at + 4;
  }

  bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  /**
   * Forgets everything written from `offset` on, with the names it made available for
   * compression and the pointers it wrote: a record that did not fit is taken back whole.
   * O(names written) per call: for the rare record that overflows a message.
   */
  rewind(offset: number): void {
    if (offset >= this.#pos) return;
    this.#pos = offset;
    if (this.#ownerAt >= offset) this.#owner = undefined;
    for (const [name, at] of this.#names) if (at >= offset) this.#names.delete(name);
    let keep = this.pointers.length;
    while (keep >= 2 && this.pointers[keep - 2]! >= offset) keep -= 2;
    this.pointers.length = keep;
  }

  patchU16(offset: number, v: number): void {
    this.#buf.writeUInt16BE(v, offset);
  }

  /** A <character-string> (RFC 1035 §3.3): one length octet, at most 255 bytes. */
  characterString(b: Uint8Array): void {
    if (b.length > 255) throw new Error(`character-string of ${b.length} octets exceeds 255`);
    this.u8(b.length);
    this.bytes(b);
  }

  /**
   * A domain name, compressed against names already written when `compress` is set. Only
   * the RDATA of RFC 1035 types may be compressed (RFC 3597 §4); SRV targets must not be
   * (RFC 2782), nor DNAME targets (RFC 6672 §2.5).
   */
  name(name: Name, compress = true): void {
    let rest = name;
    if (!compress && !this.#uncompressedSuffixes) {
      // The whole name alone is offered to later names: one lookup instead of one per label.
      if (this.#pos < 0x4000 && !this.#names.has(name)) this.#names.set(name, this.#pos);
      this.#labels(name);
      return;
    }
    while (rest !== '') {
      if (compress) {
        const at = this.#names.get(rest);
        if (at !== undefined) {
          if (this.#trackPointers) this.pointers.push(this.#pos, at);
          this.u16(0xc000 | at);
          return;
        }
      }
      // Pointers are 14 bits: only the first 16 KiB can be pointed at. (Looked up above when
      // compressing: not there.)
      if (this.#pos < 0x4000 && (compress || !this.#names.has(rest))) this.#names.set(rest, this.#pos);
      const dot = rest.indexOf('.');
      const length = dot < 0 ? rest.length : dot;
      // The label's bytes straight into the buffer (labelBytes' mapping, without a label string
      // and an array per label: a zone transfer writes a million labels).
      this.#ensure(length + 1);
      const buf = this.#buf;
      let at = this.#pos;
      buf[at++] = length;
      for (let i = 0; i < length; i++) {
        const c = rest.charCodeAt(i);
        buf[at++] = c === ESCAPED_DOT ? 0x2e : c;
      }
      this.#pos = at;
      rest = dot < 0 ? '' : rest.slice(dot + 1);
    }
    this.u8(0);
  }

  /** A name's labels and the root label, uncompressed, offering no suffix to later names. */
  #labels(name: Name): void {
    this.#ensure(name.length + 2);
    const buf = this.#buf;
    let at = this.#pos;
    let lengthAt = at++;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c === 0x2e) {
        buf[lengthAt] = at - lengthAt - 1;
        lengthAt = at++;
      } else {
        buf[at++] = c === ESCAPED_DOT ? 0x2e : c;
      }
    }
    if (name.length > 0) {
      buf[lengthAt] = at - lengthAt - 1;
      buf[at++] = 0;
    } else {
      buf[lengthAt] = 0;
    }
    this.#pos = at;
  }

  record(rr: RR, rrClass: number = RRClass.IN): void {
    this.recordOf(rr.name, rr.type, rr.ttl, rr.data, rrClass);
  }

  /** `record` from its parts: one record of an RRset, without an RR object per record. */
  recordOf(name: Name, type: number, ttl: number, data: RData, rrClass: number = RRClass.IN): void {
    if (name === this.#owner) {
      // The next record of the same owner (an RRset): a pointer to where the owner was written.
      if (this.#trackPointers) this.pointers.push(this.#pos, this.#ownerAt);
      this.u16(0xc000 | this.#ownerAt);
    } else {
      const at = this.#pos;
      this.name(name);
      if (at < 0x4000) {
        // Where the name itself was written, or where its pointer points (it starts with one).
        this.#owner = name;
        this.#ownerAt = this.#buf[at]! >= 0xc0 ? this.#buf.readUInt16BE(at) & 0x3fff : at;
      }
    }
    this.u16(type);
    this.u16(rrClass);
    // RFC 2181 §8: TTLs above 2^31-1 are treated as 0 by resolvers; clamp rather than wrap.
    this.u32(Math.min(Math.max(0, Math.floor(ttl)), 0x7fffffff));
    const lengthAt = this.#pos;
    this.u16(0);
    this.rdata(data);
    const length = this.#pos - lengthAt - 2;
    if (length > 0xffff) throw new Error(`RDATA of ${length} octets exceeds 65535`);
    this.patchU16(lengthAt, length);
  }

  rdata(data: RData): void {
    if ('generic' in data) {
      this.bytes(data.raw);
      return;
    }
    const type: number = data.type;
    switch (data.type) {
      case RRType.A: {
        this.#ensure(4);
        if (!ipv4Bytes(data.address, this.#buf, this.#pos)) throw new Error(`bad IPv4 address ${data.address}`);
        this.#pos += 4;
        return;
      }
      case RRType.AAAA: {
        const b = ipv6Bytes(data.address);
        if (!b) throw new Error(`bad IPv6 address ${data.address}`);
        this.bytes(b);
        return;
      }
      case RRType.NS:
      case RRType.CNAME:
      case RRType.PTR:
        this.name(data.target);
        return;
      case RRType.DNAME:
        this.name(data.target, false);
        return;
      case RRType.MX:
        this.u16(data.preference);
        this.name(data.exchange);
        return;
      case RRType.SRV:
        this.u16(data.priority);
        this.u16(data.weight);
        this.u16(data.port);
        this.name(data.target, false);
        return;
      case RRType.TXT:
      case RRType.SPF:
        for (const s of data.strings) this.characterString(s);
        return;
      case RRType.SOA:
        this.name(data.mname);
        this.name(data.rname);
        this.u32(data.serial);
        this.u32(data.refresh);
        this.u32(data.retry);
        this.u32(data.expire);
        this.u32(data.minimum);
        return;
      case RRType.CAA:
        this.u8(data.flags);
        this.characterString(Buffer.from(data.tag, 'latin1'));
        this.bytes(data.value);
        return;
      case RRType.HINFO:
        this.characterString(data.cpu);
        this.characterString(data.os);
        return;
      case RRType.NAPTR:
        this.u16(data.order);
        this.u16(data.preference);
        this.characterString(data.flags);
        this.characterString(data.services);
        this.characterString(data.regexp);
        this.name(data.replacement, false);
        return;
      default:
        // Only untyped callers get here: typed RData is generic or one of the shapes above.
        throw new Error(`no encoder for type ${type}`);
    }
  }

  /** A copy of what was written. */
  toBuffer(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#pos));
  }

  /**
   * What was written, without a copy: for a writer that is done (nothing may be written to it
   * after). A zone transfer makes and drops a writer per message.
   */
  finish(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }
}
