import { LRUCache } from 'lru-cache';
import { Flag, Rcode, RRClass, RRType, isMetaType, rcodeName, typeName } from '../dns/constants.js';
import { toPresentation, type Name } from '../dns/name.js';
import { txtStrings } from '../dns/records.js';
import type { Logger } from '../log.js';
import type { Outcome } from '../resolve/outcome.js';
import { resolve } from '../resolve/resolve.js';
import type { Snapshot } from '../table/snapshot.js';
import type { QueryContext } from '../transport/server.js';
import { decodeQuery, type Decoded, type Query } from '../wire/query.js';
import { buildTemplate, questionSection, render, renderBare, type ResponseTemplate } from '../wire/response.js';
import type { ChaosNames } from './chaos.js';
import type { RateLimitVerdict } from './ratelimit.js';

export interface ResponderOptions {
  /** The current snapshot; read once per query. */
  readonly snapshot: () => Snapshot;
  readonly logger: Logger;
  /** Largest UDP reply we send and the size we advertise in OPT (RFC 6891 §6.2.5). */
  readonly ednsUdpSize: number;
  /** Class CH names answered with TXT (server identity), or undefined to refuse class CH. */
  readonly chaos: ChaosNames | undefined;
  readonly logQueries: boolean;
  /**
   * Called once per reply sent, for metrics. The event object is reused for the next reply
   * (one allocation less per query): read it during the call, copy it to keep it.
   */
  readonly observe?: (event: QueryEvent) => void;
  /**
   * Zones whose data is too stale to serve (etcd unreachable longer than --max-stale): their
   * queries get SERVFAIL, which tells resolvers to try another replica.
   */
  readonly unavailableZones?: () => ReadonlySet<Name>;
  /**
   * Recursion for names outside our zones (the forwarder), offered to the clients it allows.
   * Absent: such names get REFUSED.
   */
  readonly recursion?: Recursion;
  /** Bounds of the encoded-response cache (entries, total bytes). */
  readonly cacheEntries?: number;
  readonly cacheBytes?: number;
  /**
   * Response rate limiting for UDP (--rate-limit, see ratelimit.ts); absent: off. Asked once
   * per UDP reply before any work is done for it, so a limited flood costs a decode only.
   */
  readonly rateLimit?: { check(address: string): RateLimitVerdict };
}

export interface Recursion {
  /** Whether this client may recurse through us (never an open resolver). */
  allows(address: string): boolean;
  /**
   * The reply from the cache (at once) or upstream (a promise) for this client; never
   * rejects. `query.message` may be a view into the transport's buffer: read it before
   * returning, copy what is kept across a wait.
   */
  forward(query: Query, maxSize: number, advertisedUdpSize: number): Buffer | Promise<Buffer>;
}

export interface QueryEvent {
  readonly transport: 'udp' | 'tcp';
  /** Zone origin the question fell in; undefined when none of ours. */
  readonly zone: string | undefined;
  readonly type: number;
  readonly rcode: number;
  readonly size: number;
  readonly truncated: boolean;
  readonly startedAt: number;
}

interface CachedResponse {
  readonly template: ResponseTemplate;
  readonly zone: string | undefined;
}

/**
 * Turns query bytes into reply bytes: decode, resolve against the current snapshot, encode.
 * Encoded replies are cached per (type, name) for the life of a snapshot, so a repeated
 * question costs a decode, one cache lookup and one copy. The cache is dropped whole when the
 * snapshot changes, which keeps it exactly as fresh as the snapshot.
 */
export class Responder {
  readonly #options: ResponderOptions;
  readonly #cache: LRUCache<string, CachedResponse>;
  #cachedFor: Snapshot | undefined;
  readonly #event: { -readonly [K in keyof QueryEvent]: QueryEvent[K] } = {
    transport: 'udp',
    zone: undefined,
    type: 0,
    rcode: 0,
    size: 0,
    truncated: false,
    startedAt: 0,
  };

  constructor(options: ResponderOptions) {
    this.#options = options;
    this.#cache = new LRUCache<string, CachedResponse>({
      max: options.cacheEntries ?? 100_000,
      maxSize: options.cacheBytes ?? 64 * 1024 * 1024,
      // What an entry really costs: the reply bytes, the key string (two bytes a char), and about
      // 450 bytes of objects and lru-cache bookkeeping around them (measured with 1M names).
      sizeCalculation: (v, key) => v.template.bytes.length + key.length * 2 + 450,
    });
  }

  /** The transport's QueryHandler. Never throws. */
  readonly handle = (message: Buffer, context: QueryContext): Buffer | null | Promise<Buffer | null> => {
    const startedAt = this.#options.observe || this.#options.logQueries ? performance.now() : 0;
    const decoded = decodeQuery(message);
    if (decoded.kind === 'drop') return null;
    const advertisedUdpSize = this.#options.ednsUdpSize;
    if (context.transport === 'udp' && this.#options.rateLimit) {
      const verdict = this.#options.rateLimit.check(context.remoteAddress);
      if (verdict === 'drop') return null;
      if (verdict === 'slip') return this.#slip(message, decoded, context, startedAt);
    }

    if (decoded.kind === 'error') {
      const q = decoded.question;
      const reply = renderBare({
        id: decoded.id,
        queryFlags: decoded.flags,
        rcode: decoded.rcode,
        question: q ? questionSection(message, q) : undefined,
        edns: decoded.edns,
        advertisedUdpSize,
      });
      this.#report(context, undefined, q?.type ?? 0, q?.name, decoded.rcode, reply, startedAt);
      return reply;
    }

    const query = decoded.query;
    const maxSize = context.transport === 'tcp' ? 0xffff : query.edns ? Math.min(query.edns.udpSize, advertisedUdpSize) : 512;
    // RFC 1035 §4.1.1: RA says recursion is available, which it is only for allowed clients.
    const recursion = this.#options.recursion?.allows(context.remoteAddress) ? this.#options.recursion : undefined;
    const extraFlags = recursion ? Flag.RA : 0;
    let cached: CachedResponse | undefined;
    let rcode: number;
    try {
      cached = this.#lookup(query);
      rcode = cached ? cached.template.rcode : this.#refusalFor(query);
    } catch (error) {
      // A bug or bad data must cost one SERVFAIL, not the server (RFC 1035 §4.1.1 rcode 2).
      this.#options.logger.error({ err: error, name: toPresentation(query.name), type: typeName(query.type) }, 'failed to answer a query');
      rcode = Rcode.SERVFAIL;
    }
    if (cached?.zone !== undefined && this.#options.unavailableZones?.().has(cached.zone)) rcode = Rcode.SERVFAIL;

    if (!cached && rcode === Rcode.REFUSED && recursion && query.flags & Flag.RD && this.#forwardable(query)) {
      const forwarded = recursion.forward(query, maxSize, advertisedUdpSize);
      const report = (reply: Buffer): Buffer => {
        this.#report(context, undefined, query.type, query.name, reply.length >= 4 ? reply[3]! & 0x0f : Rcode.SERVFAIL, reply, startedAt);
        return reply;
      };
      // A cache hit comes back at once: no promise on the path of most forwarded queries.
      return forwarded instanceof Uint8Array ? report(forwarded) : forwarded.then(report);
    }

    let reply: Buffer;
    if (cached && rcode === cached.template.rcode) {
      reply = render(cached.template, query, maxSize, advertisedUdpSize, extraFlags);
    } else {
      reply = renderBare({
        id: query.id,
        queryFlags: query.flags,
        rcode,
        question: questionSection(message, { ...query, inline: query.nameInline }),
        edns: query.edns,
        advertisedUdpSize,
        extraFlags,
      });
    }
    this.#report(context, cached?.zone, query.type, query.name, rcode, reply, startedAt);
    return reply;
  };

  /**
   * A rate-limited query's "slip" reply (BIND RRL): the question only, TC=1, so that a real
   * client retries over TCP, which is not limited (RFC 7766 §5); about the size of the query.
   */
  #slip(message: Buffer, decoded: Exclude<Decoded, { kind: 'drop' }>, context: QueryContext, startedAt: number): Buffer {
    const q = decoded.kind === 'query' ? { ...decoded.query, inline: decoded.query.nameInline } : decoded.question;
    const edns = decoded.kind === 'query' ? decoded.query.edns : decoded.edns;
    const rcode = decoded.kind === 'query' ? Rcode.NOERROR : decoded.rcode;
    const reply = renderBare({
      id: decoded.kind === 'query' ? decoded.query.id : decoded.id,
      queryFlags: decoded.kind === 'query' ? decoded.query.flags : decoded.flags,
      rcode,
      question: q ? questionSection(message, q) : undefined,
      edns,
      advertisedUdpSize: this.#options.ednsUdpSize,
      extraFlags: Flag.TC,
    });
    this.#report(context, undefined, q?.type ?? 0, q?.name, rcode, reply, startedAt);
    return reply;
  }

  /** Questions a recursive resolver can answer: class IN, data types and ANY. */
  #forwardable(query: Query): boolean {
    return query.class === RRClass.IN && (!isMetaType(query.type) || query.type === RRType.ANY);
  }

  /** The cached or freshly built response for an answerable query; undefined to refuse it. */
  #lookup(query: Query): CachedResponse | undefined {
    if (query.class === RRClass.CH) return this.#chaos(query);
    if (query.class !== RRClass.IN || isMetaType(query.type) && query.type !== RRType.ANY) return undefined;

    const snapshot = this.#options.snapshot();
    if (snapshot !== this.#cachedFor) {
      this.#cache.clear();
      this.#cachedFor = snapshot;
    }
    const key = `${query.type}:${query.name}`;
    const hit = this.#cache.get(key);
    if (hit) return hit;
    const outcome = resolve({ name: query.name, type: query.type }, snapshot);
    if (outcome.kind === 'notours') return undefined;
    const built: CachedResponse = { template: templateFor(query, outcome), zone: outcome.zone };
    this.#cache.set(key, built);
    return built;
  }

  #chaos(query: Query): CachedResponse | undefined {
    const strings = this.#options.chaos?.get(query.name);
    if (!strings) return undefined;
    const wanted = query.type === RRType.TXT || query.type === RRType.ANY;
    const data = { type: RRType.TXT, strings: strings().flatMap((s) => txtStrings(s)) };
    const answer = wanted ? [{ name: query.name, type: RRType.TXT, ttl: 0, data }] : [];
    const template = buildTemplate({
      question: { name: query.name, type: query.type, class: RRClass.CH },
      rcode: Rcode.NOERROR,
      authoritative: true,
      answer,
      authority: [],
      additional: [],
    });
    return { template, zone: undefined };
  }

  /** Why a query gets no records: REFUSED for what we do not serve, NOTIMP / FORMERR for meta types. */
  #refusalFor(query: Query): number {
    if (query.class !== RRClass.IN && query.class !== RRClass.CH) return Rcode.REFUSED;
    if (query.type === RRType.OPT) return Rcode.FORMERR; // RFC 6891 §6.1.1: OPT is not a question
    // Zone transfers are not offered (CoreDNS without `transfer` refuses them too).
    if (query.type === RRType.AXFR || query.type === RRType.IXFR) return Rcode.REFUSED;
    if (isMetaType(query.type) && query.type !== RRType.ANY) return Rcode.NOTIMP;
    return Rcode.REFUSED; // not a zone we serve (RFC 1035 §4.1.1; forwarding comes later)
  }

  #report(context: QueryContext, zone: string | undefined, type: number, name: string | undefined, rcode: number, reply: Buffer, startedAt: number): void {
    const truncated = (reply[2]! & 0x02) !== 0;
    const observe = this.#options.observe;
    if (observe) {
      const e = this.#event;
      e.transport = context.transport;
      e.zone = zone;
      e.type = type;
      e.rcode = rcode;
      e.size = reply.length;
      e.truncated = truncated;
      e.startedAt = startedAt;
      observe(e);
    }
    if (this.#options.logQueries) {
      this.#options.logger.info(
        {
          remote: `${context.remoteAddress}:${context.remotePort}`,
          transport: context.transport,
          name: name === undefined ? undefined : toPresentation(name),
          type: typeName(type),
          rcode: rcodeName(rcode),
          size: reply.length,
          truncated,
          ms: Number((performance.now() - startedAt).toFixed(3)),
        },
        'query',
      );
    }
  }
}

/** Encodes an outcome for the question asked (RFC 1035 §4.1.1 flags, RFC 2308 negative answers). */
export function templateFor(query: { name: string; type: number }, outcome: Exclude<Outcome, { kind: 'notours' }>): ResponseTemplate {
  return buildTemplate({
    question: { name: query.name, type: query.type, class: RRClass.IN },
    rcode: outcome.kind === 'nxdomain' ? Rcode.NXDOMAIN : Rcode.NOERROR,
    // A referral is not an authoritative answer (RFC 1034 §4.3.2 step 3b).
    authoritative: outcome.kind !== 'referral',
    answer: outcome.answer,
    authority: outcome.authority,
    additional: outcome.additional,
    additionalRequired: outcome.kind === 'referral',
  });
}
