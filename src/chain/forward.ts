import { Flag, RRClass, RRType, Rcode, isMetaType } from '../dns/constants.js';
import { EdeCode, withExtendedError } from '../wire/ede.js';
import type { Query } from '../wire/query.js';
import { replyWithoutRecords } from './refuse.js';
import type { Stage } from './request.js';

/** Which clients may recurse through us (never an open resolver, RFC 5358). */
export interface RecursionPolicy {
  allows(address: string): boolean;
}

/** Whoever answers names outside our zones (the forwarder, forward/forwarder.ts). */
export interface Upstream {
  /**
   * The reply from the cache (at once) or upstream (a promise) for this client; never
   * rejects. `query.message` may be a view into the transport's buffer: read it before
   * returning, copy what is kept across a wait.
   */
  forward(query: Query, maxSize: number, advertisedUdpSize: number): Buffer | Promise<Buffer>;
}

/**
 * RA says recursion is available (RFC 1035 §4.1.1), which it is only for the clients the
 * policy allows: every reply to them carries it, authoritative ones included. Placed before
 * the stages that answer.
 */
export function recursionAvailable(policy: RecursionPolicy): Stage {
  return (next) => (request) => {
    if (policy.allows(request.remoteAddress)) request.extraFlags |= Flag.RA;
    return next(request);
  };
}

/**
 * Sends what reaches it (names outside our zones: the authoritative stage answers all of
 * ours) upstream, for clients that asked for recursion (RD, RFC 1035 §4.3.1) and may have
 * it; everything else goes on (to be refused).
 */
export function forward(upstream: Upstream, policy: RecursionPolicy): Stage {
  return (next) => (request) => {
    const d = request.decoded;
    if (d.kind !== 'query' || !(d.query.flags & Flag.RD) || !forwardable(d.query)) return next(request);
    if (!policy.allows(request.remoteAddress)) {
      // What the end of the chain would answer, REFUSED, with the reason (RFC 8914 §4.19).
      return withExtendedError(replyWithoutRecords(request, Rcode.REFUSED), RECURSION_PROHIBITED, request.maxSize);
    }
    return upstream.forward(d.query, request.maxSize, request.advertisedUdpSize);
  };
}

const RECURSION_PROHIBITED = { code: EdeCode.Prohibited, text: 'recursion is not allowed for this client (--allow-recursion)' };

/** Questions a recursive resolver can answer: class IN, data types and ANY. */
function forwardable(query: Query): boolean {
  return query.class === RRClass.IN && (!isMetaType(query.type) || query.type === RRType.ANY);
}
