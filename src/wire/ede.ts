/**
 * Extended DNS Errors (RFC 8914): an EDNS option that says why a reply is what it is (a
 * SERVFAIL because no upstream answered, a REFUSED because recursion is not allowed, a stale
 * answer), so that a client, a resolver in front or an operator with `dig` can tell. Added to
 * replies that already carry an OPT record, that is only to clients that sent EDNS (RFC 8914
 * §3), and never beyond the size the client can take: the EXTRA-TEXT goes first, then the
 * whole option (the option is advisory; a reply is never truncated for it).
 *
 * Replies with a reason are the rare ones (errors, stale answers), so this walks the message to
 * find the OPT record rather than assuming where it is: it may carry options already (NSID) or
 * be followed by a TSIG record.
 */

/** EDNS option code of Extended DNS Error (RFC 8914 §2, IANA). */
export const EDE_OPTION = 15;

/** The INFO-CODEs etcdns sends (RFC 8914 §4; the IANA registry "Extended DNS Error Codes"). */
export const EdeCode = {
  Other: 0,
  StaleAnswer: 3,
  NotReady: 14,
  Prohibited: 18,
  NotAuthoritative: 20,
  NoReachableAuthority: 22,
  NetworkError: 23,
} as const;

export interface ExtendedError {
  readonly code: number;
  /** EXTRA-TEXT (UTF-8, for people); left out when the reply would not fit with it. */
  readonly text?: string;
}

const OPT = 41;

/** Offset just past the name starting at `at` (labels, or a compression pointer); -1 when malformed. */
function skipName(m: Uint8Array, at: number): number {
  while (at < m.length) {
    const len = m[at]!;
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) return at + 2;
    if (len & 0xc0) return -1;
    at += 1 + len;
  }
  return -1;
}

/** Where the OPT record's RDLENGTH field is, or -1 when the reply has none (or is malformed). */
function findOptRdlength(m: Uint8Array): number {
  if (m.length < 12) return -1;
  const u16 = (o: number) => (m[o]! << 8) | m[o + 1]!;
  const qd = u16(4);
  const rrs = u16(6) + u16(8) + u16(10);
  let at = 12;
  for (let i = 0; i < qd; i++) {
    at = skipName(m, at);
    if (at < 0 || at + 4 > m.length) return -1;
    at += 4;
  }
  for (let i = 0; i < rrs; i++) {
    at = skipName(m, at);
    if (at < 0 || at + 10 > m.length) return -1;
    if (u16(at) === OPT) return at + 8;
    at += 10 + u16(at + 8);
  }
  return -1;
}

/**
 * `reply` with one more option in its OPT record, wherever that is; the reply itself when it
 * has no OPT record or the result would be larger than `maxSize`.
 */
export function withEdnsOption(reply: Buffer, code: number, data: Uint8Array, maxSize: number): Buffer {
  const rdlength = findOptRdlength(reply);
  if (rdlength < 0 || reply.length + 4 + data.length > maxSize) return reply;
  const oldLength = reply.readUInt16BE(rdlength);
  const end = rdlength + 2 + oldLength;
  const out = Buffer.allocUnsafe(reply.length + 4 + data.length);
  reply.copy(out, 0, 0, end);
  out.writeUInt16BE(oldLength + 4 + data.length, rdlength);
  out.writeUInt16BE(code, end);
  out.writeUInt16BE(data.length, end + 2);
  out.set(data, end + 4);
  reply.copy(out, end + 4 + data.length, end);
  return out;
}

/**
 * `reply` with an Extended DNS Error option added to its OPT record; the reply itself when it
 * has no OPT record (the client sent no EDNS) or the option does not fit in `maxSize` even
 * without its text.
 */
export function withExtendedError(reply: Buffer, error: ExtendedError, maxSize: number): Buffer {
  const text = error.text === undefined ? Buffer.alloc(0) : Buffer.from(error.text, 'utf8');
  const withText = Buffer.allocUnsafe(2 + text.length);
  withText.writeUInt16BE(error.code, 0);
  text.copy(withText, 2);
  const added = withEdnsOption(reply, EDE_OPTION, withText, maxSize);
  return added !== reply || text.length === 0 ? added : withEdnsOption(reply, EDE_OPTION, withText.subarray(0, 2), maxSize);
}
