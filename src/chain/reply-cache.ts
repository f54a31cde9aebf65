import { LRUCache } from 'lru-cache';
import type { Name } from '../dns/name.js';
import type { Snapshot } from '../table/snapshot.js';
import type { ZoneView } from '../table/zone.js';
import type { ResponseTemplate } from '../wire/response.js';
import type { ExtendedError } from '../wire/ede.js';

/**
 * Passed to every `get`: lru-cache's get defaults its options to a fresh `{}` and writes a
 * property into it, an allocation per query that made up an eighth of what a query allocated
 * (each scavenge pauses the server; docs/performance.md, Latency). Reusing one object is safe:
 * lru-cache only ever stores its diagnostics `status` in it (undefined unless someone
 * subscribes to its diagnostics channel).
 */
const GET_OPTIONS: LRUCache.GetOptions<string, CachedReply, unknown> = {};

/** An encoded reply and what it was built from. */
export interface CachedReply {
  readonly template: ResponseTemplate;
  /** Origin of the question's zone, for metrics and the stale policy. */
  readonly zone: Name;
  /** The zone views the answer was read from (Resolved.consulted). */
  readonly consulted: readonly ZoneView[];
  /** Why the template is a SERVFAIL instead of the answer, sent as an Extended DNS Error (RFC 8914). */
  readonly failure?: ExtendedError;
}

export interface ReplyCacheOptions {
  /** Most entries (--reply-cache-entries-like bound; default 100,000). */
  readonly maxEntries?: number;
  /** Most bytes, as estimated per entry (default 64 MiB). */
  readonly maxBytes?: number;
}

/**
 * Encoded replies by (type, name), valid for as long as the zone views they were read from
 * are the ones the current snapshot serves. Zones are immutable values swapped whole (a
 * change makes a new view), so view identity says "unchanged" exactly: an etcd change in
 * one zone leaves the cached replies of every other zone, zone-file zones included, in
 * place. Only a change of the set of zones empties the cache: a new, more specific zone may
 * take over names whose answers were cached from its parent.
 */
export class ReplyCache {
  readonly #lru: LRUCache<string, CachedReply>;
  #zoneSetGeneration = -1;

  constructor(options: ReplyCacheOptions = {}) {
    this.#lru = new LRUCache<string, CachedReply>({
      max: options.maxEntries ?? 100_000,
      maxSize: options.maxBytes ?? 64 * 1024 * 1024,
      // What an entry really costs: the reply bytes, the key string (two bytes a char), and about
      // 450 bytes of objects and lru-cache bookkeeping around them (measured with 1M names).
      sizeCalculation: (v, key) => v.template.bytes.length + key.length * 2 + 450,
    });
  }

  /** The reply cached for this question, if it is still what `snapshot` would answer. */
  get(snapshot: Snapshot, key: string): CachedReply | undefined {
    if (snapshot.zoneSetGeneration !== this.#zoneSetGeneration) {
      this.#lru.clear();
      this.#zoneSetGeneration = snapshot.zoneSetGeneration;
      return undefined;
    }
    const hit = this.#lru.get(key, GET_OPTIONS);
    if (!hit) return undefined;
    const zones = snapshot.zones;
    const consulted = hit.consulted;
    for (let i = 0; i < consulted.length; i++) {
      const view = consulted[i]!;
      if (zones.get(view.origin) !== view) {
        this.#lru.delete(key);
        return undefined;
      }
    }
    return hit;
  }

  set(key: string, reply: CachedReply): void {
    this.#lru.set(key, reply);
  }

  get size(): number {
    return this.#lru.size;
  }
}

/** The cache key of a question: type and canonical name. */
export function replyKey(type: number, name: Name): string {
  // Remembered per (type, name): building the string anew for each query allocated it twice
  // (the concatenation, then its flat copy in the Map lookup), a seventh of what a query
  // allocated. Question names come interned (dns/name-intern.ts), so the lookup reuses the
  // hash V8 keeps in the string. Bounded: a table that fills up starts again.
  let byName = keysByType.get(type);
  if (byName === undefined) keysByType.set(type, (byName = new Map()));
  let key = byName.get(name);
  if (key === undefined) {
    if (byName.size >= KEYS_PER_TYPE) byName.clear();
    key = `${type}:${name}`;
    byName.set(name, key);
  }
  return key;
}

const KEYS_PER_TYPE = 16384;
const keysByType = new Map<number, Map<Name, string>>();
