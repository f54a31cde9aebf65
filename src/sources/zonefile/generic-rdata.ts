/**
 * RFC 3597 §5 generic RDATA, `\# <length> <hex>...`: the way to write a type the parser has no
 * presentation form for, and allowed for any type. For a type with a shape in dns/records.ts the
 * bytes are decoded into that shape, so that the rest of the server (CNAME chasing,
 * additional-section processing) sees one representation whichever way a record was written.
 */
import { RRType, typeName } from '../../dns/constants.js';
import { formatIPv6 } from '../../dns/ip.js';
import type { Name } from '../../dns/name.js';
import type { RData } from '../../dns/records.js';
import { readName } from '../../dns/wire-name.js';
import { Fields, RecordError, hexBytes, uintValue } from './fields.js';

/** The `\#` form's fields as RDATA bytes; `f` is at the `\#` token. */
export function genericRData(f: Fields): Uint8Array {
  f.next('\\#');
  const length = uintValue(f.next('RDATA length'), 'RDATA length', 0xffff);
  const hex = f.remaining ? f.rest('hex').map((t) => t.text).join('') : '';
  const bytes = hexBytes(hex, 'generic RDATA');
  if (bytes.length !== length) throw new RecordError(`generic RDATA length ${length} does not match the ${bytes.length} octets given`);
  return bytes;
}

/** Reads the fields of one RDATA in order; every read is bounds-checked. */
class RDataCursor {
  #p = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly type: string,
  ) {}
  #need(n: number): void {
    if (this.#p + n > this.bytes.length) throw new RecordError(`generic RDATA for ${this.type} is too short`);
  }
  u8(): number {
    this.#need(1);
    return this.bytes[this.#p++]!;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u32(): number {
    return this.u16() * 0x10000 + this.u16();
  }
  take(n: number): Uint8Array {
    this.#need(n);
    const out = this.bytes.slice(this.#p, this.#p + n);
    this.#p += n;
    return out;
  }
  characterString(): Uint8Array {
    return this.take(this.u8());
  }
  get done(): boolean {
    return this.#p >= this.bytes.length;
  }
  /**
   * An uncompressed name: RFC 3597 §4 forbids compression in generic RDATA. Read from a view
   * that starts at the name, where no compression pointer can point backwards, so the shared
   * reader refuses every pointer instead of following it.
   */
  name(): Name {
    const rest = this.bytes.subarray(this.#p);
    const read = readName(Buffer.from(rest.buffer, rest.byteOffset, rest.length), 0);
    if (typeof read !== 'string') {
      this.#p += read.end;
      return read.name;
    }
    if (read.startsWith('longer than')) throw new RecordError(`generic RDATA for ${this.type} has a name longer than 255 octets`);
    if (read.includes('runs past the end of the message')) throw new RecordError(`generic RDATA for ${this.type} is too short`);
    // A pointer (none can point backwards here) or a reserved label type (RFC 1035 §4.1.4).
    throw new RecordError(`generic RDATA for ${this.type} has a compressed or malformed name`);
  }
  end(): void {
    const extra = this.bytes.length - this.#p;
    if (extra > 0) throw new RecordError(`generic RDATA for ${this.type} has ${extra} extra octet${extra === 1 ? '' : 's'}`);
  }
}

/**
 * RDATA bytes of `type` in its shape from dns/records.ts; opaque (`raw`) for a type without
 * one. Wire round trips are exact, except that names are lower-cased as everywhere in etcdns.
 */
export function fromWire(type: number, bytes: Uint8Array): RData {
  const r = new RDataCursor(bytes, typeName(type));
  let data: RData;
  switch (type) {
    case RRType.A:
      data = { type, address: Array.from(r.take(4)).join('.') };
      break;
    case RRType.AAAA:
      data = { type, address: formatIPv6(r.take(16)) };
      break;
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
    case RRType.DNAME:
      data = { type, target: r.name() };
      break;
    case RRType.MX:
      data = { type, preference: r.u16(), exchange: r.name() };
      break;
    case RRType.SRV:
      data = { type, priority: r.u16(), weight: r.u16(), port: r.u16(), target: r.name() };
      break;
    case RRType.TXT:
    case RRType.SPF: {
      const strings: Uint8Array[] = [r.characterString()]; // RFC 1035 §3.3.14: one or more
      while (!r.done) strings.push(r.characterString());
      data = { type, strings };
      break;
    }
    case RRType.SOA:
      data = { type, mname: r.name(), rname: r.name(), serial: r.u32(), refresh: r.u32(), retry: r.u32(), expire: r.u32(), minimum: r.u32() };
      break;
    case RRType.CAA: {
      const flags = r.u8();
      const tag = String.fromCharCode(...r.characterString());
      data = { type, flags, tag, value: r.take(bytes.length - 2 - tag.length) };
      break;
    }
    case RRType.HINFO:
      data = { type, cpu: r.characterString(), os: r.characterString() };
      break;
    case RRType.NAPTR:
      data = {
        type,
        order: r.u16(),
        preference: r.u16(),
        flags: r.characterString(),
        services: r.characterString(),
        regexp: r.characterString(),
        replacement: r.name(),
      };
      break;
    default:
      return { type, generic: true, raw: bytes };
  }
  r.end();
  return data;
}
