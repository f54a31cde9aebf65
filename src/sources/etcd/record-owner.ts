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
  if (last < zoneDepth || !isRecordLabel(segments[last]!)) return undefined;
  if (last === zoneDepth + 2 && segments[zoneDepth] === 'dns' && segments[zoneDepth + 1] === 'apex') return segments.slice(0, zoneDepth);
  return segments.slice(0, last);
}

/**
 * The shortest record label: `_rr-`, a type mnemonic, `-`, 16 hex digits of hash
 * (update-records.ts `recordKey`).
 */
const MIN_LABEL = LABEL_PREFIX.length + 1 + 1 + 16;
/** Where the `-` before the hash is, counted from the end of the label. */
const HASH_DASH = 17;

/** Whether a key segment is an UPDATE record's label (`_rr-<type>-<hash>`). */
export function isRecordLabel(label: string): boolean {
  return label.length >= MIN_LABEL && label.charCodeAt(label.length - HASH_DASH) === 45 && label.startsWith(LABEL_PREFIX);
}

/**
 * Whether an etcd key's last label is an UPDATE record's (`…/_rr-<type>-<hash>`). Called for
 * every entry a subtree aggregate reads (100k on a big zone's apex): one character decides for
 * nearly every other key, before the label is looked for.
 */
export function isRecordKey(key: string): boolean {
  const n = key.length;
  if (key.charCodeAt(n - HASH_DASH) !== 45) return false;
  const from = key.lastIndexOf('/') + 1;
  return n - from >= MIN_LABEL && key.startsWith(LABEL_PREFIX, from);
}

/**
 * Whether a record key holds a CNAME (`…/_rr-cname-…`): of UPDATE's records only a CNAME makes
 * its name an alias (an SRV with port 0 has a host name and no port as well).
 */
export function isCnameKey(key: string): boolean {
  return key.startsWith(`${LABEL_PREFIX}cname-`, key.lastIndexOf('/') + 1);
}
