import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { Flag } from '../dns/constants.js';
import { errorMessage } from '../errors.js';
import type { StoredReply, UpstreamQuestion, UpstreamReply } from '../wire/relay.js';
import type { ForwardCacheOptions } from './types.js';

/** A cached upstream reply and its timeline, in clock milliseconds. */
export interface CacheEntry extends StoredReply {
  readonly insertedAt: number;
  /** Answered from the cache until then. */
  readonly freshUntil: number;
  /** RFC 8767: may be served stale (when the upstreams fail) until then. 0 once superseded. */
  staleUntil: number;
  /** RFC 8767 §5 failure recheck: after a failed refresh, serve stale without asking until then. */
  recheckAt: number;
}

export type Lookup =
  /** Fresh in the cache. */
  | { readonly kind: 'hit'; readonly entry: CacheEntry }
  /** Just fetched from an upstream (by this query or a concurrent identical one) and cached. */
  | { readonly kind: 'fetched'; readonly entry: CacheEntry }
  /** Just fetched but not cacheable (TTL 0, no SOA for a negative answer, FORMERR, ...). */
  | { readonly kind: 'uncached'; readonly reply: StoredReply }
  /** Every upstream failed; this expired entry is still inside the serve-stale window. */
  | { readonly kind: 'stale'; readonly entry: CacheEntry }
  /** Every upstream failed and there is nothing to serve. */
  | { readonly kind: 'failed'; readonly reason: string };

export type FetchResult = { readonly ok: true; readonly reply: StoredReply } | { readonly ok: false; readonly reason: string };

/** RFC 8767 §5 suggests 30 s for the failure recheck timer. */
export const FAILURE_RECHECK_MS = 30_000;
/** Bytes an entry costs beyond its reply bytes (objects, offsets, key): a rough, fixed figure. */
const ENTRY_OVERHEAD = 256;

/**
 * Cache key: canonical name, type, class, and the two bits that change what an upstream
 * returns for the same question: DO (RRSIGs or not, RFC 3225 §3) and CD (data that failed
 * validation upstream may come back with CD, RFC 4035 §3.2.2, and must not reach a client that
 * relies on the upstream's validation).
 */
export function cacheKey(q: UpstreamQuestion): string {
  return `${q.name}|${q.type}|${q.class}|${q.edns?.dnssecOk ? 1 : 0}|${q.flags & Flag.CD ? 1 : 0}`;
}

/**
 * How long a reply may be cached, in seconds, or undefined when it must not be:
 * - positive: the smallest TTL of any record kept (so no record is ever served past its own
 *   TTL; the answer section's minimum is usually that one), capped by `maxTtlSeconds`;
 * - NXDOMAIN / NODATA: the RFC 2308 §5 negative TTL (min of the SOA's TTL and MINIMUM), capped
 *   by `maxNegativeTtlSeconds`; without an SOA they are not cached (RFC 2308 §5 "SHOULD NOT");
 * - TTL 0 (RFC 1035 §3.2.1: use only for this transaction), SERVFAIL, REFUSED, FORMERR, ...
 *   and truncated replies: never.
 */
export function cacheTtlSeconds(info: UpstreamReply, limits: Pick<ForwardCacheOptions, 'maxTtlSeconds' | 'maxNegativeTtlSeconds'>): number | undefined {
  if (info.truncated) return undefined;
  let ttl: number;
  if (info.kind === 'positive') {
    if (info.minTtl === undefined) return undefined;
    ttl = Math.min(info.minTtl, limits.maxTtlSeconds);
  } else if (info.kind === 'nxdomain' || info.kind === 'nodata') {
    if (info.negativeTtl === undefined) return undefined;
    ttl = Math.min(info.negativeTtl, info.minTtl ?? Infinity, limits.maxNegativeTtlSeconds);
  } else {
    return undefined;
  }
  ttl = Math.floor(ttl);
  return ttl > 0 ? ttl : undefined;
}

/** Thrown out of fetchMethod so that lru-cache stores nothing, and caught in lookup(). */
class NotStored {
  constructor(
    readonly reply: StoredReply | undefined,
    readonly reason: string,
  ) {}
}

export interface ReplyCacheOptions<C> {
  readonly limits: ForwardCacheOptions;
  readonly clock: Clock;
  /** Asks the upstreams; called once per key at a time, whatever the number of waiters. */
  readonly fetch: (context: C) => Promise<FetchResult>;
}

/**
 * The forwarder's cache, on lru-cache: bounded by entries and bytes, least recently used out
 * first. lru-cache's `fetch` gives the singleflight: while a key is being fetched, every other
 * lookup of it waits for the same upstream query, for a miss as for a refresh of an expired
 * entry (a refresh is a `forceRefresh` fetch, which joins the one in flight).
 *
 * Entries live in lru-cache for their TTL plus the serve-stale window; freshness is decided
 * here, from the entry's own timestamps, so lru-cache's expiry only bounds how long an entry
 * may be kept.
 */
export class ReplyCache<C extends object> {
  readonly #lru: LRUCache<string, CacheEntry, unknown>;
  readonly #clock: Clock;
  readonly #limits: ForwardCacheOptions;

  constructor(options: ReplyCacheOptions<C>) {
    const { limits, clock } = options;
    const fetchUpstream = options.fetch;
    this.#clock = clock;
    this.#limits = limits;
    this.#lru = new LRUCache<string, CacheEntry, unknown>({
      max: Math.max(1, limits.maxEntries),
      maxSize: Math.max(1, limits.maxBytes),
      sizeCalculation: (entry, key) => entry.bytes.length + entry.info.ttlOffsets.byteLength + key.length + ENTRY_OVERHEAD,
      // Our clock, read on every check: tests move it, and entries must expire exactly then
      // (the default 1 ms resolution caches "now" and would leave them fresh).
      perf: { now: () => clock.now() },
      ttlResolution: 0,
      // A failed fetch must leave the stale entry in place for serve-stale.
      noDeleteOnFetchRejection: true,
      // An entry evicted while its fetch is in flight: let the fetch finish and answer its
      // waiters anyway (it just is not stored).
      ignoreFetchAbort: true,
      fetchMethod: async (_key, staleValue, { options, context }) => {
        const r = await fetchUpstream(context as C);
        if (!r.ok) throw new NotStored(undefined, r.reason);
        const ttl = cacheTtlSeconds(r.reply.info, limits);
        if (ttl === undefined) {
          // The upstream did answer, and this answer replaces the old one: the old entry
          // must not come back later as a stale answer.
          if (staleValue) staleValue.staleUntil = 0;
          throw new NotStored(r.reply, 'not cacheable');
        }
        const now = clock.now();
        const keepMs = (ttl + Math.max(0, limits.staleSeconds)) * 1000;
        // Per-entry TTL for lru-cache: set here, where the answer's TTL is known.
        options.ttl = keepMs;
        return { ...r.reply, insertedAt: now, freshUntil: now + ttl * 1000, staleUntil: now + keepMs, recheckAt: 0 };
      },
    });
  }

  get entries(): number {
    return this.#lru.size;
  }

  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  /**
   * What the cache can answer for `key` right now, without asking upstream: a fresh entry, or
   * (RFC 8767 §5) an expired one whose refresh failed a moment ago, so that every client does
   * not wait for the upstreams' timeouts again until the recheck time. Synchronous, so that a
   * hit costs no promise.
   */
  peek(key: string): Lookup | undefined {
    const entry = this.#lru.get(key);
    if (!entry) return undefined;
    const now = this.#clock.now();
    if (now < entry.freshUntil) return { kind: 'hit', entry };
    if (now < entry.recheckAt && now < entry.staleUntil) return { kind: 'stale', entry };
    return undefined;
  }

  /**
   * The cached reply for `key`, or the upstreams' via `fetch(context)`. `context` describes
   * the question; only the first of concurrent lookups of a key has its context used.
   */
  async lookup(key: string, context: C): Promise<Lookup> {
    const answered = this.peek(key);
    if (answered) return answered;
    const entry = this.#lru.get(key);
    let reason: string;
    try {
      const fetched = await this.#lru.fetch(key, { forceRefresh: entry !== undefined, context });
      if (fetched) return { kind: 'fetched', entry: fetched };
      reason = 'nothing fetched';
    } catch (e) {
      if (e instanceof NotStored) {
        if (e.reply) return { kind: 'uncached', reply: e.reply };
        reason = e.reason;
      } else {
        reason = errorMessage(e);
      }
    }
    // Every upstream failed: RFC 8767 §4, answer from the expired entry if still in the window.
    const t = this.#clock.now();
    const stale = this.#lru.get(key) ?? entry;
    // A concurrent lookup may have stored a fresh answer in the meantime.
    if (stale && t < stale.freshUntil) return { kind: 'hit', entry: stale };
    if (stale && this.#limits.staleSeconds > 0 && t < stale.staleUntil) {
      stale.recheckAt = Math.min(t + FAILURE_RECHECK_MS, stale.staleUntil);
      return { kind: 'stale', entry: stale };
    }
    return { kind: 'failed', reason };
  }

  clear(): void {
    this.#lru.clear();
  }
}
