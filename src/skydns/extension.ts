/**
 * The etcdns extension of the SkyDNS value: records of types the SkyDNS message cannot express
 * (DHCID, CAA, SSHFP, TLSA, HTTPS, …), written by DNS UPDATE (docs/etcd-data.md, "Written by
 * DNS UPDATE") and read back by the SkyDNS index:
 *
 *     {"ttl":300,"etcdns":{"type":49,"rdata":"AAEBtV1v…"}}
 *
 * `type` is the record type's number, `rdata` the base64 of its RDATA as it goes on the wire
 * (RFC 3597 §5: the type's own octets, names uncompressed), so any type the wire layer can
 * write is stored without a codec per type. `ttl` stays SkyDNS's own field, read the same way
 * (and capped by an etcd lease the same way) as for every other value.
 *
 * Why this shape is skipped by CoreDNS, for every query type (coredns/coredns at 4b26cced3):
 * - plugin/etcd/etcd.go `loopNodes` decodes each value with `json.Unmarshal` into
 *   `msg.Service` (plugin/etcd/msg/service.go: host, port, priority, weight, text, mail, ttl,
 *   targetstrip, group). Go ignores the unknown field `etcdns` whatever it holds, and `ttl` is
 *   a valid uint32, so decoding succeeds (a field of the wrong JSON type would fail the whole
 *   lookup, hence the record lives inside `etcdns` rather than in fields of its own).
 * - etcd.go `shouldInclude` keeps a service only if `Host != ""`, or for a TXT query if
 *   `Text != ""`: with neither, the entry never reaches A, AAAA, TXT, CNAME, PTR, MX, SRV or
 *   NS (backend_lookup.go); other types answer no records at all (handler.go `default`).
 * - The key still exists, so the name is not NXDOMAIN (etcd.go `get`: any key at or below the
 *   path). That is right: the name holds a record.
 * The reader below enforces both conditions (no host, no text), so a value it accepts is one
 * CoreDNS skips; src/skydns/extension.test.ts checks it against these rules as a table.
 */
import { isMetaType, RRType } from '../dns/constants.js';
import type { GenericRData } from '../dns/records.js';

/** The JSON field holding the record. */
const EXTENSION_FIELD = 'etcdns';

/** Most RDATA octets one record can have (RDLENGTH is 16 bits, RFC 1035 §3.2.1). */
const MAX_RDATA = 0xffff;

/** Types the SkyDNS message itself expresses: written as SkyDNS JSON, never as an extension. */
const SKYDNS_TYPES: ReadonlySet<number> = new Set([RRType.A, RRType.AAAA, RRType.CNAME, RRType.TXT, RRType.MX, RRType.SRV, RRType.PTR]);

/**
 * Types no extension record may hold, with why. The rest (any type that is not meta and not
 * SkyDNS's own) are stored as opaque RDATA and answered at their name like any RRset.
 */
const REFUSED: ReadonlyMap<number, string> = new Map([
  [RRType.SOA, 'the SOA of an etcd zone is synthesised'],
  [RRType.NS, 'NS at the apex are the zone\'s dns/ns keys, below it a delegation, which the SkyDNS layout cannot make'],
  [RRType.DNAME, 'DNAME redirects a whole subtree, which the SkyDNS layout cannot express'],
  [RRType.DS, 'DS needs a delegation, which the SkyDNS layout cannot make'],
  [RRType.RRSIG, 'etcd zones are not signed: DNSSEC records are the signer\'s'],
  [RRType.NSEC, 'etcd zones are not signed: DNSSEC records are the signer\'s'],
  [50, 'etcd zones are not signed: DNSSEC records are the signer\'s'], // NSEC3
  [51, 'etcd zones are not signed: DNSSEC records are the signer\'s'], // NSEC3PARAM
  // RFC 3597 §4: RDATA of these RFC 1035 types may hold compressed names, which opaque
  // octets cannot carry.
  ...[3, 4, 7, 8, 9, 14].map((t): [number, string] => [t, 'obsolete RFC 1035 type whose RDATA may be compressed (RFC 3597 §4)']),
]);

/** Why `type` cannot be an extension record; undefined when it can. */
export function extensionRefusal(type: number): string | undefined {
  if (isMetaType(type) || type === 0) return `type ${type} is a meta type, not data`;
  if (SKYDNS_TYPES.has(type)) return `type ${type} has a SkyDNS form`;
  return REFUSED.get(type);
}

/** The value of an extension record: what UPDATE writes. */
export function extensionValue(data: GenericRData, ttl: number): string {
  return JSON.stringify({ ttl, [EXTENSION_FIELD]: { type: data.type, rdata: Buffer.from(data.raw).toString('base64') } });
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The record inside a value's `etcdns` field (`field`, already parsed from JSON), given the
 * value's own `host` and `text`; why not when it is not one. Never throws.
 */
export function readExtension(field: unknown, host: unknown, text: unknown): GenericRData | { error: string } {
  const fail = (why: string) => ({ error: `${EXTENSION_FIELD}: ${why}` });
  if (field === null || typeof field !== 'object' || Array.isArray(field)) return fail('expected an object {"type":N,"rdata":"<base64>"}');
  // CoreDNS answers any entry with a host, and TXT from a text: an extension value has neither.
  if (host !== '' || text !== '') return fail('a value with an etcdns record has no host or text (CoreDNS would answer those)');
  const { type, rdata } = field as Record<string, unknown>;
  if (typeof type !== 'number' || !Number.isInteger(type) || type < 1 || type > 0xffff) return fail('type: expected a record type number 1..65535');
  const refused = extensionRefusal(type);
  if (refused) return fail(`type ${type}: ${refused}`);
  if (typeof rdata !== 'string' || !BASE64.test(rdata)) return fail('rdata: expected base64 (RFC 4648 §4, padded)');
  const raw = Buffer.from(rdata, 'base64');
  if (raw.length > MAX_RDATA) return fail(`rdata: ${raw.length} octets; RDATA holds at most ${MAX_RDATA}`);
  return { type, generic: true, raw: Uint8Array.from(raw) };
}

/** Equal records (the index's "same value again"). */
export function sameExtension(a: GenericRData | undefined, b: GenericRData | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.type === b.type && view(a.raw).equals(view(b.raw));
}

function view(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
