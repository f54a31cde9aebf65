import { hostname } from 'node:os';
import type { Name } from '../dns/name.js';

/**
 * Class CH names answered with TXT: a name → the strings to answer, computed per query (they
 * are rare, and some change, like the revision a replica serves).
 */
export type ChaosNames = ReadonlyMap<Name, () => readonly string[]>;

/**
 * The server-identity names operators query with `dig CH TXT version.bind` (RFC 4892 §2 for
 * id.server and version.server; version.bind and hostname.bind are BIND's, which every tool
 * knows). `extra` adds names, e.g. `revision.etcdns` for the etcd revision a replica serves.
 */
export function chaosNames(version: string, extra: Iterable<[Name, () => readonly string[]]> = []): ChaosNames {
  const id = hostname();
  const names = new Map<Name, () => readonly string[]>([
    ['version.bind', () => [`etcdns ${version}`]],
    ['version.server', () => [`etcdns ${version}`]],
    ['id.server', () => [id]],
    ['hostname.bind', () => [id]],
  ]);
  for (const [name, strings] of extra) names.set(name, strings);
  return names;
}
