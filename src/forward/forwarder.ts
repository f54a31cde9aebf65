import { isIP } from 'node:net';
import { systemClock, type Clock } from '../clock.js';
import { LogLimit } from '../log-limit.js';
import { Flag, Rcode } from '../dns/constants.js';
import { isSubdomain, type Name } from '../dns/name.js';
import type { Logger } from '../log.js';
import type { Query } from '../wire/query.js';
import { relayToClient, STALE_TTL_SECONDS } from '../wire/relay.js';
import { renderRcode } from '../wire/response.js';
import { ReplyCache, cacheKey, type FetchResult, type Lookup } from './cache.js';
import { UpstreamClient } from './client.js';
import { UpstreamPool } from './pool.js';
import type { ForwarderOptions, ForwardObserver, ForwardRoute, Upstream } from './types.js';

/** DNS flag day 2020: a UDP payload size that avoids IP fragmentation on nearly every path. */
const DEFAULT_UPSTREAM_UDP_SIZE = 1232;

/** Client queries being forwarded at once, at most (CoreDNS `forward` `max_concurrent`). */
const DEFAULT_MAX_CONCURRENT = 1000;

/** ForwarderOptions plus the concurrency cap. */
export interface ForwarderLimits {
  /**
   * Client queries waiting at once (for an upstream, or for a query for the same question
   * already on its way); beyond it a query the cache cannot answer is REFUSED at once.
   * Default DEFAULT_MAX_CONCURRENT.
   */
  readonly maxConcurrent?: number;
}

interface FetchContext {
  readonly query: Query;
  readonly upstreams: readonly Upstream[];
}

/**
 * Forwards queries the server is not authoritative for to upstream resolvers, per domain
 * (the longest matching route wins), with a shared cache, singleflight for identical
 * questions, failover and health checks, and serve-stale (RFC 8767) when the upstreams fail.
 */
export class Forwarder {
  readonly #routes: readonly ForwardRoute[];
  readonly #clock: Clock;
  /** Failures are per query, which clients choose: at most one line a second. */
  readonly #failureLog: LogLimit;
  readonly #logger: Logger;
  readonly #observe: ForwardObserver | undefined;
  readonly #client: UpstreamClient;
  readonly #pool: UpstreamPool;
  readonly #cache: ReplyCache<FetchContext>;
  readonly #maxConcurrent: number;
  #inFlight = 0;
  #refusedOverLimit = 0;
  #closed = false;

  constructor(o: ForwarderOptions & ForwarderLimits) {
    for (const route of o.routes) {
      if (route.upstreams.length === 0) throw new Error(`forward route "${route.zone || '.'}" has no upstreams`);
      for (const u of route.upstreams) {
        // IP literals only: resolving a name here would need a resolver, possibly ourselves.
        if (isIP(u.host) === 0) throw new Error(`forward upstream "${u.host}" is not an IP address`);
        if (!Number.isInteger(u.port) || u.port < 1 || u.port > 0xffff) throw new Error(`forward upstream port ${u.port} is out of range`);
      }
    }
    if (!(o.tryTimeoutMs > 0)) throw new Error('forward tryTimeoutMs must be positive');
    if (!(o.healthCheckIntervalMs > 0)) throw new Error('forward healthCheckIntervalMs must be positive');
    const maxConcurrent = o.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new Error(`forward maxConcurrent must be a positive integer, got ${maxConcurrent}`);
    this.#maxConcurrent = maxConcurrent;
    // Longest zone first: the first match is the most specific.
    this.#routes = [...o.routes].sort((a, b) => b.zone.length - a.zone.length);
    this.#clock = o.clock ?? systemClock;
    this.#logger = o.logger;
    this.#failureLog = new LogLimit(() => this.#clock.now());
    this.#observe = o.observe;
    this.#client = new UpstreamClient({ clock: this.#clock, logger: o.logger, udpSize: o.upstreamUdpSize ?? DEFAULT_UPSTREAM_UDP_SIZE });
    this.#pool = new UpstreamPool({
      client: this.#client,
      clock: this.#clock,
      logger: o.logger,
      policy: o.policy,
      tryTimeoutMs: o.tryTimeoutMs,
      maxFailures: Math.max(1, o.maxFailures),
      healthCheckIntervalMs: o.healthCheckIntervalMs,
      observe: o.observe,
    });
    this.#cache = new ReplyCache<FetchContext>({
      limits: o.cache,
      clock: this.#clock,
      fetch: (ctx) => this.#fetch(ctx),
    });
  }

  /** The route for `name`: the one with the longest zone at or above it. */
  route(name: Name): ForwardRoute | undefined {
    for (const r of this.#routes) if (isSubdomain(name, r.zone)) return r;
    return undefined;
  }

  /** Whether some route covers `name`. */
  handles(name: Name): boolean {
    return this.route(name) !== undefined;
  }

  get cacheSize(): { entries: number; bytes: number } {
    return { entries: this.#cache.entries, bytes: this.#cache.bytes };
  }

  /** Client queries in the forwarder right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Client queries refused so far because maxConcurrent were already in flight. */
  get refusedOverLimit(): number {
    return this.#refusedOverLimit;
  }

  /** Whether `upstream` is currently marked down. */
  isDown(upstream: Upstream): boolean {
    return this.#pool.isDown(upstream);
  }

  /**
   * The reply for this client, at most `maxSize` octets: at once (a Buffer) when the cache
   * has it, else a promise. Never rejects: SERVFAIL when every upstream fails and nothing
   * stale may be served; REFUSED when no route covers the name.
   *
   * `query.message` may be a view into a buffer the caller reuses (TCP): it is only read
   * before this returns, and copied when the answer has to wait.
   */
  forward(query: Query, maxSize: number, advertisedUdpSize: number): Buffer | Promise<Buffer> {
    const route = this.route(query.name);
    if (!route || this.#closed) return this.#bare(query, this.#closed ? Rcode.SERVFAIL : Rcode.REFUSED, advertisedUdpSize);
    const key = cacheKey(query);
    const answered = this.#cache.peek(key);
    if (answered) return this.#reply(answered, query, maxSize, advertisedUdpSize);
    // Every query waiting here holds memory (its copy of the message, a promise, a timer
    // upstream) for up to the upstream timeouts. When the upstreams are slower than the
    // clients, that is a queue with no bound but the client's rate: cap it, and refuse at
    // once beyond, as CoreDNS `forward` does with `max_concurrent` (REFUSED, so that the
    // client tries another server rather than waiting). Answers from the cache never wait,
    // so they are never refused: only questions that must go upstream count.
    if (this.#inFlight >= this.#maxConcurrent) {
      this.#refusedOverLimit++;
      return this.#bare(query, Rcode.REFUSED, advertisedUdpSize);
    }
    return this.#waitForUpstream(key, { ...query, message: Buffer.from(query.message) }, route, maxSize, advertisedUdpSize);
  }

  async #waitForUpstream(key: string, query: Query, route: ForwardRoute, maxSize: number, advertisedUdpSize: number): Promise<Buffer> {
    this.#inFlight++;
    try {
      const found = await this.#cache.lookup(key, { query, upstreams: route.upstreams });
      return this.#reply(found, query, maxSize, advertisedUdpSize);
    } catch (e) {
      if (this.#failureLog.allow()) this.#logger.error({ err: e, name: query.name, suppressed: this.#failureLog.take() }, 'forward: unexpected failure');
      return this.#bare(query, Rcode.SERVFAIL, advertisedUdpSize);
    } finally {
      this.#inFlight--;
    }
  }

  #reply(found: Lookup, query: Query, maxSize: number, advertisedUdpSize: number): Buffer {
    switch (found.kind) {
      case 'hit':
      case 'fetched': {
        this.#observe?.cache(found.kind === 'hit' ? 'hit' : 'miss');
        const ageSeconds = Math.floor((this.#clock.now() - found.entry.insertedAt) / 1000);
        return relayToClient(found.entry, query, { ageSeconds, maxSize, advertisedUdpSize });
      }
      case 'uncached':
        this.#observe?.cache('miss');
        return relayToClient(found.reply, query, { ageSeconds: 0, maxSize, advertisedUdpSize });
      case 'stale':
        this.#observe?.cache('stale');
        this.#logger.debug({ name: query.name, type: query.type }, 'forward: serving stale');
        return relayToClient(found.entry, query, { ageSeconds: 0, maxSize, advertisedUdpSize, staleTtl: STALE_TTL_SECONDS });
      case 'failed':
        this.#observe?.cache('miss');
        this.#logger.debug({ name: query.name, type: query.type, reason: found.reason }, 'forward: every upstream failed');
        return this.#bare(query, Rcode.SERVFAIL, advertisedUdpSize);
    }
  }

  async #fetch(ctx: FetchContext): Promise<FetchResult> {
    const r = await this.#pool.resolve(ctx.query, ctx.upstreams);
    return r.ok ? { ok: true, reply: r.reply } : { ok: false, reason: r.reason };
  }

  #bare(query: Query, rcode: number, advertisedUdpSize: number): Buffer {
    // We offer recursion (through the upstreams): say so, as on relayed replies.
    return renderRcode(query, rcode, advertisedUdpSize, Flag.RA);
  }

  /** Stops health checks, ends the upstream exchanges in flight and empties the cache. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#pool.close();
    this.#client.close();
    this.#cache.clear();
  }
}
