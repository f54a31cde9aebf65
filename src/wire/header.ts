/**
 * Header fields read or written outside the encoders, and the largest reply a request may get:
 * the octet offsets of RFC 1035 §4.1.1 stay in wire/, and the chain asks these helpers.
 */
import { Flag } from '../dns/constants.js';

/** RFC 1035 §4.2.1: a UDP reply without EDNS is at most 512 octets. */
const CLASSIC_UDP_SIZE = 512;
/** RFC 1035 §4.2.2: a message over TCP is framed by a two-octet length. */
const MAX_TCP_MESSAGE = 0xffff;

/**
 * The largest reply for a request, decided here only: 65535 over TCP; over UDP the client's
 * EDNS size clamped to ours, or 512 without EDNS (RFC 1035 §4.2.1, RFC 6891 §6.2.5). A stage
 * that adds a record after the inner stages answer (TSIG) reserves its room from this.
 */
export function replySizeLimit(transport: 'udp' | 'tcp', clientUdpSize: number | undefined, advertisedUdpSize: number): number {
  if (transport === 'tcp') return MAX_TCP_MESSAGE;
  return clientUdpSize === undefined ? CLASSIC_UDP_SIZE : Math.min(clientUdpSize, advertisedUdpSize);
}

/** The reply's 4-bit RCODE (an extended one needs the OPT record too, RFC 6891 §6.1.3). */
export function headerRcode(message: Uint8Array): number {
  return message.length >= 4 ? message[3]! & 0x0f : 0;
}

/** TC: the reply was truncated to fit (RFC 1035 §4.1.1). */
export function isTruncated(message: Uint8Array): boolean {
  return message.length >= 3 && ((message[2]! << 8) & Flag.TC) !== 0;
}

/** A copy of a query whose last record is its OPT (11 octets, no options), without it. */
export function withoutTrailingOpt(query: Buffer): Buffer {
  const plain = Buffer.from(query.subarray(0, query.length - 11));
  plain.writeUInt16BE(query.readUInt16BE(10) - 1, 10);
  return plain;
}
