import { RRClass, RRType, Rcode, isMetaType, typeName } from '../dns/constants.js';
import { toPresentation, type Name } from '../dns/name.js';
import type { Logger } from '../log.js';
import type { Resolved } from '../resolve/outcome.js';
import { resolve } from '../resolve/resolve.js';
import type { Snapshot } from '../table/snapshot.js';
import { EdeCode, withExtendedError, type ExtendedError } from '../wire/ede.js';
import { buildTemplate, render, type ResponseTemplate } from '../wire/response.js';
import { replyWithoutRecords } from './refuse.js';
import { ReplyCache, replyKey, type CachedReply } from './reply-cache.js';
import type { Stage } from './request.js';

export interface AuthoritativeOptions {
  /** The current snapshot; read once per query. */
  readonly snapshot: () => Snapshot;
  readonly cache: ReplyCache;
  readonly logger: Logger;
  /**
   * Zones whose data is too stale to serve (etcd unreachable longer than --max-stale): their
   * queries get SERVFAIL, which tells resolvers to try another replica.
   */
  readonly unavailableZones?: () => ReadonlySet<Name>;
  /** Why those zones are unavailable, sent with the SERVFAIL as an Extended DNS Error (RFC 8914). */
  readonly unavailableReason?: () => ExtendedError;
}

const INTERNAL_ERROR: ExtendedError = { code: EdeCode.Other, text: 'internal error (logged by the server)' };

/**
 * Answers every class-IN question that falls in one of our zones, from the reply cache or by
 * resolving against the snapshot; never passes such a question on (one owner per zone, as in
 * CoreDNS), so the forwarder only ever sees names outside our zones.
 */
export function authoritative(options: AuthoritativeOptions): Stage {
  const { cache, logger } = options;
  return (next) => (request) => {
    const d = request.decoded;
    if (d.kind !== 'query') return next(request);
    const query = d.query;
    if (query.class !== RRClass.IN || (isMetaType(query.type) && query.type !== RRType.ANY)) return next(request);

    let cached: CachedReply | undefined;
    try {
      const snapshot = options.snapshot();
      const key = replyKey(query.type, query.name);
      cached = cache.get(snapshot, key);
      if (!cached) {
        const outcome = resolve({ name: query.name, type: query.type }, snapshot);
        if (outcome.kind === 'notours') return next(request);
        cached = { template: templateFor(query, outcome), zone: outcome.zone, consulted: outcome.consulted };
        cache.set(key, cached);
      }
    } catch (error) {
      // A bug or bad data must cost one SERVFAIL, not the server (RFC 1035 §4.1.1 rcode 2).
      logger.error({ err: error, name: toPresentation(query.name), type: typeName(query.type) }, 'failed to answer a query');
      return withExtendedError(replyWithoutRecords(request, Rcode.SERVFAIL), INTERNAL_ERROR, request.maxSize);
    }
    request.zone = cached.zone;
    if (options.unavailableZones?.().has(cached.zone)) {
      const reply = replyWithoutRecords(request, Rcode.SERVFAIL);
      return options.unavailableReason ? withExtendedError(reply, options.unavailableReason(), request.maxSize) : reply;
    }
    request.template = cached.template;
    return render(cached.template, query, request.maxSize, request.advertisedUdpSize, request.extraFlags);
  };
}

/** Encodes an outcome for the question asked (RFC 1035 §4.1.1 flags, RFC 2308 negative answers). */
export function templateFor(query: { name: string; type: number }, outcome: Resolved): ResponseTemplate {
  return buildTemplate({
    question: { name: query.name, type: query.type, class: RRClass.IN },
    rcode: outcome.kind === 'nxdomain' ? Rcode.NXDOMAIN : outcome.kind === 'yxdomain' ? Rcode.YXDOMAIN : Rcode.NOERROR,
    // A referral is not an authoritative answer (RFC 1034 §4.3.2 step 3b).
    authoritative: outcome.kind !== 'referral',
    answer: outcome.answer,
    authority: outcome.authority,
    additional: outcome.additional,
    additionalRequired: outcome.kind === 'referral',
  });
}
