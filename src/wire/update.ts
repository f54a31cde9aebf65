/**
 * The bytes of DNS UPDATE (RFC 2136): reading an UPDATE message into its zone, prerequisite
 * and update sections, the canonical RDATA a record is stored under, and the reply. What the
 * records mean is decided in src/update/; only this folder sees bytes.
 */
import { createHash } from 'node:crypto';
import { Flag, RRType } from '../dns/constants.js';
import { formatIPv6 } from '../dns/ip.js';
import type { Name } from '../dns/name.js';
import type { RData } from '../dns/records.js';
import { readName } from '../dns/wire-name.js';
import type { Edns } from './query.js';
import { MessageWriter } from './writer.js';

/** EDNS(0) option code of Update Lease (RFC 9664 §4). */
const UPDATE_LEASE_OPTION = 2;
/** EDNS(0) option code of Extended DNS Errors (RFC 8914 §2). */
const EDE_OPTION = 15;
const TSIG_TYPE = 250;

/** One record of the prerequisite or update section, as sent (RFC 2136 §2.4, §2.5). */
export interface UpdateRecord {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  /** RDLENGTH: 0 for the "value-independent" forms (class ANY, and the deletes). */
  readonly rdlength: number;
  /** The RDATA read field by field (names canonical), or RFC 3597 opaque for other types; undefined when empty. */
  readonly data: RData | undefined;
}

/** RFC 9664 §4: LEASE, and KEY-LEASE when the option had 8 octets. */
export interface UpdateLease {
  readonly lease: number;
  readonly keyLease: number | undefined;
}

export interface UpdateMessage {
  readonly zone: Name;
  readonly zoneClass: number;
  readonly prerequisites: readonly UpdateRecord[];
  readonly updates: readonly UpdateRecord[];
  readonly lease: UpdateLease | undefined;
}



/**
 * Reads the sections of an UPDATE whose header and zone section (`zoneEnd` just past it) were
 * read already. Returns why not for anything malformed (FORMERR, RFC 2136 §3.1.1, §3.2, §3.4):
 * records that run past the message, RDATA that does not fill its length, an OPT that is not
 * well formed. A TSIG record is left to the TSIG stage; other additional records are ignored
 * (§2.6 gives them no meaning here). Never throws.
 */
export function readUpdateSections(
  message: Buffer,
  zone: { name: Name; class: number; end: number },
): { update: UpdateMessage; edns: Edns | undefined } | string {
  const prcount = message.readUInt16BE(6);
  const upcount = message.readUInt16BE(8);
  const adcount = message.readUInt16BE(10);
  let at = zone.end;
  const prerequisites: UpdateRecord[] = [];
  const updates: UpdateRecord[] = [];
  for (let i = 0; i < prcount + upcount; i++) {
    const rr = readRecord(message, at);
    if (typeof rr === 'string') return `${i < prcount ? 'prerequisite' : 'update'} ${i < prcount ? i + 1 : i - prcount + 1}: ${rr}`;
    (i < prcount ? prerequisites : updates).push(rr.record);
    at = rr.end;
  }
  let edns: Edns | undefined;
  let lease: UpdateLease | undefined;
  for (let i = 0; i < adcount; i++) {
    const head = readHead(message, at);
    if (typeof head === 'string') return `additional ${i + 1}: ${head}`;
    if (head.type === RRType.OPT) {
      if (edns) return 'more than one OPT record';
      if (head.name !== '') return 'OPT record not owned by the root';
      const options = readOptions(message, head.rdata, head.end);
      if (typeof options === 'string') return options;
      const ttl = message.readUInt32BE(head.rdata - 6);
      edns = { udpSize: Math.max(512, head.class), version: (ttl >>> 16) & 0xff, dnssecOk: (ttl & 0x8000) !== 0 };
      const raw = options.get(UPDATE_LEASE_OPTION);
      if (raw) {
        if (raw.length !== 4 && raw.length !== 8) return `Update Lease option of ${raw.length} octets (RFC 9664 §4: 4 or 8)`;
        lease = { lease: raw.readUInt32BE(0), keyLease: raw.length === 8 ? raw.readUInt32BE(4) : undefined };
      }
    } else if (head.type === TSIG_TYPE && i !== adcount - 1) {
      return 'TSIG is not the last record (RFC 8945 §5.1)';
    }
    at = head.end;
  }
  if (at !== message.length) return 'trailing octets after the last record';
  return { update: { zone: zone.name, zoneClass: zone.class, prerequisites, updates, lease }, edns };
}

interface Head {
  name: Name;
  type: number;
  class: number;
  ttl: number;
  /** Offset of the RDATA, and just past it. */
  rdata: number;
  end: number;
}

function readHead(msg: Buffer, at: number): Head | string {
  const name = readName(msg, at);
  if (typeof name === 'string') return name;
  if (name.end + 10 > msg.length) return 'record truncated';
  const rdlength = msg.readUInt16BE(name.end + 8);
  const rdata = name.end + 10;
  if (rdata + rdlength > msg.length) return 'RDATA runs past the end of the message';
  return { name: name.name, type: msg.readUInt16BE(name.end), class: msg.readUInt16BE(name.end + 2), ttl: msg.readUInt32BE(name.end + 4), rdata, end: rdata + rdlength };
}

function readRecord(msg: Buffer, at: number): { record: UpdateRecord; end: number } | string {
  const head = readHead(msg, at);
  if (typeof head === 'string') return head;
  const rdlength = head.end - head.rdata;
  let data: RData | undefined;
  if (rdlength > 0) {
    const read = readRData(msg, head.type, head.rdata, head.end);
    if (typeof read === 'string') return read;
    data = read;
  }
  return { record: { name: head.name, type: head.type, class: head.class, ttl: head.ttl, rdlength, data }, end: head.end };
}

/** The RDATA of the types UPDATE writes, field by field; any other type as opaque bytes. */
function readRData(msg: Buffer, type: number, from: number, end: number): RData | string {
  const nameAt = (at: number): { name: Name; end: number } | string => {
    const n = readName(msg, at);
    if (typeof n === 'string') return n;
    // A compressed name may point anywhere before it, but its own octets stay inside RDATA.
    return n.end > end ? 'name runs past RDATA' : n;
  };
  const filled = (n: { end: number }) => (n.end === end ? undefined : `${end - n.end} octets after the RDATA's fields`);
  switch (type) {
    case RRType.A:
      if (end - from !== 4) return `A RDATA of ${end - from} octets`;
      return { type, address: `${msg[from]}.${msg[from + 1]}.${msg[from + 2]}.${msg[from + 3]}` };
    case RRType.AAAA:
      if (end - from !== 16) return `AAAA RDATA of ${end - from} octets`;
      return { type, address: formatIPv6(msg.subarray(from, end)) };
    case RRType.CNAME:
    case RRType.PTR:
    case RRType.NS:
    case RRType.DNAME: {
      const n = nameAt(from);
      if (typeof n === 'string') return n;
      return filled(n) ?? { type, target: n.name };
    }
    case RRType.MX: {
      if (end - from < 3) return 'MX RDATA truncated';
      const n = nameAt(from + 2);
      if (typeof n === 'string') return n;
      return filled(n) ?? { type, preference: msg.readUInt16BE(from), exchange: n.name };
    }
    case RRType.SRV: {
      if (end - from < 7) return 'SRV RDATA truncated';
      const n = nameAt(from + 6);
      if (typeof n === 'string') return n;
      return filled(n) ?? { type, priority: msg.readUInt16BE(from), weight: msg.readUInt16BE(from + 2), port: msg.readUInt16BE(from + 4), target: n.name };
    }
    case RRType.TXT: {
      const strings: Uint8Array[] = [];
      for (let p = from; p < end; ) {
        const length = msg[p]!;
        if (p + 1 + length > end) return 'TXT string runs past RDATA';
        strings.push(Uint8Array.from(msg.subarray(p + 1, p + 1 + length)));
        p += 1 + length;
      }
      return { type, strings };
    }
    default:
      return { type, generic: true, raw: Uint8Array.from(msg.subarray(from, end)) };
  }
}

/** OPT options by code; why not when they do not exactly fill RDATA (RFC 6891 §6.1.2). */
function readOptions(msg: Buffer, from: number, end: number): Map<number, Buffer> | string {
  const options = new Map<number, Buffer>();
  for (let p = from; p < end; ) {
    if (p + 4 > end) return 'OPT option header truncated';
    const length = msg.readUInt16BE(p + 2);
    if (p + 4 + length > end) return 'OPT option runs past RDATA';
    options.set(msg.readUInt16BE(p), msg.subarray(p + 4, p + 4 + length));
    p += 4 + length;
  }
  return options;
}

/**
 * The RDATA in canonical form (RFC 4034 §6.2: names uncompressed, in lower case, which
 * `Name`s are), the bytes that identify a record within its RRset.
 */
function canonicalRData(data: RData): Buffer {
  // A fresh writer has no names to point at: every name is written whole.
  const w = new MessageWriter(64);
  w.rdata(data);
  return w.toBuffer();
}

/**
 * The stable identity of one record at its name: 16 hex digits of SHA-256 over its type and
 * canonical RDATA. Two UPDATEs of the same record, from any replica, name the same etcd key.
 */
export function recordHash(data: RData): string {
  const type = Buffer.alloc(2);
  type.writeUInt16BE(data.type);
  return createHash('sha256').update(type).update(canonicalRData(data)).digest('hex').slice(0, 16);
}

/** What the reply to an UPDATE says besides its RCODE (RFC 2136 §3.8). */
export interface UpdateReplyOptions {
  readonly id: number;
  readonly queryFlags: number;
  readonly rcode: number;
  /** The zone section as the client sent it, echoed. */
  readonly zoneSection: Uint8Array;
  /** The client's EDNS: the reply carries OPT only when the request did (RFC 6891 §7). */
  readonly edns: Edns | undefined;
  readonly advertisedUdpSize: number;
  /** RFC 9664 §4: the lease granted, in the option's form. */
  readonly lease?: UpdateLease;
  /** RFC 8914: why a refusal, for clients that sent EDNS. */
  readonly extendedError?: { readonly code: number; readonly text: string };
}

/** The reply: header (QR, opcode UPDATE, RCODE), the zone section, and OPT when the client sent one. */
export function renderUpdateReply(o: UpdateReplyOptions): Buffer {
  const w = new MessageWriter(64 + o.zoneSection.length);
  w.u16(o.id);
  w.u16(Flag.QR | (o.queryFlags & 0x7800) | (o.rcode & 0xf));
  w.u16(1);
  w.u16(0);
  w.u16(0);
  w.u16(o.edns ? 1 : 0);
  w.bytes(o.zoneSection);
  if (o.edns) {
    const options = new MessageWriter(32);
    if (o.lease) {
      options.u16(UPDATE_LEASE_OPTION);
      options.u16(o.lease.keyLease === undefined ? 4 : 8);
      options.u32(o.lease.lease);
      if (o.lease.keyLease !== undefined) options.u32(o.lease.keyLease);
    }
    if (o.extendedError) {
      const text = Buffer.from(o.extendedError.text.slice(0, 200), 'utf8');
      options.u16(EDE_OPTION);
      options.u16(2 + text.length);
      options.u16(o.extendedError.code);
      options.bytes(text);
    }
    const rdata = options.toBuffer();
    w.u8(0);
    w.u16(RRType.OPT);
    w.u16(o.advertisedUdpSize);
    w.u8((o.rcode >> 4) & 0xff);
    w.u8(0);
    w.u16(o.edns.dnssecOk ? 0x8000 : 0);
    w.u16(rdata.length);
    w.bytes(rdata);
  }
  return w.toBuffer();
}
