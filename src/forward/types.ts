import type { Clock } from '../clock.js';
import type { Name } from '../dns/name.js';
import type { Logger } from '../log.js';
import { formatHostPort } from '../net.js';

/** An upstream resolver. `host` is an IP literal (v4 or v6): no name lookups on the query path. */
export interface Upstream {
  readonly host: string;
  readonly port: number;
}

/** Names at or below `zone` go to `upstreams`. `''` (the root) matches everything. */
export interface ForwardRoute {
  readonly zone: Name;
  readonly upstreams: readonly Upstream[];
}

export type ForwardPolicy = 'random' | 'sequential';

export interface ForwardCacheOptions {
  /** Most entries kept (lru-cache `max`). */
  readonly maxEntries: number;
  /** Most bytes kept, counting reply bytes plus a fixed per-entry overhead (lru-cache `maxSize`). */
  readonly maxBytes: number;
  /** Cap on how long a positive answer is cached. */
  readonly maxTtlSeconds: number;
  /** Cap on how long NXDOMAIN / NODATA is cached (RFC 2308 §5). */
  readonly maxNegativeTtlSeconds: number;
  /** RFC 8767 serve-stale window after expiry; 0 turns serving stale off. */
  readonly staleSeconds: number;
}

/** One try against one upstream. */
export interface UpstreamEvent {
  /** `host:port` (`[v6]:port`). */
  readonly upstream: string;
  /** A usable answer (anything but a timeout, a network error, SERVFAIL or REFUSED). */
  readonly ok: boolean;
  readonly rcode?: number;
  readonly durationMs: number;
  /** Why the try failed: 'timeout', an errno code, 'SERVFAIL', 'REFUSED', ... */
  readonly reason?: string;
  /** 'query' for client traffic, 'probe' for health checks. */
  readonly kind: 'query' | 'probe';
}

/** Metric hooks; the caller turns them into counters and histograms. */
export interface ForwardObserver {
  upstream(e: UpstreamEvent): void;
  /** One per forwarded query: answered from the cache, from upstream, or stale (RFC 8767). */
  cache(e: 'hit' | 'miss' | 'stale'): void;
  /** An upstream was marked down (`healthy: false`) or back up. Optional. */
  health?(e: { upstream: string; healthy: boolean }): void;
}

export interface ForwarderOptions {
  /** The most specific zone wins (per-domain forwarding). */
  readonly routes: readonly ForwardRoute[];
  /** `random`: a random order of the healthy upstreams per query; `sequential`: configured order. */
  readonly policy: ForwardPolicy;
  /** Time to wait for one upstream on one try (UDP, and again for the TCP retry after TC). */
  readonly tryTimeoutMs: number;
  /** Consecutive failures before an upstream is marked down. */
  readonly maxFailures: number;
  /** How often a down upstream is probed with `. IN NS`. */
  readonly healthCheckIntervalMs: number;
  readonly cache: ForwardCacheOptions;
  /** UDP payload size we advertise to upstreams in our OPT; default 1232 (DNS flag day 2020). */
  readonly upstreamUdpSize?: number;
  readonly clock?: Clock;
  readonly logger: Logger;
  readonly observe?: ForwardObserver;
}

/** `host:port`, with brackets around IPv6 literals. */
export function upstreamLabel(u: Upstream): string {
  return formatHostPort(u.host, u.port);
}
