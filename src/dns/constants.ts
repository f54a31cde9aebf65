/**
 * DNS protocol numbers (RFC 1035 §3.2, IANA "Domain Name System (DNS) Parameters").
 * Plain numbers, not enums: they travel on the wire and index maps on the hot path.
 */

export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  DNAME: 39,
  OPT: 41,
  DS: 43,
  SSHFP: 44,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  /** RFC 4701: what DHCP servers (ISC Kea's D2) write beside a client's records, RFC 4703 §5. */
  DHCID: 49,
  TLSA: 52,
  SVCB: 64,
  HTTPS: 65,
  SPF: 99,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
  CAA: 257,
} as const;

const TYPE_NAMES = new Map<number, string>(Object.entries(RRType).map(([name, code]) => [code, name]));

/** Presentation name of a type code; RFC 3597 §5 `TYPEnnn` for the ones without a mnemonic. */
export function typeName(code: number): string {
  return TYPE_NAMES.get(code) ?? `TYPE${code}`;
}

/** Type code from a mnemonic or RFC 3597 `TYPEnnn`; undefined when neither. Case-insensitive. */
export function typeCode(name: string): number | undefined {
  const upper = name.toUpperCase();
  const known = (RRType as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const generic = /^TYPE(\d{1,5})$/.exec(upper);
  if (generic) {
    const code = Number(generic[1]);
    if (code <= 0xffff) return code;
  }
  return undefined;
}

/** Query-only types (RFC 1035 §3.2.3, RFC 6895 §3.1): never stored as data. */
export function isMetaType(code: number): boolean {
  return code === RRType.OPT || (code >= 128 && code <= 255);
}

export const RRClass = {
  IN: 1,
  CH: 3,
  HS: 4,
  NONE: 254,
  ANY: 255,
} as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** A DNAME substitution gave a name over 255 octets (RFC 6672 §2.2; the code is RFC 2136's). */
  YXDOMAIN: 6,
  /** Not authoritative for the zone, or a TSIG that does not verify (RFC 2136 §2.2, RFC 8945 §5.2). */
  NOTAUTH: 9,
  /** Extended RCODE (RFC 6891 §9): upper 8 bits travel in the OPT TTL. */
  BADVERS: 16,
} as const;

const RCODE_NAMES = new Map<number, string>(Object.entries(Rcode).map(([name, code]) => [code, name]));
export function rcodeName(code: number): string {
  return RCODE_NAMES.get(code) ?? `RCODE${code}`;
}

export const Opcode = {
  QUERY: 0,
  IQUERY: 1,
  STATUS: 2,
  NOTIFY: 4,
  UPDATE: 5,
} as const;

/** Header flag bits in the 16-bit flags word (RFC 1035 §4.1.1, RFC 4035 §3.2). */
export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;
