/**
 * Where the records of a key written by DNS UPDATE belong (docs/etcd-data.md, "What a client
 * reads back"). SkyDNS reads every key as a name of its own whose records also count at every
 * name above it; UPDATE's keys (`<name key>/_rr-<type>-<hash>`, skydns/update-records.ts) are
 * records of one name. In the default mode (`--compat rfc`) they are read as such: the key's
 * record belongs to its owner name only - the `_rr-` label is no name, and the names above do
 * not aggregate it - so a client reads back, and a zone transfer lists, exactly what it wrote
 * (RFC 2136 §3.4.2: an update adds and deletes RRs of a name, nothing else). `--compat coredns`
 * keeps CoreDNS's reading of the same keys.
 *
 * The index maps a key to its owner here, once (`ownerSegments`); the answers leave record keys
 * out of the subtree aggregates (`isRecordKey`, name-trie.ts `collect`).
 */
import { LABEL_PREFIX } from '../../skydns/update-records.js';

/**
 * The trie path of the owner of a record key (its segments top-down, as `splitKey` gives them),
 * or undefined for a key that is not one: the key without its `_rr-` label, and for
 * `<zone>/dns/apex/_rr-…` (where UPDATE writes the apex's addresses, the place SkyDNS reads
 * them from) the zone apex itself. `zoneDepth`: how many segments the key's zone has.
 */
export function ownerSegments(segments: readonly string[], zoneDepth: number): readonly string[] | undefined {
  const last = segments.length - 1;
  if (last < zoneDepth || !segments[last]!.startsWith(LABEL_PREFIX)) return undefined;
  if (last === zoneDepth + 2 && segments[zoneDepth] === 'dns' && segments[zoneDepth + 1] === 'apex') return segments.slice(0, zoneDepth);
  return segments.slice(0, last);
}

/** Whether an etcd key's last label is an UPDATE record's (`…/_rr-…`). */
export function isRecordKey(key: string): boolean {
  return key.startsWith(LABEL_PREFIX, key.lastIndexOf('/') + 1);
}

/**
 * Whether a record key holds a CNAME (`…/_rr-cname-…`): of UPDATE's records only a CNAME makes
 * its name an alias (an SRV with port 0 has a host name and no port as well).
 */
export function isCnameKey(key: string): boolean {
  return key.startsWith(`${LABEL_PREFIX}cname-`, key.lastIndexOf('/') + 1);
}
