import { hostname } from 'node:os';
import { RRClass, RRType, Rcode } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import { txtStrings } from '../dns/records.js';
import { buildTemplate, render } from '../wire/response.js';
import type { Stage } from './request.js';

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

/**
 * Class CH (RFC 1035 §3.2.4) TXT answers for the server-identity names; any other CH name
 * goes on down the chain (and is refused there). Built per query: these are rare, and some
 * strings change (the etcd revision a replica serves).
 */
export function chaos(names: ChaosNames): Stage {
  return (next) => (request) => {
    const d = request.decoded;
    if (d.kind !== 'query' || d.query.class !== RRClass.CH) return next(request);
    const query = d.query;
    const strings = names.get(query.name);
    if (!strings) return next(request);
    const wanted = query.type === RRType.TXT || query.type === RRType.ANY;
    const data = { type: RRType.TXT, strings: strings().flatMap((s) => txtStrings(s)) };
    const template = buildTemplate({
      question: { name: query.name, type: query.type, class: RRClass.CH },
      rcode: Rcode.NOERROR,
      authoritative: true,
      answer: wanted ? [{ name: query.name, type: RRType.TXT, ttl: 0, data }] : [],
      authority: [],
      additional: [],
    });
    return render(template, query, request.maxSize, request.advertisedUdpSize, request.extraFlags);
  };
}
