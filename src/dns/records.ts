import { RRType } from './constants.js';
import type { Name } from './name.js';

/**
 * Resource-record data, one shape per type. Names inside RDATA are canonical `Name`s; binary
 * fields are Uint8Array. Types without a shape here are carried as RFC 3597 opaque bytes
 * (GenericRData).
 *
 * A `switch (data.type)` alone cannot narrow an RData: generic data's `type` is any number, so
 * it stays in every case. Test `'generic' in data` first (then the switch narrows), or use
 * `hasShape(data, type)` for one type.
 */
export type RData = ShapedRData | GenericRData;

/** RDATA of a type with no shape here: the bytes as they go on the wire (RFC 3597 §5). */
export interface GenericRData {
  readonly type: number;
  readonly generic: true;
  readonly raw: Uint8Array;
}

/** The RDATA layouts this server knows field by field. */
export type ShapedRData =
  | { type: typeof RRType.A | typeof RRType.AAAA; address: string }
  | { type: typeof RRType.NS | typeof RRType.CNAME | typeof RRType.PTR | typeof RRType.DNAME; target: Name }
  | { type: typeof RRType.MX; preference: number; exchange: Name }
  | { type: typeof RRType.SRV; priority: number; weight: number; port: number; target: Name }
  /** Each string is one <character-string> of at most 255 octets (RFC 1035 §3.3.14). */
  | { type: typeof RRType.TXT | typeof RRType.SPF; strings: Uint8Array[] }
  | {
      type: typeof RRType.SOA;
      mname: Name;
      rname: Name;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    }
  | { type: typeof RRType.CAA; flags: number; tag: string; value: Uint8Array }
  | { type: typeof RRType.HINFO; cpu: Uint8Array; os: Uint8Array }
  | {
      type: typeof RRType.NAPTR;
      order: number;
      preference: number;
      flags: Uint8Array;
      services: Uint8Array;
      regexp: Uint8Array;
      replacement: Name;
    };

/** The shape of type `T`'s RDATA (the member whose `type` includes `T`). */
type ShapeOf<T extends ShapedRData['type'], S = ShapedRData> = S extends { type: infer K } ? ([T] extends [K] ? S : never) : never;

/** Whether `data` has the shape of `type`, narrowing it; false for generic data of any type. */
export function hasShape<T extends ShapedRData['type']>(data: RData, type: T): data is ShapeOf<T> {
  return data.type === type && !('generic' in data);
}

/** One resource record. The class is always IN for data we hold. */
export interface RR {
  readonly name: Name;
  readonly type: number;
  readonly ttl: number;
  readonly data: RData;
}

/** All records of one (name, type), sharing one TTL (RFC 2181 §5.2). */
export interface RRset {
  readonly name: Name;
  readonly type: number;
  readonly ttl: number;
  readonly records: readonly RData[];
}

/** The records at one owner name, by type. An empty map is an empty non-terminal. */
export type Node = ReadonlyMap<number, RRset>;

const encoder = new TextEncoder();
/** Text to TXT strings, split into 255-octet character-strings (RFC 1035 §3.3, RFC 7208 §3.3). */
export function txtStrings(text: string | Uint8Array): Uint8Array[] {
  const bytes = typeof text === 'string' ? encoder.encode(text) : text;
  if (bytes.length === 0) return [new Uint8Array(0)];
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255));
  return out;
}
