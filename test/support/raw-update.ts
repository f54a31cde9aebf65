/**
 * DNS UPDATE messages (RFC 2136 §2) built by hand, record by record, for the cases nsupdate
 * will not send: any class, TTL and RDATA in either section.
 */
import { RRClass, RRType } from '../../src/dns/constants.js';
import { MessageWriter } from '../../src/wire/writer.js';

/** One record of a prerequisite or update section. */
export interface RawRecord {
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  readonly rdata?: readonly number[];
}

/**
 * An UPDATE of `zone` (opcode 5, one zone record). `opt`: with an OPT record (EDNS, 1232-octet
 * payload), so that a refusal can carry its Extended DNS Error.
 */
export function rawUpdate(zone: string, prerequisites: readonly RawRecord[], updates: readonly RawRecord[], { id = 0x4243, opt = true } = {}): Buffer {
  const w = new MessageWriter(256);
  for (const n of [id, 5 << 11, 1, prerequisites.length, updates.length, opt ? 1 : 0]) w.u16(n);
  w.name(zone);
  w.u16(RRType.SOA);
  w.u16(RRClass.IN);
  for (const r of [...prerequisites, ...updates]) {
    w.name(r.name);
    w.u16(r.type);
    w.u16(r.class);
    w.u32(r.ttl);
    w.u16(r.rdata?.length ?? 0);
    if (r.rdata) w.bytes(Uint8Array.from(r.rdata));
  }
  if (opt) {
    for (const n of [0, RRType.OPT >> 8, RRType.OPT & 0xff]) w.u8(n);
    w.u16(1232);
    w.u32(0);
    w.u16(0);
  }
  return w.toBuffer();
}
