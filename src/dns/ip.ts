import { isIPv6 } from 'node:net';

/**
 * IPv4 dotted quad to 4 octets; undefined when not a valid address. Accepts exactly what
 * node:net's isIPv4 accepts (four decimal octets 0-255, no leading zeros), read in one pass:
 * every A record a reply template encodes goes through here. Into `out` at `offset` when given
 * (a message buffer: a zone transfer writes 100k addresses without an array each).
 */
export function ipv4Bytes(address: string, out: Uint8Array = new Uint8Array(4), offset = 0): Uint8Array | undefined {
  let part = offset;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part === offset + 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
      continue;
    }
    if (c < 0x30 || c > 0x39) return undefined;
    // "01" is not an octet: a leading zero reads as octal in some parsers, so none allow it.
    if (digits === 1 && value === 0) return undefined;
    value = value * 10 + (c - 0x30);
    if (++digits > 3 || value > 255) return undefined;
  }
  if (part !== offset + 3 || digits === 0) return undefined;
  out[offset + 3] = value;
  return out;
}

/** IPv6 text (RFC 4291 §2.2, including `::` and an embedded IPv4 tail) to 16 octets. */
export function ipv6Bytes(address: string): Uint8Array | undefined {
  if (!isIPv6(address)) return undefined;
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) return undefined; // zone ids are local to a host; never record data
  const out = new Uint8Array(16);
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    tail = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups =
    rest === undefined ? headGroups : [...headGroups, ...new Array<string>(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (v4) out.set(tail, 12);
  return out;
}

/** Canonical IPv6 text (RFC 5952): lower case, longest zero run as `::`. */
export function canonicalIPv6(address: string): string | undefined {
  const bytes = ipv6Bytes(address);
  return bytes && formatIPv6(bytes);
}

/** 16 octets as RFC 5952 text, the form AAAA addresses are kept in. */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
