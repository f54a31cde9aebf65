/**
 * RDATA in presentation form, one parser per type (RFC 1035 §5.1 and each type's RFC), into the
 * shapes of dns/records.ts. Any type may also be written in the RFC 3597 generic form.
 */
import { RRType, typeName } from '../../dns/constants.js';
import { canonicalIPv6 } from '../../dns/ip.js';
import type { Name } from '../../dns/name.js';
import { txtStrings, type RData } from '../../dns/records.js';
import { Fields, MAX_TTL, MAX_U32, RecordError, characterString, decodeBytes, domainName, hexBytes, ttlValue, uintValue } from './fields.js';
import { fromWire, genericRData } from './generic-rdata.js';
import type { Token } from './tokenizer.js';

/** Dotted-quad IPv4, strictly: four decimal octets, no leading zeros (which some read as octal). */
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Context RDATA parsing needs: the origin relative names hang from. */
interface RDataContext {
  origin: Name;
}

/**
 * The RDATA of one record of `type`: `tokens` from `start` on. Throws RecordError, with the
 * message for the user, when the fields do not fit the type.
 */
export function parseRData(type: number, tokens: readonly Token[], start: number, ctx: RDataContext): RData {
  const f = new Fields(tokens, start, typeName(type));
  const first = f.peek();
  if (first && !first.quoted && first.text === '\\#') {
    const bytes = genericRData(f);
    f.end();
    return fromWire(type, bytes);
  }
  const name = (what: string) => domainName(f.next(what), ctx.origin);
  const u16 = (what: string) => uintValue(f.next(what), what, 0xffff);
  const u8 = (what: string) => uintValue(f.next(what), what, 0xff);
  let data: RData;
  switch (type) {
    case RRType.A: {
      const t = f.next('address');
      if (!IPV4.test(t.text)) throw new RecordError(`bad IPv4 address "${t.text}"`);
      data = { type, address: t.text };
      break;
    }
    case RRType.AAAA: {
      const t = f.next('address');
      // Canonical (RFC 5952) so that the same address written two ways is one record.
      const address = canonicalIPv6(t.text);
      if (address === undefined) throw new RecordError(`bad IPv6 address "${t.text}"`);
      data = { type, address };
      break;
    }
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
    case RRType.DNAME:
      data = { type, target: name('target name') };
      break;
    case RRType.MX:
      data = { type, preference: u16('MX preference'), exchange: name('exchange name') };
      break;
    case RRType.SRV:
      data = { type, priority: u16('SRV priority'), weight: u16('SRV weight'), port: u16('SRV port'), target: name('target name') };
      break;
    case RRType.TXT:
    case RRType.SPF: {
      const strings: Uint8Array[] = [];
      let wire = 0;
      for (const t of f.rest('text')) {
        const bytes = decodeBytes(t.text);
        // A string over 255 octets cannot be one <character-string> (RFC 1035 §3.3): split it
        // the way txtStrings does, rather than make people cut long SPF/DKIM values by hand.
        if (bytes.length > 255) for (const chunk of txtStrings(bytes)) strings.push(chunk);
        else strings.push(bytes);
        wire += bytes.length + Math.ceil(bytes.length / 255 || 1);
      }
      if (wire > 0xffff) throw new RecordError(`${typeName(type)} data is longer than 65535 octets`);
      data = { type, strings };
      break;
    }
    case RRType.SOA: {
      const mname = name('primary server name (MNAME)');
      const rname = name('mailbox name (RNAME)');
      const serial = uintValue(f.next('serial'), 'SOA serial', MAX_U32);
      // RFC 1035 §3.3.13: the four timers are 32-bit; MINIMUM is also the negative-caching
      // TTL (RFC 2308 §4), so it is held to the TTL limit.
      const refresh = ttlValue(f.next('refresh'), 'SOA refresh', MAX_U32);
      const retry = ttlValue(f.next('retry'), 'SOA retry', MAX_U32);
      const expire = ttlValue(f.next('expire'), 'SOA expire', MAX_U32);
      const minimum = ttlValue(f.next('minimum'), 'SOA minimum', MAX_TTL);
      data = { type, mname, rname, serial, refresh, retry, expire, minimum };
      break;
    }
    case RRType.CAA: {
      const flags = u8('CAA flags');
      const tag = f.next('tag').text;
      // RFC 8659 §4.1: the tag is ASCII letters and digits, at least one.
      if (!/^[A-Za-z0-9]{1,255}$/.test(tag)) throw new RecordError(`bad CAA tag "${tag}" (letters and digits only)`);
      const value = decodeBytes(f.next('value').text);
      if (value.length > 0xffff - 2 - tag.length) throw new RecordError('CAA value is too long');
      data = { type, flags, tag, value };
      break;
    }
    case RRType.HINFO:
      data = { type, cpu: characterString(f.next('CPU'), 'HINFO CPU'), os: characterString(f.next('OS'), 'HINFO OS') };
      break;
    case RRType.NAPTR:
      data = {
        type,
        order: u16('NAPTR order'),
        preference: u16('NAPTR preference'),
        flags: characterString(f.next('flags'), 'NAPTR flags'),
        services: characterString(f.next('services'), 'NAPTR services'),
        regexp: characterString(f.next('regexp'), 'NAPTR regexp'),
        replacement: name('replacement name'),
      };
      break;
    // Common hash-carrying types whose presentation form is numbers then hex; the rest of
    // the server treats them as opaque (RFC 3597), so they are stored as wire bytes.
    case RRType.DS: {
      // RFC 4034 §5.3: key tag, algorithm, digest type, digest (hex, may contain spaces)
      const head = [u16('key tag'), u8('algorithm'), u8('digest type')];
      const digest = hexBytes(f.rest('digest').map((t) => t.text).join(''), 'DS digest');
      data = { type, generic: true, raw: Uint8Array.from([head[0]! >> 8, head[0]! & 0xff, head[1]!, head[2]!, ...digest]) };
      break;
    }
    case RRType.SSHFP: {
      // RFC 4255 §3.2: algorithm, fingerprint type, fingerprint (hex)
      const head = [u8('algorithm'), u8('fingerprint type')];
      const fp = hexBytes(f.rest('fingerprint').map((t) => t.text).join(''), 'SSHFP fingerprint');
      data = { type, generic: true, raw: Uint8Array.from([...head, ...fp]) };
      break;
    }
    case RRType.TLSA: {
      // RFC 6698 §2.2: usage, selector, matching type, certificate association data (hex)
      const head = [u8('certificate usage'), u8('selector'), u8('matching type')];
      const cad = hexBytes(f.rest('certificate association data').map((t) => t.text).join(''), 'TLSA data');
      data = { type, generic: true, raw: Uint8Array.from([...head, ...cad]) };
      break;
    }
    default:
      throw new RecordError(`${typeName(type)} data must be written in the RFC 3597 generic form: \\# <length> <hex>`);
  }
  f.end();
  return data;
}
