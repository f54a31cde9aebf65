import { RRType, typeName } from './constants.js';
import { toPresentation } from './name.js';
import type { RData, RR } from './records.js';

/** A <character-string> in presentation form: quoted, with `"` `\` and non-printables escaped. */
export function quoteString(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b < 0x20 || b >= 0x7f) out += `\\${String(b).padStart(3, '0')}`;
    else out += String.fromCharCode(b);
  }
  return `${out}"`;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

/** RDATA in RFC 1035 §5.1 presentation form (RFC 3597 `\#` form for opaque types). */
export function formatRData(data: RData): string {
  switch (data.type) {
    case RRType.A:
    case RRType.AAAA:
      return (data as { address: string }).address;
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
    case RRType.DNAME:
      return toPresentation((data as { target: string }).target);
    case RRType.MX: {
      const d = data as Extract<RData, { type: 15 }>;
      return `${d.preference} ${toPresentation(d.exchange)}`;
    }
    case RRType.SRV: {
      const d = data as Extract<RData, { type: 33 }>;
      return `${d.priority} ${d.weight} ${d.port} ${toPresentation(d.target)}`;
    }
    case RRType.TXT:
    case RRType.SPF:
      return (data as { strings: Uint8Array[] }).strings.map(quoteString).join(' ');
    case RRType.SOA: {
      const d = data as Extract<RData, { type: 6 }>;
      return `${toPresentation(d.mname)} ${toPresentation(d.rname)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    }
    case RRType.CAA: {
      const d = data as Extract<RData, { type: 257 }>;
      return `${d.flags} ${d.tag} ${quoteString(d.value)}`;
    }
    case RRType.HINFO: {
      const d = data as Extract<RData, { type: 13 }>;
      return `${quoteString(d.cpu)} ${quoteString(d.os)}`;
    }
    case RRType.NAPTR: {
      const d = data as Extract<RData, { type: 35 }>;
      return `${d.order} ${d.preference} ${quoteString(d.flags)} ${quoteString(d.services)} ${quoteString(d.regexp)} ${toPresentation(d.replacement)}`;
    }
    default: {
      const raw = (data as { raw: Uint8Array }).raw;
      return raw.length === 0 ? '\\# 0' : `\\# ${raw.length} ${hex(raw)}`;
    }
  }
}

/** One record as a zone-file line: `owner TTL IN TYPE rdata`. */
export function formatRR(rr: RR): string {
  return `${toPresentation(rr.name)} ${rr.ttl} IN ${typeName(rr.type)} ${formatRData(rr.data)}`;
}
