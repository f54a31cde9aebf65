/**
 * TSIG (RFC 8945): HMAC signatures over DNS messages with a shared key, which secondaries use
 * to authenticate zone transfers and NOTIFY. This module finds and checks the TSIG of a
 * request, signs the messages of a response stream (an AXFR's many messages are chained,
 * §5.3.1), builds the TSIG an error reply carries (§5.3.2), and signs requests / checks the
 * first response for the client side (outgoing NOTIFY).
 *
 * A MAC covers the message as it was before the TSIG RR was added (ARCOUNT one less, the ID
 * the Original ID), followed by the "TSIG variables" (§4.3.3); a response's MAC also covers
 * the request's MAC, and each later message of a stream the MAC before it (§4.3.1, §5.3.1).
 * The HMAC is fed the message's bytes in place (Hmac.update on subarrays): one 12-octet header
 * copy and the small variables block are the only allocations besides the signed copy.
 */
import { createHmac, timingSafeEqual, type Hmac } from 'node:crypto';
import { RRClass } from '../dns/constants.js';
import { labelBytes, labels, type Name } from '../dns/name.js';
import { TSIG_ALGORITHMS, type TsigKey } from '../dns/tsig-key.js';
import { readName } from '../dns/wire-name.js';

/** RR type TSIG (RFC 8945 §4.2). */
const TSIG_TYPE = 250;

/** TSIG error codes in the TSIG RR's Error field (RFC 8945 §3, IANA "DNS RCODEs"). */
const TsigErrorCode = { BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

/**
 * The most clock difference accepted, whatever Fudge the request carries: the client's own
 * fudge (up to 65535 s) would otherwise decide how old a captured request may be and still be
 * accepted. 300 s is RFC 8945 §10's recommended fudge.
 */
export const MAX_FUDGE_SECONDS = 300;

/** RCODE of a reply refused for a TSIG error (RFC 8945 §5.2.1–§5.2.3). */
const NOTAUTH = 9;
const FORMERR = 1;

/** The TSIG RR of a message, as found by findTsig. */
export interface TsigRecord {
  /** Owner name: the key's name, canonical. */
  readonly keyName: Name;
  /** The Algorithm Name field, canonical (e.g. `hmac-sha256`, `hmac-md5.sig-alg.reg.int`). */
  readonly algorithmName: Name;
  /** Seconds since the epoch, 48 bits. */
  readonly timeSigned: number;
  readonly fudge: number;
  /** A view into the message's buffer, not a copy. */
  readonly mac: Buffer;
  readonly originalId: number;
  readonly error: number;
  /** A view into the message's buffer, not a copy. */
  readonly other: Buffer;
  /** Offset of the TSIG RR (its owner name) in the message: what the MAC covers ends here. */
  readonly offset: number;
}

/**
 * The TSIG RR of `message`: undefined when it has none, a reason (answer FORMERR) when it is
 * malformed or misplaced. It must be the last record of the additional section, and there
 * can be only one (RFC 8945 §5.1, §5.2); the walk reads every record's header to know.
 */
export function findTsig(message: Buffer): TsigRecord | undefined | string {
  if (message.length < 12) return 'message is shorter than its header';
  const qdCount = message.readUInt16BE(4);
  const anCount = message.readUInt16BE(6);
  const nsCount = message.readUInt16BE(8);
  const arCount = message.readUInt16BE(10);
  const records = anCount + nsCount + arCount;
  // Most queries carry nothing past the question, or only an OPT: no TSIG to look for.
  if (records === 0) return undefined;
  let pos = 12;
  for (let i = 0; i < qdCount; i++) {
    const name = readName(message, pos);
    if (typeof name === 'string') return `question ${i + 1}: name ${name}`;
    pos = name.end + 4;
    if (pos > message.length) return `question ${i + 1} runs past the end of the message`;
  }
  for (let i = 0; i < records; i++) {
    const start = pos;
    const owner = readName(message, pos);
    if (typeof owner === 'string') return `record ${i + 1}: owner name ${owner}`;
    pos = owner.end;
    if (pos + 10 > message.length) return `record ${i + 1} runs past the end of the message`;
    const type = message.readUInt16BE(pos);
    const rdLength = message.readUInt16BE(pos + 8);
    const rdata = pos + 10;
    pos = rdata + rdLength;
    if (pos > message.length) return `record ${i + 1}: RDATA runs past the end of the message`;
    if (type !== TSIG_TYPE) continue;
    if (i !== records - 1 || i < anCount + nsCount) return 'TSIG is not the last record of the additional section (RFC 8945 §5.1)';
    if (message.readUInt16BE(owner.end + 2) !== RRClass.ANY) return 'TSIG class is not ANY (RFC 8945 §4.2)';
    if (message.readUInt32BE(owner.end + 4) !== 0) return 'TSIG TTL is not 0 (RFC 8945 §4.2)';
    // Octets after the TSIG would be covered by no MAC: the message is not what was signed.
    if (pos !== message.length) return 'data after the TSIG record';
    return readTsigRdata(message, owner.name, start, rdata, pos);
  }
  return undefined;
}

function readTsigRdata(message: Buffer, keyName: Name, offset: number, rdata: number, end: number): TsigRecord | string {
  const algorithm = readName(message, rdata);
  if (typeof algorithm === 'string') return `TSIG algorithm name ${algorithm}`;
  let pos = algorithm.end;
  if (pos + 10 > end) return 'TSIG RDATA is too short';
  const timeSigned = message.readUIntBE(pos, 6);
  const fudge = message.readUInt16BE(pos + 6);
  const macSize = message.readUInt16BE(pos + 8);
  pos += 10;
  if (pos + macSize + 6 > end) return 'TSIG MAC runs past its RDATA';
  const mac = message.subarray(pos, pos + macSize);
  pos += macSize;
  const originalId = message.readUInt16BE(pos);
  const error = message.readUInt16BE(pos + 2);
  const otherLength = message.readUInt16BE(pos + 4);
  pos += 6;
  if (pos + otherLength !== end) return 'TSIG Other Data does not end where its RDATA does';
  const other = message.subarray(pos, end);
  return { keyName, algorithmName: algorithm.name, timeSigned, fudge, mac, originalId, error, other, offset };
}

export type TsigCheck =
  | { readonly kind: 'none' }
  | { readonly kind: 'valid'; readonly key: TsigKey; readonly record: TsigRecord }
  | {
      readonly kind: 'invalid';
      readonly error: 'BADKEY' | 'BADSIG' | 'BADTIME' | 'BADTRUNC' | 'FORMERR';
      /** Absent when the TSIG could not be read at all. */
      readonly record?: TsigRecord;
      /** The key the record names, when it is ours (BADSIG, BADTIME, a too-short MAC). */
      readonly key?: TsigKey;
      /** Why, for the log. */
      readonly reason: string;
    };

/**
 * Checks a request's TSIG against `keys` (by key name) in RFC 8945 §5.2's order: the key
 * (§5.2.1, BADKEY for an unknown name or another algorithm), the MAC (§5.2.2, BADSIG), then
 * the time (§5.2.3, BADTIME when `nowSeconds` is more than the smaller of the request's Fudge
 * and MAX_FUDGE_SECONDS away from Time Signed); the time comes after the MAC so that an
 * unauthenticated message cannot learn the server's clock.
 *
 * Truncated MACs (§5.2.2.1): shorter than the larger of 10 octets and half the hash, empty, or
 * longer than the hash is FORMERR as the RFC says; between that floor and the full hash is
 * BADTRUNC (§5.2.4), our local policy: full MACs only, as BIND does unless a key is configured
 * truncated. A 16-octet hmac-sha256 MAC has half the strength the key promises.
 */
export function checkRequest(message: Buffer, keys: ReadonlyMap<Name, TsigKey>, nowSeconds: number): TsigCheck {
  const record = findTsig(message);
  if (record === undefined) return { kind: 'none' };
  if (typeof record === 'string') return { kind: 'invalid', error: 'FORMERR', reason: record };
  const key = keys.get(record.keyName);
  if (!key) return { kind: 'invalid', error: 'BADKEY', record, reason: `unknown key ${record.keyName}` };
  const algorithm = TSIG_ALGORITHMS[key.algorithm];
  if (record.algorithmName !== algorithm.wireName) {
    return { kind: 'invalid', error: 'BADKEY', record, reason: `key ${record.keyName} is ${algorithm.wireName}, the request says ${record.algorithmName}` };
  }
  const sizeError = macSizeError(record.mac.length, algorithm.macLength);
  if (sizeError) return { kind: 'invalid', error: 'FORMERR', record, key, reason: sizeError };
  const expected = receivedMac(message, record, key, undefined);
  if (!macMatches(expected, record.mac)) return { kind: 'invalid', error: 'BADSIG', record, key, reason: `MAC does not match key ${record.keyName}` };
  const fudge = Math.min(record.fudge, MAX_FUDGE_SECONDS);
  if (Math.abs(Math.floor(nowSeconds) - record.timeSigned) > fudge) {
    return { kind: 'invalid', error: 'BADTIME', record, key, reason: `signed at ${record.timeSigned}, now ${Math.floor(nowSeconds)}, fudge ${fudge}` };
  }
  if (record.mac.length < algorithm.macLength) {
    return { kind: 'invalid', error: 'BADTRUNC', record, key, reason: `MAC truncated to ${record.mac.length} of ${algorithm.macLength} octets` };
  }
  return { kind: 'valid', key, record };
}

/** Why a MAC of `size` octets cannot be checked, for a hash of `full` octets (RFC 8945 §5.2.2.1). */
function macSizeError(size: number, full: number): string | undefined {
  if (size > full) return `MAC of ${size} octets is longer than the hash (${full})`;
  const floor = Math.max(10, Math.ceil(full / 2));
  if (size < floor) return `MAC of ${size} octets is shorter than the minimum ${floor} (RFC 8945 §5.2.2.1)`;
  return undefined;
}

/** Constant time in the MAC's length: compares the received (possibly truncated) MAC's octets. */
function macMatches(expected: Buffer, received: Buffer): boolean {
  return received.length <= expected.length && timingSafeEqual(expected.subarray(0, received.length), received);
}

function hmac(key: TsigKey): Hmac {
  return createHmac(TSIG_ALGORITHMS[key.algorithm].hash, key.secret);
}

/** Feeds a MAC that a digest starts with: its size (u16) then its octets (RFC 8945 §4.3.1). */
function updatePriorMac(h: Hmac, mac: Buffer): void {
  const size = Buffer.allocUnsafe(2);
  size.writeUInt16BE(mac.length, 0);
  h.update(size);
  h.update(mac);
}

/**
 * Feeds `message` up to `end` as it was before its TSIG was added: the ID replaced by the
 * Original ID and ARCOUNT one less when `tsigAdded` (RFC 8945 §4.3.3).
 */
function updateMessage(h: Hmac, message: Buffer, end: number, originalId: number, tsigAdded: boolean): void {
  const header = Buffer.from(message.subarray(0, 12));
  header.writeUInt16BE(originalId, 0);
  if (tsigAdded) header.writeUInt16BE(header.readUInt16BE(10) - 1, 10);
  h.update(header);
  h.update(message.subarray(12, end));
}

/** A name in canonical wire form: uncompressed, lower case (RFC 8945 §4.3.3, RFC 4034 §6.2). */
function canonicalWire(name: Name): Buffer {
  const parts = labels(name).map(labelBytes);
  const out = Buffer.alloc(parts.reduce((n, p) => n + p.length + 1, 1));
  let pos = 0;
  for (const p of parts) {
    out[pos++] = p.length;
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

interface Variables {
  readonly keyName: Buffer;
  readonly algorithmName: Buffer;
  readonly timeSigned: number;
  readonly fudge: number;
  readonly error: number;
  readonly other: Buffer;
}

/** The TSIG variables of RFC 8945 §4.3.3: the TSIG RR without its MAC, Original ID and RDLENGTH. */
function variablesBytes(v: Variables): Buffer {
  const out = Buffer.alloc(v.keyName.length + 2 + 4 + v.algorithmName.length + 6 + 2 + 2 + 2 + v.other.length);
  let pos = v.keyName.copy(out, 0);
  pos = out.writeUInt16BE(RRClass.ANY, pos);
  pos = out.writeUInt32BE(0, pos);
  pos += v.algorithmName.copy(out, pos);
  pos = out.writeUIntBE(v.timeSigned, pos, 6);
  pos = out.writeUInt16BE(v.fudge, pos);
  pos = out.writeUInt16BE(v.error, pos);
  pos = out.writeUInt16BE(v.other.length, pos);
  v.other.copy(out, pos);
  return out;
}

/** The timers alone, which later messages of a stream cover (RFC 8945 §4.3.2, §5.3.1). */
function timersBytes(timeSigned: number, fudge: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUIntBE(timeSigned, 0, 6);
  out.writeUInt16BE(fudge, 6);
  return out;
}

/** The full MAC the sender of `message` must have computed for its TSIG `record`. */
function receivedMac(message: Buffer, record: TsigRecord, key: TsigKey, priorMac: Buffer | undefined): Buffer {
  const h = hmac(key);
  if (priorMac) updatePriorMac(h, priorMac);
  updateMessage(h, message, record.offset, record.originalId, true);
  h.update(
    variablesBytes({
      keyName: canonicalWire(record.keyName),
      algorithmName: canonicalWire(record.algorithmName),
      timeSigned: record.timeSigned,
      fudge: record.fudge,
      error: record.error,
      other: record.other,
    }),
  );
  return h.digest();
}

/** `message` with a TSIG RR appended and ARCOUNT one more (RFC 8945 §4.2). */
function appendTsig(message: Buffer, v: Variables, mac: Buffer, originalId: number): Buffer {
  const rdLength = v.algorithmName.length + 6 + 2 + 2 + mac.length + 2 + 2 + 2 + v.other.length;
  const out = Buffer.alloc(message.length + v.keyName.length + 10 + rdLength);
  message.copy(out, 0);
  out.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  let pos = message.length;
  pos += v.keyName.copy(out, pos);
  pos = out.writeUInt16BE(TSIG_TYPE, pos);
  pos = out.writeUInt16BE(RRClass.ANY, pos);
  pos = out.writeUInt32BE(0, pos);
  pos = out.writeUInt16BE(rdLength, pos);
  pos += v.algorithmName.copy(out, pos);
  pos = out.writeUIntBE(v.timeSigned, pos, 6);
  pos = out.writeUInt16BE(v.fudge, pos);
  pos = out.writeUInt16BE(mac.length, pos);
  pos += mac.copy(out, pos);
  pos = out.writeUInt16BE(originalId, pos);
  pos = out.writeUInt16BE(v.error, pos);
  pos = out.writeUInt16BE(v.other.length, pos);
  v.other.copy(out, pos);
  return out;
}

const EMPTY = Buffer.alloc(0);

/**
 * Signs the messages of one response stream (a reply, or every message of an AXFR/IXFR)
 * answering a request whose TSIG had MAC `requestMac`. The first message's MAC covers the
 * request MAC, the message and the full TSIG variables; each later one's covers the MAC before
 * it, the message and the timers only (RFC 8945 §5.3.1). Every message is signed (RFC 8945
 * lets a server leave up to 99 in a row unsigned; signing all costs one HMAC per ~16 KiB).
 * Messages must be signed in the order they are sent.
 */
export class TsigSigner {
  readonly #key: TsigKey;
  readonly #keyName: Buffer;
  readonly #algorithmName: Buffer;
  readonly #nowSeconds: () => number;
  readonly #fudge: number;
  #priorMac: Buffer;
  #first = true;

  constructor(key: TsigKey, requestMac: Buffer, nowSeconds: () => number, fudge = 300) {
    this.#key = key;
    this.#keyName = canonicalWire(key.name);
    this.#algorithmName = canonicalWire(TSIG_ALGORITHMS[key.algorithm].wireName);
    this.#nowSeconds = nowSeconds;
    this.#fudge = fudge;
    // A copy: the request's MAC is a view into a receive buffer that may be reused.
    this.#priorMac = Buffer.from(requestMac);
  }

  /** `message` (without TSIG) as a new buffer with its TSIG RR; Original ID = its ID. */
  sign(message: Buffer): Buffer {
    const v: Variables = {
      keyName: this.#keyName,
      algorithmName: this.#algorithmName,
      timeSigned: Math.floor(this.#nowSeconds()),
      fudge: this.#fudge,
      error: 0,
      other: EMPTY,
    };
    const h = hmac(this.#key);
    updatePriorMac(h, this.#priorMac);
    h.update(message);
    h.update(this.#first ? variablesBytes(v) : timersBytes(v.timeSigned, v.fudge));
    const mac = h.digest();
    this.#priorMac = mac;
    this.#first = false;
    return appendTsig(message, v, mac, message.readUInt16BE(0));
  }
}

/**
 * The error reply for a request `checkRequest` found invalid: a copy of `reply` (the header
 * and question the server would send, no TSIG) with the RCODE set here and the TSIG RR the
 * error calls for appended (RFC 8945 §5.3.2):
 * - BADKEY, BADSIG, BADTRUNC: RCODE NOTAUTH and an unsigned TSIG (MAC size 0) echoing the request's key
 *   and algorithm names, Error 17 / 16. It must not be signed: the key is unknown, or the
 *   client's is not ours.
 * - BADTIME: RCODE NOTAUTH and a TSIG signed with the key over the request MAC, the reply and
 *   the variables, Error 18, Time Signed copied from the request (so the client's own time
 *   check passes and it can read the error) and Other Data the server's time, u48, from which
 *   a client can learn the clock skew (§5.2.3; BIND does the same).
 * - FORMERR: RCODE FORMERR and no TSIG (§5.2: the TSIG could not be used).
 * The RCODE goes in the header's low 4 bits: all four fit, no OPT extended RCODE is needed.
 */
export function tsigErrorReply(reply: Buffer, check: Extract<TsigCheck, { kind: 'invalid' }>, nowSeconds: number): Buffer {
  const { record } = check;
  if (check.error === 'FORMERR' || !record) {
    const out = Buffer.from(reply);
    setRcode(out, FORMERR);
    return out;
  }
  const base = Buffer.from(reply);
  setRcode(base, NOTAUTH);
  const v: Variables = {
    keyName: canonicalWire(record.keyName),
    algorithmName: canonicalWire(record.algorithmName),
    timeSigned: Math.floor(nowSeconds),
    fudge: record.fudge,
    error: TsigErrorCode[check.error],
    other: EMPTY,
  };
  if (check.error !== 'BADTIME' || !check.key) return appendTsig(base, v, EMPTY, record.originalId);
  const other = Buffer.alloc(6);
  other.writeUIntBE(Math.floor(nowSeconds), 0, 6);
  const signed: Variables = { ...v, timeSigned: record.timeSigned, other };
  const h = hmac(check.key);
  updatePriorMac(h, record.mac);
  updateMessage(h, base, base.length, record.originalId, false);
  h.update(variablesBytes(signed));
  return appendTsig(base, signed, h.digest(), record.originalId);
}

function setRcode(message: Buffer, rcode: number): void {
  message[3] = (message[3]! & 0xf0) | rcode;
}

/**
 * Signs an outgoing request (a NOTIFY, a test's query): the MAC covers the message and the
 * TSIG variables (RFC 8945 §4.3.3). Returns the signed copy and the MAC, which the response's
 * MAC covers (verifyResponse).
 */
export function signRequest(message: Buffer, key: TsigKey, nowSeconds: number, fudge = 300): { message: Buffer; mac: Buffer } {
  const v: Variables = {
    keyName: canonicalWire(key.name),
    algorithmName: canonicalWire(TSIG_ALGORITHMS[key.algorithm].wireName),
    timeSigned: Math.floor(nowSeconds),
    fudge,
    error: 0,
    other: EMPTY,
  };
  const h = hmac(key);
  h.update(message);
  h.update(variablesBytes(v));
  const mac = h.digest();
  return { message: appendTsig(message, v, mac, message.readUInt16BE(0)), mac };
}

/**
 * Whether `message`, the first (or only) message of a response to a request we signed with
 * `key` and whose MAC was `requestMac`, is signed by the same key, within its fudge of
 * `nowSeconds`, and reports no TSIG error (RFC 8945 §5.4.1). An unsigned TSIG error reply
 * (BADKEY, BADSIG) or a signed BADTIME one is false, as is a response without a TSIG.
 */
export function verifyResponse(message: Buffer, key: TsigKey, requestMac: Buffer, nowSeconds: number): boolean {
  const record = findTsig(message);
  if (record === undefined || typeof record === 'string') return false;
  const algorithm = TSIG_ALGORITHMS[key.algorithm];
  if (record.keyName !== key.name || record.algorithmName !== algorithm.wireName) return false;
  if (record.error !== 0 || macSizeError(record.mac.length, algorithm.macLength)) return false;
  if (!macMatches(receivedMac(message, record, key, requestMac), record.mac)) return false;
  return Math.abs(Math.floor(nowSeconds) - record.timeSigned) <= record.fudge;
}

/** Octets the TSIG record of a reply signed with `key` adds: what a reply must leave room for. */
export function tsigLength(key: TsigKey): number {
  const algorithm = TSIG_ALGORITHMS[key.algorithm];
  // Owner + type, class, TTL, RDLENGTH; algorithm name, time (6), fudge, MAC size, MAC,
  // original ID, error, other length (RFC 8945 §4.2).
  return canonicalWire(key.name).length + 10 + canonicalWire(algorithm.wireName).length + 6 + 2 + 2 + algorithm.macLength + 2 + 2 + 2;
}

/**
 * Whether the message has an additional record besides a lone OPT: the decoder read an OPT
 * as the only additional record of a plain query, so such a query (nearly every query) has no
 * TSIG and is not walked again.
 */
export function mayCarryTsig(message: Buffer, hasOpt: boolean): boolean {
  const arcount = message.readUInt16BE(10);
  if (arcount === 0) return false;
  return !(arcount === 1 && hasOpt && message.readUInt16BE(6) === 0 && message.readUInt16BE(8) === 0);
}
