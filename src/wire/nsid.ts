/**
 * NSID (RFC 5001): the name server identifier, returned in an EDNS option to a client that
 * sent an empty NSID option, so an operator can tell which replica answered (`dig +nsid`).
 */

import { withEdnsOption } from './ede.js';

/** EDNS option code of NSID (RFC 5001 §2.3). */
export const NSID_OPTION = 3;

const OPT_LENGTH = 11;

/**
 * `reply` with the NSID option added to its OPT record. Unchanged when it has none, or when
 * the option would make the reply larger than `maxSize` (RFC 5001 §2.2 lets a server leave
 * the option out; a reply is never truncated for it).
 */
export function withNsid(reply: Buffer, nsid: Uint8Array, maxSize: number): Buffer {
  const at = reply.length - OPT_LENGTH;
  // Not the plain OPT at the end: it carries an option already (an Extended DNS Error) or a
  // record follows it; the slower general path finds it.
  if (at < 12 || reply[at] !== 0 || reply.readUInt16BE(at + 1) !== 41 || reply.readUInt16BE(at + 9) !== 0) return withEdnsOption(reply, NSID_OPTION, nsid, maxSize);
  const size = reply.length + 4 + nsid.length;
  if (size > maxSize) return reply;
  const out = Buffer.allocUnsafe(size);
  reply.copy(out, 0, 0, reply.length);
  out.writeUInt16BE(4 + nsid.length, at + 9);
  out.writeUInt16BE(NSID_OPTION, reply.length);
  out.writeUInt16BE(nsid.length, reply.length + 2);
  out.set(nsid, reply.length + 4);
  return out;
}
