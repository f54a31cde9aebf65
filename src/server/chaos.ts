import { hostname } from 'node:os';
import type { Name } from '../dns/name.js';
import { txtStrings } from '../dns/records.js';

/** Class CH names answered with TXT, by canonical name. */
export type ChaosNames = ReadonlyMap<Name, Uint8Array[]>;

/**
 * The server-identity names operators query with `dig CH TXT version.bind` (RFC 4892 §2 for
 * id.server and version.server; version.bind and hostname.bind are BIND's, which every tool
 * knows). `extra` lets other parts add names, e.g. the etcd revision a replica serves.
 */
export function chaosNames(version: string, extra: Iterable<[Name, string]> = []): ChaosNames {
  const id = hostname();
  const names = new Map<Name, Uint8Array[]>([
    ['version.bind', txtStrings(`etcdns ${version}`)],
    ['version.server', txtStrings(`etcdns ${version}`)],
    ['id.server', txtStrings(id)],
    ['hostname.bind', txtStrings(id)],
  ]);
  for (const [name, text] of extra) names.set(name, txtStrings(text));
  return names;
}
