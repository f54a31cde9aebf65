/** Helpers for the etcd index unit tests (imported by *.test.ts only). */
import { RRType, typeCode } from '../../dns/constants.js';
import type { Name } from '../../dns/name.js';
import { formatRData, formatRR } from '../../dns/present.js';
import type { Node } from '../../dns/records.js';
import { resolve } from '../../resolve/resolve.js';
import { Snapshot } from '../../table/snapshot.js';
import type { ZoneView } from '../../table/zone.js';
import type { KeyChange, KeyDelete, KeyPut, MirrorBatch } from '../../etcd/changes.js';
import { SkyDnsIndex, type EtcdIndexOptions } from './skydns-index.js';
import { nameToKey } from '../../skydns/codec.js';

/** The key for a name under /skydns: `key('x1.api.example.test')` = `/skydns/test/example/api/x1`. */
export const key = (name: string) => nameToKey(name, '/skydns');

let modRevision = 0;
export function put(name: string, service: unknown, lease?: { lease: string; leaseTtl: number | undefined }): KeyPut {
  const k = name.startsWith('/') ? name : key(name);
  const value = typeof service === 'string' ? Buffer.from(service) : service instanceof Uint8Array ? service : Buffer.from(JSON.stringify(service));
  return { type: 'put', key: k, value, lease: lease?.lease, leaseTtl: lease?.leaseTtl, modRevision: ++modRevision };
}
export function del(name: string): KeyDelete {
  return { type: 'delete', key: name.startsWith('/') ? name : key(name), modRevision: ++modRevision };
}
/**
 * A batch at `revision`: as one etcd transaction, every change carries that revision (etcd
 * stamps each key of a batch with a revision at most the batch's). Changes made with an
 * explicit `modRevision` keep it (`{ ...put(...), modRevision: 7 }`): a batch of several.
 */
export const batch = (changes: KeyChange[], revision = 100, reset = false): MirrorBatch => ({
  reset,
  changes: changes.map((c) => (EXPLICIT.has(c) ? c : { ...c, modRevision: revision })),
  revision,
});
const EXPLICIT = new WeakSet<KeyChange>();
/** A change that keeps its own revision inside `batch` (a batch of several revisions). */
export function at<T extends KeyChange>(change: T, modRevision: number): T {
  const c = { ...change, modRevision };
  EXPLICIT.add(c);
  return c;
}

export interface Built {
  index: SkyDnsIndex;
  invalid: [string, string][];
  valid: string[];
}
export function index(zones: string[], options: Partial<EtcdIndexOptions> = {}): Built {
  const invalid: [string, string][] = [];
  const valid: string[] = [];
  const idx = new SkyDnsIndex({
    prefix: '/skydns',
    zones,
    defaultTtl: 10,
    onInvalid: (k, reason) => invalid.push([k, reason]),
    onValid: (k) => valid.push(k),
    ...options,
  });
  return { index: idx, invalid, valid };
}
/** An index with `changes` applied as the first (reset) listing. */
export function listed(zones: string[], changes: KeyChange[], options: Partial<EtcdIndexOptions> = {}): Built {
  const built = index(zones, options);
  built.index.apply(batch(changes, 100, true));
  return built;
}

/** The end-to-end answer, records as zone-file lines (sorted: RRsets are unordered). */
export function ask(zones: ReadonlyMap<Name, ZoneView>, question: string) {
  const [name, type] = question.split(/\s+/) as [string, string];
  const outcome = resolve({ name: name.replace(/\.$/, '').toLowerCase(), type: typeCode(type)! }, new Snapshot(zones, 1));
  if (outcome.kind === 'notours') return { kind: outcome.kind };
  return {
    kind: outcome.kind,
    answer: outcome.answer.map(formatRR).sort(),
    authority: outcome.authority.map(formatRR),
    additional: outcome.additional.map(formatRR).sort(),
  };
}
export const answer = (zones: ReadonlyMap<Name, ZoneView>, question: string): string[] => ask(zones, question).answer ?? ['(not ours)'];

/** The RDATA of one type at a node, sorted; undefined when the node lacks the type. */
export function rdata(node: Node | undefined, type: keyof typeof RRType): string[] | undefined {
  return node?.get(RRType[type])?.records.map(formatRData).sort();
}
export function zone(built: Built, origin: string): ZoneView {
  return built.index.zones.get(origin)!;
}
