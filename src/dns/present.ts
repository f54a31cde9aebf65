import { RRType, typeName } from './constants.js';
import { toPresentation } from './name.js';
import type { RData, RR } from './records.js';

/** A <character-string> in presentation form: quoted, with `"` `\` and non-printables escaped. */
function quoteString(bytes: Uint8Array): string {
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
  if ('generic' in data) {
    const raw = data.raw;
    return raw.length === 0 ? '\\# 0' : `\\# ${raw.length} ${hex(raw)}`;
  }
  switch (data.type) {
    case RRType.A:
    case RRType.AAAA:
      return data.address;
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
    case RRType.DNAME:
      return toPresentation(data.target);
    case RRType.MX:
      return `${data.preference} ${toPresentation(data.exchange)}`;
    case RRType.SRV:
      return `${data.priority} ${data.weight} ${data.port} ${toPresentation(data.target)}`;
    case RRType.TXT:
    case RRType.SPF:
      return data.strings.map(quoteString).join(' ');
    case RRType.SOA:
      return `${toPresentation(data.mname)} ${toPresentation(data.rname)} ${data.serial} ${data.refresh} ${data.retry} ${data.expire} ${data.minimum}`;
    case RRType.CAA:
      return `${data.flags} ${data.tag} ${quoteString(data.value)}`;
    case RRType.HINFO:
      return `${quoteString(data.cpu)} ${quoteString(data.os)}`;
    case RRType.NAPTR:
      return `${data.order} ${data.preference} ${quoteString(data.flags)} ${quoteString(data.services)} ${quoteString(data.regexp)} ${toPresentation(data.replacement)}`;
  }
}

/** One record as a zone-file line: `owner TTL IN TYPE rdata`. */
export function formatRR(rr: RR): string {
  return `${toPresentation(rr.name)} ${rr.ttl} IN ${typeName(rr.type)} ${formatRData(rr.data)}`;
}
