import { RRType } from './constants.js';
import type { Name } from './name.js';

/**
 * Resource-record data, one shape per type. Names inside RDATA are canonical `Name`s; binary
 * fields are Uint8Array. Types without a shape here are carried as RFC 3597 opaque bytes.
 */
export type RData =
  | { type: typeof RRType.A; address: string }
  | { type: typeof RRType.AAAA; address: string }
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
    }
  /** Any other type: RDATA bytes as they go on the wire (RFC 3597). */
  | { type: number; raw: Uint8Array };

export type RDataOf<T extends number> = Extract<RData, { type: T }>;

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

export function rrsetToRRs(set: RRset, owner: Name = set.name, ttl: number = set.ttl): RR[] {
  return set.records.map((data) => ({ name: owner, type: set.type, ttl, data }));
}

const encoder = new TextEncoder();
/** Text to TXT strings, split into 255-octet character-strings (RFC 1035 §3.3, RFC 7208 §3.3). */
export function txtStrings(text: string | Uint8Array): Uint8Array[] {
  const bytes = typeof text === 'string' ? encoder.encode(text) : text;
  if (bytes.length === 0) return [new Uint8Array(0)];
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255));
  return out;
}
