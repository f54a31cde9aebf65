import { RRClass, RRType, Rcode, isMetaType, typeName } from '../dns/constants.js';
import { toPresentation, type Name } from '../dns/name.js';
import type { Logger } from '../log.js';
import { LogLimit } from '../log-limit.js';
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
  /** Milliseconds, monotonic (Clock.now): the failure log is at most one line a second. */
  readonly now: () => number;
  /**
   * Zones whose data is too stale to serve (etcd unreachable longer than --max-stale): their
   * queries get SERVFAIL, which tells resolvers to try another replica.
   */
  readonly unavailableZones?: () => ReadonlySet<Name>;
  /** Why those zones are unavailable, sent with the SERVFAIL as an Extended DNS Error (RFC 8914). */
  readonly unavailableReason?: () => ExtendedError;
  /**
   * For a name in none of the zones served: why, when it belongs to a zone whose file never
   * loaded (sources/zonefile/file-report.ts). Such a name gets SERVFAIL, not the next stage.
   */
  readonly notLoaded?: (name: Name) => string | undefined;
}

const INTERNAL_ERROR: ExtendedError = { code: EdeCode.Other, text: 'internal error (logged by the server)' };
/** RFC 8914 has no code for an answer too large for any message: Other (0), with the reason. */
const TOO_LARGE: ExtendedError = { code: EdeCode.Other, text: 'the answer does not fit a DNS message (65,535 octets)' };

/**
 * Answers every class-IN question that falls in one of our zones, from the reply cache or by
 * resolving against the snapshot; never passes such a question on (one owner per zone, as in
 * CoreDNS), so the forwarder only ever sees names outside our zones.
 */
export function authoritative(options: AuthoritativeOptions): Stage {
  const { cache, logger } = options;
  const logLimit = new LogLimit(options.now);
  const logFailure = (error: unknown, query: { name: Name; type: number }, msg: string) => {
    if (logLimit.allow()) logger.error({ err: error, name: toPresentation(query.name), type: typeName(query.type), suppressed: logLimit.take() }, msg);
  };
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
        if (outcome.kind === 'notours') {
          const why = options.notLoaded?.(query.name);
          if (why === undefined) return next(request);
          // Ours, but its data did not load (RFC 1035 §4.1.1 rcode 2, "unable to process"): a
          // resolver tries another replica; RFC 8914 has no closer INFO-CODE than Other.
          return withExtendedError(replyWithoutRecords(request, Rcode.SERVFAIL), { code: EdeCode.Other, text: why }, request.maxSize);
        }
        let template: ResponseTemplate;
        let failure: ExtendedError | undefined;
        try {
          template = templateFor(query, outcome);
        } catch (error) {
          // A reply that cannot be built (it would not fit a DNS message) fails the same way for
          // every query until the data changes: cache the SERVFAIL with the views it came from,
          // so the next query costs a cache hit, not another attempt and another log line.
          logFailure(error, query, 'cannot build the reply: answering SERVFAIL until the data changes');
          template = unbuildableReply(query);
          failure = TOO_LARGE;
        }
        // One object shape for every entry (failure undefined for answers): the read below stays monomorphic.
        cached = { template, zone: outcome.zone, consulted: outcome.consulted, failure };
        cache.set(key, cached);
      }
    } catch (error) {
      // A bug or bad data must cost one SERVFAIL, not the server (RFC 1035 §4.1.1 rcode 2).
      logFailure(error, query, 'failed to answer a query');
      return withExtendedError(replyWithoutRecords(request, Rcode.SERVFAIL), INTERNAL_ERROR, request.maxSize);
    }
    request.zone = cached.zone;
    if (options.unavailableZones?.().has(cached.zone)) {
      const reply = replyWithoutRecords(request, Rcode.SERVFAIL);
      return options.unavailableReason ? withExtendedError(reply, options.unavailableReason(), request.maxSize) : reply;
    }
    request.template = cached.template;
    const reply = render(cached.template, query, request.maxSize, request.advertisedUdpSize, request.extraFlags);
    return cached.failure ? withExtendedError(reply, cached.failure, request.maxSize) : reply;
  };
}

/**
 * Largest reply a template may hold: what one TCP message carries (RFC 1035 §4.2.2, a 16-bit
 * length). A bigger one could be sent over neither transport.
 */
const MAX_REPLY_OCTETS = 0xffff;

/** Encodes an outcome for the question asked (RFC 1035 §4.1.1 flags, RFC 2308 negative answers). */
export function templateFor(query: { name: string; type: number }, outcome: Resolved): ResponseTemplate {
  const template = buildTemplate({
    question: { name: query.name, type: query.type, class: RRClass.IN },
    rcode: outcome.kind === 'nxdomain' ? Rcode.NXDOMAIN : outcome.kind === 'yxdomain' ? Rcode.YXDOMAIN : Rcode.NOERROR,
    // A referral is not an authoritative answer (RFC 1034 §4.3.2 step 3b).
    authoritative: outcome.kind !== 'referral',
    answer: outcome.answer,
    authority: outcome.authority,
    additional: outcome.additional,
    additionalRequired: outcome.kind === 'referral',
  });
  if (template.bytes.length > MAX_REPLY_OCTETS) throw new RangeError(`reply of ${template.bytes.length} octets exceeds ${MAX_REPLY_OCTETS}`);
  return template;
}

/**
 * The SERVFAIL cached for a question whose reply cannot be built (RFC 1035 §4.1.1 rcode 2: "the
 * name server was unable to process this query"), so resolvers try another server.
 */
function unbuildableReply(query: { name: string; type: number }): ResponseTemplate {
  return buildTemplate({ question: { name: query.name, type: query.type, class: RRClass.IN }, rcode: Rcode.SERVFAIL, authoritative: false, answer: [], authority: [], additional: [] });
}
