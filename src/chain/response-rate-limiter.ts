/**
 * Response rate limiting (RRL) for UDP, in the manner of BIND 9's `rate-limit` (and the
 * "DNS Response Rate Limiting" technical note by Vixie and Schryver, 2012).
 *
 * Why: a UDP query's source address can be forged. An attacker who sends us queries "from" a
 * victim's address makes us send the replies to the victim, larger than the queries
 * (reflection and amplification; RFC 5358 §1, RFC 8482 §1). TCP cannot be forged that way
 * (the handshake proves the address), so only UDP is limited.
 *
 * How: replies to one client network (/24 for IPv4, /56 for IPv6, BIND's `ipv4-prefix-length`
 * and `ipv6-prefix-length` defaults: one customer's allocation, so that an attacker cannot
 * dodge the limit by spreading forged sources over a subnet) draw from a token bucket that
 * refills at `responsesPerSecond` and holds at most one second's worth. A reply with no token
 * left is not sent, except every `slip`-th one (BIND `slip`, default 2), which goes out as an
 * empty reply with TC=1: a real client behind a forged flood then retries over TCP (RFC 7766
 * §5) and still gets its answer, while the victim of a reflection gets at most half the
 * packets, each smaller than the query was.
 *
 * Memory is bounded whatever the number of distinct sources: the buckets live in an LRU of at
 * most `maxEntries` networks (lru-cache: O(1) per packet, also while a flood of forged random
 * sources evicts an entry per packet; a Map with delete-and-reinsert degrades there, because
 * finding its oldest key skips over every deleted slot). A network evicted (not seen for the
 * longest) comes back with a full bucket, which is what it would have refilled to anyway unless
 * it was very recently active, and an active flood keeps its own entry fresh.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { ipv6Bytes } from '../dns/ip.js';

export interface RateLimitOptions {
  /** Replies per second per client network; must be positive (0 means "off": build no limiter). */
  readonly responsesPerSecond: number;
  /** Every slip-th limited reply is sent truncated (TC=1) instead of dropped; 0: drop them all. */
  readonly slip: number;
  readonly clock: Clock;
  /** Most client networks tracked at once (BIND `max-table-size` is 20000 by default). */
  readonly maxEntries?: number;
}

/** `send` as usual; `drop`: send nothing; `slip`: send an empty reply with TC=1 instead. */
export type RateLimitVerdict = 'send' | 'drop' | 'slip';

/** Client networks tracked by default: about 100 bytes each, so a few MiB at most. */
export const DEFAULT_RATE_LIMIT_ENTRIES = 65_536;

interface Bucket {
  /** Tokens left, at most one second's worth (`rate`). */
  tokens: number;
  /** clock.now() when `tokens` was last brought up to date. */
  at: number;
  /** Limited replies so far, for the slip count. */
  limited: number;
}

export class ResponseRateLimiter {
  readonly #rate: number;
  readonly #slip: number;
  readonly #clock: Clock;
  readonly #maxEntries: number;
  readonly #buckets: LRUCache<string, Bucket>;
  #dropped = 0;
  #slipped = 0;

  constructor(o: RateLimitOptions) {
    if (!(Number.isFinite(o.responsesPerSecond) && o.responsesPerSecond > 0)) {
      throw new RangeError(`responsesPerSecond must be positive, got ${o.responsesPerSecond}`);
    }
    if (!Number.isInteger(o.slip) || o.slip < 0) throw new RangeError(`slip must be an integer >= 0, got ${o.slip}`);
    const maxEntries = o.maxEntries ?? DEFAULT_RATE_LIMIT_ENTRIES;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    this.#rate = o.responsesPerSecond;
    this.#slip = o.slip;
    this.#clock = o.clock;
    this.#maxEntries = maxEntries;
    this.#buckets = new LRUCache<string, Bucket>({ max: maxEntries });
  }

  /**
   * Whether a reply to `address` may be sent now; takes a token when it may. Call once per
   * reply about to be sent over UDP.
   */
  check(address: string): RateLimitVerdict {
    const key = clientNetwork(address);
    const now = this.#clock.now();
    // get() makes the entry the most recently used; set() evicts the least recently used.
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      // A new network starts with a full bucket (it has sent nothing we know of).
      bucket = { tokens: this.#rate, at: now, limited: 0 };
      this.#buckets.set(key, bucket);
    } else {
      const elapsed = now - bucket.at;
      if (elapsed > 0) {
        bucket.tokens = Math.min(this.#rate, bucket.tokens + (elapsed * this.#rate) / 1000);
        bucket.at = now;
      }
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 'send';
    }
    bucket.limited++;
    if (this.#slip > 0 && bucket.limited % this.#slip === 0) {
      // BIND: slipped replies are not counted against the bucket; they are small by design.
      this.#slipped++;
      return 'slip';
    }
    this.#dropped++;
    return 'drop';
  }

  /** Client networks currently tracked (never more than maxEntries). */
  get size(): number {
    return this.#buckets.size;
  }

  get maxEntries(): number {
    return this.#maxEntries;
  }

  /** Replies not sent at all. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Replies sent as TC=1 instead. */
  get slipped(): number {
    return this.#slipped;
  }
}

/**
 * The client network an address belongs to, as a Map key: the first three octets of an IPv4
 * address (/24), the first 56 bits of an IPv6 address (/56). IPv4-mapped IPv6 addresses (a
 * dual-stack socket's view of an IPv4 client) count as IPv4.
 */
export function clientNetwork(address: string): string {
  let a = address;
  if (a.startsWith('::ffff:') && a.includes('.')) a = a.slice(7);
  if (!a.includes(':')) {
    const dot = a.lastIndexOf('.');
    return dot < 0 ? a : a.slice(0, dot);
  }
  // Node reports link-local sources with their scope ("fe80::1%eth0"): the scope is not part
  // of the address.
  const percent = a.indexOf('%');
  const bytes = ipv6Bytes(percent < 0 ? a : a.slice(0, percent));
  if (bytes === undefined) return a;
  let key = '';
  for (let i = 0; i < 7; i++) key += (bytes[i]! < 16 ? '0' : '') + bytes[i]!.toString(16);
  return `${key}::/56`;
}
