/**
 * The granted TTL of the leases the mirror's puts carry: the index caps a leased key's record
 * TTL by it (a key lives at most that long without keepalives). etcd's watch events name the
 * lease but not its TTL, so each new lease costs one LeaseTimeToLive call; known TTLs come from
 * the cache MirrorCore keeps while some key uses the lease.
 */
import type { Etcd3 } from 'etcd3';
import type { Clock, Timer } from '../clock.js';
import type { Logger } from '../log.js';
import type { KeyChange } from './changes.js';

/** A lease TTL lookup slower than this is given up (the put goes on with leaseTtl undefined). */
const LEASE_LOOKUP_TIMEOUT_MS = 2000;
/** Lookups in flight at once for one batch (a listing can bring thousands of new leases). */
const LEASE_LOOKUP_CONCURRENCY = 32;

/** Where looked-up TTLs are kept (MirrorCore: only while some key uses the lease). */
export interface LeaseTtlCache {
  leaseTtl(lease: string): number | undefined;
  rememberLeaseTtl(lease: string, ttl: number): void;
}

export interface LeaseTtlLookupOptions {
  readonly client: Etcd3;
  readonly clock: Clock;
  readonly log: Logger;
  readonly cache: LeaseTtlCache;
}

export class LeaseTtlLookup {
  readonly #client: Etcd3;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #cache: LeaseTtlCache;
  /** One lookup per lease at a time, shared by the batches that wait for it. */
  readonly #inflight = new Map<string, Promise<number | undefined>>();

  constructor(o: LeaseTtlLookupOptions) {
    this.#client = o.client;
    this.#clock = o.clock;
    this.#log = o.log;
    this.#cache = o.cache;
  }

  /**
   * Fills leaseTtl of puts whose lease TTL is not cached yet: one RPC per new lease. Stops
   * waiting when `abandon` resolves (the batch became moot), filling what is known by then.
   */
  async fill(changes: KeyChange[], abandon: Promise<void>): Promise<KeyChange[]> {
    const known = this.fillKnown(changes);
    if (known) return known;
    const unknown = new Set<string>();
    for (const c of changes) {
      if (c.type === 'put' && c.lease !== undefined && c.leaseTtl === undefined && this.#cache.leaseTtl(c.lease) === undefined) {
        unknown.add(c.lease);
      }
    }
    const ttls = new Map<string, number | undefined>();
    const ids = [...unknown];
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        ttls.set(id, await this.#lookup(id));
      }
    };
    await Promise.race([Promise.all(Array.from({ length: Math.min(LEASE_LOOKUP_CONCURRENCY, ids.length) }, worker)), abandon]);
    return changes.map((c) => this.#withTtl(c, ttls));
  }

  /**
   * `changes` with every lease TTL filled from the cache, at once; undefined when some lease is
   * not cached (then fill() looks it up). Most batches carry no new lease: the mirror hands
   * those on without an await (a promise and a microtask turn per batch, on every change).
   */
  fillKnown(changes: KeyChange[]): KeyChange[] | undefined {
    let missing = false;
    for (const c of changes) {
      if (c.type !== 'put' || c.lease === undefined || c.leaseTtl !== undefined) continue;
      if (this.#cache.leaseTtl(c.lease) === undefined) return undefined;
      missing = true;
    }
    // Cached since the change was made (a lookup for an earlier batch): fill from the cache.
    return missing ? changes.map((c) => this.#withTtl(c, undefined)) : changes;
  }

  #withTtl(c: KeyChange, looked: Map<string, number | undefined> | undefined): KeyChange {
    if (c.type !== 'put' || c.lease === undefined || c.leaseTtl !== undefined) return c;
    const ttl = this.#cache.leaseTtl(c.lease) ?? looked?.get(c.lease);
    return ttl === undefined ? c : { ...c, leaseTtl: ttl };
  }

  /** The lease's granted TTL (seconds), or undefined if etcd does not say so promptly. */
  #lookup(id: string): Promise<number | undefined> {
    const inflight = this.#inflight.get(id);
    if (inflight) return inflight;
    const call = this.#client.leaseClient
      // A gRPC deadline is wall-clock time, whatever clock the mirror runs on.
      .leaseTimeToLive({ ID: id }, { deadline: Date.now() + LEASE_LOOKUP_TIMEOUT_MS })
      .then((res) => {
        const ttl = Number(res.grantedTTL);
        // An expired lease reports grantedTTL 0 (TTL -1): its keys' deletes are on the way.
        if (!(ttl > 0)) return undefined;
        this.#cache.rememberLeaseTtl(id, ttl);
        return ttl;
      })
      .catch((err: unknown) => {
        this.#log.debug({ err: (err as Error).message, lease: id }, 'lease TTL lookup failed');
        return undefined;
      });
    // The call has its own deadline; this bound also covers etcd3's retry policy around it.
    let timer: Timer;
    const bounded = Promise.race([
      call,
      new Promise<undefined>((resolve) => (timer = this.#clock.setTimeout(() => resolve(undefined), LEASE_LOOKUP_TIMEOUT_MS))),
    ]).finally(() => {
      this.#clock.clearTimeout(timer);
      this.#inflight.delete(id);
    });
    this.#inflight.set(id, bounded);
    return bounded;
  }
}
