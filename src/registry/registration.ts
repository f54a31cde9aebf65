/**
 * (Over 500 lines: one supervisor — grant, put, keepalive, watchdog, re-put, revoke — whose steps share one generation guard; its pure parts are in instance.ts and backoff.ts.)
 *
 * One registration: a lease, the instance's key written under it, and a supervisor that keeps
 * the key there until unregister/close - whatever etcd does meanwhile.
 *
 * Every etcd registry studied had an "instance silently disappears forever" bug (reference §1.2):
 *  - kratos#3883 (and PR #2398): the heartbeat gave up after MaxRetry. Here nothing gives up:
 *    re-grant + re-put loops with capped backoff until it works or the registration is stopped.
 *  - go-zero#1926/#4201, rpcx#420, kitex registry-etcd#11: an outage longer than the TTL
 *    expired the key and nothing re-registered. Here losing the lease (etcd3's `lost`, or our
 *    own watchdog below) starts a fresh lease + put of the same stable key.
 *  - go-zero's own-key watch: a key deleted by someone else while the lease lives is re-put at
 *    once (etcd3 never re-puts anything itself, reference §2.5).
 *  - go-zero PR #4960 / go-micro#2956: the key can vanish without any event reaching us (a
 *    missed watch event, a compaction, a lease that expired without the keepalive channel
 *    closing). Here a Get once per TTL verifies the key and re-puts it if missing or changed.
 *
 * etcd3's Lease hazards (reference §2.2) and how they are handled:
 *  - `lost` fires more than once per lease (2×TTL check, then every failed put): a generation
 *    counter, bumped on each loss, makes every event of an old generation a no-op.
 *  - `lost` only fires 2×TTL after the last keepalive, although etcd expired the key at 1×TTL:
 *    the watchdog (a keepaliveFailed event, or a timer tick, finding no successful keepalive
 *    for longer than the TTL) declares the lease lost itself, so re-registration is already
 *    retrying every ≤ maxBackoffMs when etcd comes back, instead of waiting for 2×TTL.
 *  - after `lost` the Lease object is dead: a new client.lease() each time.
 *  - an 'error' emit without a listener crashes: this class is an EventEmitter, but tell()
 *    drops an 'error' nobody listens to; etcd3 watchers always get an 'error' listener.
 *
 * Duplicate ids: before a lease is granted, the key's holder is checked. Another live lease is
 * a conflict (refused, or taken over when asked at the first registration); a running
 * registration whose key another live lease takes stands back until the key is free. So two
 * processes with one id never write the key in turn (it used to flip at every check).
 */
import { EventEmitter } from 'node:events';
import type { Etcd3, IKeyValue, Lease, Watcher } from 'etcd3';
import { backoffDelay, type BackoffPolicy } from '../backoff.js';
import type { Clock, Timer } from '../clock.js';
import type { EtcdnsError } from '../errors.js';
import type { Logger } from '../log.js';
import { etcd3 } from '../etcd/etcd3.js';
import { RegistryError, unavailable } from './errors.js';
import type { ConflictEvent, RegisteredReason, RegisteredInstance, Registration, RegistrationEvents, RegistrationState } from './types.js';

/** One grant or put may take this long before the attempt is abandoned and retried. */
const ATTEMPT_TIMEOUT_MS = 5000;
/** unregister/close wait this long for etcd to confirm a revoke. */
const REVOKE_TIMEOUT_MS = 3000;
/** Repeated failures are logged once per this interval (etcd3 retries several times a second). */
const FAILURE_LOG_INTERVAL_MS = 30_000;
/**
 * The first re-register delay. The cap (maxBackoffMs) bounds how long after etcd's return the
 * next attempt starts, which is what the "back within ~2 s" promise rests on; the jitter keeps a
 * fleet of instances that lost etcd together from re-granting in lock-step when it returns.
 */
const INITIAL_BACKOFF_MS = 100;

export interface RegistrationOptions {
  client: Etcd3;
  key: string;
  value: string;
  instance: RegisteredInstance;
  leaseTtlSeconds: number;
  maxBackoffMs: number;
  logger: Logger;
  clock: Clock;
  random?: () => number;
  /** Take the key over if another live lease holds it at the first registration (else: conflict). */
  takeover?: boolean;
  /** Called once when stopped (the registry forgets it). */
  onStopped?: () => void;
}

/** The key is held by another live lease: thrown inside an attempt, which then waits and retries. */
class Conflict extends Error {
  constructor(
    readonly heldBy: string,
    readonly error: EtcdnsError,
  ) {
    super(error.message);
  }
}

class Superseded extends Error {
  constructor() {
    super('registration attempt superseded');
  }
}

export class EtcdRegistration extends EventEmitter<RegistrationEvents> implements Registration {
  readonly key: string;
  readonly instance: RegisteredInstance;

  private readonly client: Etcd3;
  private readonly value: string;
  private readonly ttlMs: number;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly backoff: BackoffPolicy;

  private phase: RegistrationState = 'registering';
  /** Bumped on every loss and on stop: work started for an older generation is dropped. */
  private generation = 0;
  /** The lease holding the key (set once its put succeeded). */
  private lease: Lease | undefined;
  private currentLeaseId: string | undefined;
  /** The lease an establish attempt is granting/putting with. */
  private pendingLease: Lease | undefined;
  private pendingLeaseId: string | undefined;
  /** Leases replaced after a loss: revoked once the key is re-put under the new one. */
  private superseded: Lease[] = [];
  /** Clock ms of the last keepalive answer (or the grant) of the live lease. */
  private lastRenewedAt = 0;
  /** The same for every lease, the pending one included (adopted when its put succeeds). */
  private readonly renewedAt = new WeakMap<Lease, number>();
  /** Revision of our last successful put: watch events at or below it are history. */
  private lastPutRevision = 0;
  private watcher: Watcher | undefined;
  private watchRetryTimer: Timer | undefined;
  private tickTimer: Timer | undefined;
  private ticks = 0;
  private establishing: Promise<void> | undefined;
  private repairing = false;
  private repairAgain = false;
  private readonly sleepers = new Set<() => void>();
  private stopping: Promise<void> | undefined;
  private lastFailureLogAt = -Infinity;
  private failuresSinceLog = 0;
  /** Every lease id this registration was granted: a key under one of them is ours, not a conflict. */
  private readonly ownLeaseIds = new Set<string>();
  /** The lease of the conflict being waited out, if any (one `conflict` event per holder). */
  private conflictWith: string | undefined;

  private readonly firstRegistered: Promise<void>;
  private resolveFirst!: () => void;
  private rejectFirst!: (err: Error) => void;
  private firstDone = false;

  constructor(private readonly o: RegistrationOptions) {
    super();
    this.client = o.client;
    this.key = o.key;
    this.value = o.value;
    this.instance = o.instance;
    this.ttlMs = o.leaseTtlSeconds * 1000;
    this.clock = o.clock;
    this.backoff = { initialMs: INITIAL_BACKOFF_MS, maxMs: o.maxBackoffMs, jitter: 'equal' };
    this.log = o.logger.child({ component: 'registry', key: o.key });
    this.firstRegistered = new Promise<void>((resolve, reject) => {
      this.resolveFirst = resolve;
      this.rejectFirst = reject;
    });
    this.firstRegistered.catch(() => undefined);
  }

  // --- public surface -------------------------------------------------------------------------

  readonly leaseId = (): string | undefined => (this.phase === 'registered' ? this.currentLeaseId : undefined);
  readonly state = (): RegistrationState => this.phase;

  /** Unregisters: `await using reg = await registry.register(...)` (Node >= 24, TypeScript 5.2+). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** Starts the supervisor: own-key watch, periodic check, first grant + put. */
  start(): void {
    this.openWatch();
    // Every TTL/3 (etcd3's keepalive cadence): the watchdog; every third tick (≈ once per TTL)
    // also the key check of go-zero PR #4960.
    this.tickTimer = this.clock.setInterval(() => this.tick(), Math.max(100, Math.floor(this.ttlMs / 3)));
    this.establish('register');
  }

  /** Resolves when first registered; rejects if stopped before. */
  whenRegistered(): Promise<void> {
    return this.firstRegistered;
  }

  /**
   * Stops supervising and revokes every lease this registration holds, so the key vanishes at
   * once. Rejects if etcd did not confirm the revoke (the key then expires within the TTL, as
   * nothing renews it any more).
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  // --- establishing: lease + put, retried forever -----------------------------------------

  private isCurrent(gen: number): boolean {
    return gen === this.generation && this.phase !== 'stopped';
  }

  private establish(reason: RegisteredReason): void {
    const gen = this.generation;
    const run = async () => {
      for (let attempt = 0; this.isCurrent(gen); attempt++) {
        try {
          await this.tryEstablish(gen, reason);
          return;
        } catch (err) {
          if (!this.isCurrent(gen)) return;
          // A conflict is waited out quietly (its event has been sent); anything else is a failure.
          if (!(err instanceof Conflict)) this.failed(err as Error, 'registering failed; retrying');
          await this.sleep(backoffDelay(this.backoff, attempt, this.o.random));
        }
      }
    };
    const p: Promise<void> = run()
      .catch((err: unknown) => this.log.error({ err }, 'registration supervisor failed'))
      .finally(() => {
        if (this.establishing === p) this.establishing = undefined;
      });
    this.establishing = p;
  }

  private async tryEstablish(gen: number, reason: RegisteredReason): Promise<void> {
    // Who holds the key, before any lease is granted: a conflict costs etcd nothing.
    const expectMod = await this.checkHolder(gen, !this.firstDone && this.o.takeover === true);
    if (!this.isCurrent(gen)) throw new Superseded();
    // client.lease() grants at once; keepalives start by themselves when the grant succeeds.
    const lease = this.client.lease(this.o.leaseTtlSeconds);
    this.pendingLease = lease;
    this.pendingLeaseId = undefined;
    this.attachLease(lease, gen);
    let id: string;
    let revision: number;
    try {
      id = await this.bounded(lease.grant(), 'lease grant');
      this.ownLeaseIds.add(id);
      // etcd started the lease's TTL no later than this.
      this.renewedAt.set(lease, Math.max(this.renewedAt.get(lease) ?? -Infinity, this.clock.now()));
      if (!this.isCurrent(gen)) throw new Superseded();
      this.pendingLeaseId = id;
      if (expectMod === undefined) {
        const res = await this.bounded(lease.put(this.key).value(this.value).exec(), 'put');
        revision = Number(res.header.revision);
      } else {
        // Only if nobody wrote the key since it was checked (0: it still does not exist): two
        // processes starting with one id at once cannot both win.
        const res = await this.bounded(
          this.client.if(this.key, 'Mod', '==', expectMod).then(this.client.put(this.key).value(this.value).lease(id)).commit(),
          'put',
        );
        if (!res.succeeded) throw new Error('the key was written by someone else meanwhile; checking again');
        revision = Number(res.header.revision);
      }
      if (!this.isCurrent(gen)) throw new Superseded();
    } catch (err) {
      // Stopped meanwhile: stop() revokes pendingLease (its put may have landed). Otherwise
      // abandon this lease: stop its keepalive and revoke it in the background.
      if (this.phase !== 'stopped' && this.pendingLease === lease) {
        this.pendingLease = undefined;
        this.pendingLeaseId = undefined;
        this.discard(lease);
      }
      throw err;
    }
    this.pendingLease = undefined;
    this.pendingLeaseId = undefined;
    this.lease = lease;
    this.currentLeaseId = id;
    this.lastRenewedAt = this.renewedAt.get(lease) ?? this.clock.now();
    this.lastPutRevision = Math.max(this.lastPutRevision, revision);
    this.phase = 'registered';
    this.failuresSinceLog = 0;
    this.lastFailureLogAt = -Infinity;
    if (this.conflictWith !== undefined) reason = 'conflict resolved';
    this.conflictWith = undefined;
    this.firstDone = true;
    // The key is under the new lease now: revoking the old ones cannot delete it. (After an
    // etcd restart an old lease may even be alive again: etcd restores leases with a fresh TTL.)
    for (const old of this.superseded.splice(0)) this.discard(old);
    if (reason === 'register') this.log.info({ lease: id }, 'registered');
    else this.log.info({ lease: id, reason }, 'registered again');
    this.tell('registered', { leaseId: id, reason });
    this.resolveFirst();
  }

  /**
   * Whether the key may be written: the mod revision to write it under (0: absent), or
   * undefined to write it unconditionally (our own lease holds it). Another live lease holding
   * it is a conflict (two processes with one id): refused - the first registration rejects,
   * a running one waits until the key is free - or, at the first registration with
   * `takeover`, taken. Never both keep writing: that made the key flip every check before.
   */
  private async checkHolder(gen: number, takeover: boolean): Promise<number | undefined> {
    const res = await this.bounded(this.client.get(this.key).exec(), 'check');
    const kv = res.kvs[0];
    if (kv === undefined) return 0;
    const holder = String(kv.lease);
    const mod = Number(kv.mod_revision);
    if (this.ownLeaseIds.has(holder)) return undefined;
    if (holder === '0' || !(await this.leaseAlive(holder))) return mod;
    if (!this.isCurrent(gen)) throw new Superseded();
    const error = new RegistryError(
      'ETCDNS_ERR_REGISTRY_CONFLICT',
      `registry: ${this.key} is held by lease ${holder} of another live registration (the same instance id registered twice?)` +
        (takeover ? '; taking it over' : '; refusing to overwrite it (register with { takeover: true } to replace it)'),
    );
    if (takeover) {
      this.log.warn({ heldBy: holder }, 'key held by another live lease; taking it over');
      this.tellConflict(holder, 'took over', error);
      return mod;
    }
    if (this.conflictWith !== holder) {
      this.conflictWith = holder;
      this.log.warn({ heldBy: holder }, 'key held by another live lease (duplicate instance id?); waiting until it is free');
      this.tellConflict(holder, 'refused', error);
    }
    if (!this.firstDone) this.rejectFirst(error);
    throw new Conflict(holder, error);
  }

  private tellConflict(heldBy: string, outcome: ConflictEvent['outcome'], error: EtcdnsError): void {
    this.tell('conflict', { key: this.key, heldBy, outcome, error });
  }

  private async leaseAlive(id: string): Promise<boolean> {
    const ttl = await this.bounded(this.client.leaseClient.leaseTimeToLive({ ID: id }), 'lease check');
    // etcd answers TTL -1 for a lease that has expired or never existed.
    return Number(ttl.TTL) > 0;
  }

  private attachLease(lease: Lease, gen: number): void {
    lease.on('lost', (err: Error) => {
      if (lease === this.lease && this.isCurrent(gen)) this.declareLost(gen, err);
    });
    lease.on('keepaliveSucceeded', () => {
      const now = this.clock.now();
      this.renewedAt.set(lease, now);
      if (lease === this.lease) this.lastRenewedAt = now;
    });
    // etcd3 types the argument as a keepalive response; it emits the error (lease.ts).
    lease.on('keepaliveFailed', (res) => {
      const err = res as unknown;
      if (lease === this.lease && this.isCurrent(gen)) this.checkExpiry(gen, err instanceof Error ? err : undefined);
    });
  }

  /**
   * The watchdog. etcd expires a lease TTL after its last renewal; we saw that renewal's answer
   * no earlier than etcd made it, so no answer for longer than the TTL means the key is gone
   * (or, after an etcd restart that restored the lease, is about to be). etcd3 would only say
   * `lost` at 2×TTL; by declaring it now the re-grant loop is already polling when etcd returns.
   */
  private checkExpiry(gen: number, cause: Error | undefined): void {
    if (this.phase !== 'registered' || !this.isCurrent(gen)) return;
    const silentMs = this.clock.now() - this.lastRenewedAt;
    if (silentMs <= this.ttlMs) return;
    const err = new Error(
      `no keepalive answered for ${Math.round(silentMs)} ms (lease TTL ${this.o.leaseTtlSeconds} s): etcd has expired the lease` +
        (cause ? ` (last failure: ${cause.message})` : ''),
    );
    this.declareLost(gen, err);
  }

  private declareLost(gen: number, err: Error): void {
    if (this.phase !== 'registered' || !this.isCurrent(gen)) return;
    this.generation++;
    const old = this.lease;
    this.lease = undefined;
    this.currentLeaseId = undefined;
    this.phase = 'registering';
    if (old) {
      // Stop its keepalive (a dead Lease never recovers); revoke it after the re-put.
      old.release();
      this.superseded.push(old);
    }
    this.log.warn({ err: err.message }, 'lease lost; registering again');
    this.tell('lost', new RegistryError('ETCDNS_ERR_REGISTRY_LEASE_LOST', `registry: ${this.key}: lease lost (${err.message}); registering again`, { cause: err }));
    this.establish('lease lost');
  }

  // --- watching and checking the key -------------------------------------------------------

  private openWatch(): void {
    if (this.phase === 'stopped') return;
    const w = this.client.watch().key(this.key).watcher();
    this.watcher = w;
    const current = () => w === this.watcher && this.phase !== 'stopped';
    w.on('delete', (kv: IKeyValue) => {
      if (current()) this.onKeyDeleted(kv);
    });
    w.on('put', (kv: IKeyValue) => {
      if (current()) this.onKeyPut(kv);
    });
    // Always listened (an unheard 'error' crashes the process). etcd cancelled the watch,
    // e.g. its resume revision was compacted: open a fresh one; the per-TTL check covers
    // whatever happened in between.
    w.on('error', (err: Error) => {
      if (!current()) return;
      this.log.debug({ err: err.message }, 'own-key watch canceled; watching again');
      this.watcher = undefined;
      void cancel(w);
      this.watchRetryTimer = this.clock.setTimeout(() => {
        this.watchRetryTimer = undefined;
        this.openWatch();
      }, backoffDelay(this.backoff, 3, this.o.random));
    });
    // etcd3 reconnects watchers by itself (tuned backoff, createEtcdClient); nothing to do.
    w.on('disconnected', () => undefined);
  }

  private onKeyDeleted(kv: IKeyValue): void {
    if (this.phase !== 'registered') return; // establishing puts it anyway
    // A replayed delete from before our last put (etcd3 replays after a reconnect).
    if (Number(kv.mod_revision) <= this.lastPutRevision) return;
    this.repair('key deleted');
  }

  private onKeyPut(kv: IKeyValue): void {
    const lease = String(kv.lease);
    if (lease === this.currentLeaseId || lease === this.pendingLeaseId) return;
    if (Number(kv.mod_revision) <= this.lastPutRevision) return;
    // Someone else wrote our key: a hand-made put (put back) or another live registration with
    // this id (a conflict: stand back). verify() tells which.
    if (this.phase === 'registered') void this.verify(this.generation);
  }

  private tick(): void {
    if (this.phase !== 'registered') return;
    const gen = this.generation;
    this.checkExpiry(gen, undefined);
    if (++this.ticks % 3 === 0) void this.verify(gen);
  }

  /** go-zero PR #4960: Get the key; put it back if it is missing, under another lease, or changed. */
  private async verify(gen: number): Promise<void> {
    let kv: IKeyValue | undefined;
    try {
      const res = await this.bounded(this.client.get(this.key).exec(), 'check');
      kv = res.kvs[0];
    } catch (err) {
      // Unreachable: the watchdog and the lease's own events deal with outages.
      this.log.debug({ err: (err as Error).message }, 'key check failed');
      return;
    }
    if (this.phase !== 'registered' || !this.isCurrent(gen)) return;
    if (kv === undefined) {
      this.repair('key missing');
    } else if (String(kv.lease) !== this.currentLeaseId) {
      await this.foreignHolder(gen, kv);
    } else if (kv.value.toString('utf8') !== this.value) {
      this.repair('key changed');
    }
  }

  /** The key is under a lease not ours: put it back unless that lease is alive (a conflict: stand back). */
  private async foreignHolder(gen: number, kv: IKeyValue): Promise<void> {
    const holder = String(kv.lease);
    let alive = false;
    if (holder !== '0' && !this.ownLeaseIds.has(holder)) {
      try {
        alive = await this.leaseAlive(holder);
      } catch (err) {
        this.log.debug({ err: (err as Error).message }, 'lease check failed');
        return; // the next check decides
      }
    }
    if (this.phase !== 'registered' || !this.isCurrent(gen)) return;
    if (!alive) {
      this.repair('key changed');
      return;
    }
    // Another live registration took the key (register with takeover): ours holds nothing any
    // more. Give up the lease and wait, as a fresh registration would, until the key is free.
    this.generation++;
    const old = this.lease;
    this.lease = undefined;
    this.currentLeaseId = undefined;
    this.phase = 'registering';
    if (old) this.discard(old);
    this.conflictWith = holder;
    const error = new RegistryError(
      'ETCDNS_ERR_REGISTRY_CONFLICT',
      `registry: ${this.key} was taken over by lease ${holder} of another live registration; waiting until it is free`,
    );
    this.log.warn({ heldBy: holder }, 'key taken over by another live lease; waiting until it is free');
    this.tellConflict(holder, 'refused', error);
    this.establish('conflict resolved');
  }

  /** Puts the key again under the current lease; coalesced, retried with backoff while the lease lives. */
  private repair(reason: RegisteredReason): void {
    if (this.repairing) {
      this.repairAgain = true;
      return;
    }
    this.repairing = true;
    const gen = this.generation;
    const run = async () => {
      for (let attempt = 0; this.phase === 'registered' && this.isCurrent(gen); attempt++) {
        this.repairAgain = false;
        const lease = this.lease!;
        try {
          const res = await this.bounded(lease.put(this.key).value(this.value).exec(), 'put');
          if (!this.isCurrent(gen)) return;
          this.lastPutRevision = Math.max(this.lastPutRevision, Number(res.header.revision));
          this.log.info({ reason, lease: this.currentLeaseId }, 'key restored');
          this.tell('registered', { leaseId: this.currentLeaseId!, reason });
          if (!this.repairAgain) return;
        } catch (err) {
          // A dead lease: etcd3's put wrapper has emitted 'lost', and declareLost has moved
          // on to a new generation (which ends this loop).
          if (err instanceof etcd3().EtcdLeaseInvalidError || !this.isCurrent(gen)) return;
          this.failed(err as Error, 'restoring the key failed; retrying');
          await this.sleep(backoffDelay(this.backoff, attempt, this.o.random));
        }
      }
    };
    void run()
      .catch((err: unknown) => this.log.error({ err }, 'key repair failed'))
      .finally(() => {
        this.repairing = false;
      });
  }

  // --- stopping -----------------------------------------------------------------------------

  private async doStop(): Promise<void> {
    this.phase = 'stopped';
    this.generation++;
    if (this.tickTimer !== undefined) this.clock.clearInterval(this.tickTimer);
    if (this.watchRetryTimer !== undefined) this.clock.clearTimeout(this.watchRetryTimer);
    this.tickTimer = undefined;
    this.watchRetryTimer = undefined;
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
    this.rejectFirst(new RegistryError('ETCDNS_ERR_REGISTRY_CLOSED', `registry: ${this.key} was unregistered before it was registered`));
    const w = this.watcher;
    this.watcher = undefined;
    if (w) void cancel(w);
    // An attempt in flight may still land its put: let it settle, then revoke its lease too.
    if (this.establishing) await this.bounded(this.establishing, 'attempt').catch(() => undefined);
    // Every lease this registration ever got and did not see revoked: the live one, one an
    // attempt was granting, and one replaced after a loss (after an etcd restart that lease may
    // be alive again - etcd restores leases with a fresh TTL - and still hold the key).
    const leases = new Set([this.lease, this.pendingLease, ...this.superseded].filter((l): l is Lease => l !== undefined));
    this.lease = undefined;
    this.pendingLease = undefined;
    this.superseded = [];
    this.currentLeaseId = undefined;
    const results = await Promise.allSettled([...leases].map((l) => this.bounded(l.revoke(), 'revoke', REVOKE_TIMEOUT_MS)));
    for (const l of leases) l.release();
    this.o.onStopped?.();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      throw new RegistryError(
        'ETCDNS_ERR_REGISTRY_UNAVAILABLE',
        `registry: could not revoke the lease of ${this.key} (${(failed.reason as Error).message}); ` +
          `it is no longer renewed, so etcd drops the key within ${this.o.leaseTtlSeconds} s of being reachable`,
        { cause: failed.reason },
      );
    }
    this.log.info('unregistered');
  }

  /** Stops a lease's keepalive and revokes it in the background (best effort). */
  private discard(lease: Lease): void {
    lease.release();
    void this.bounded(lease.revoke(), 'revoke', REVOKE_TIMEOUT_MS).catch(() => undefined);
  }

  // --- helpers ------------------------------------------------------------------------------

  private failed(err: Error, msg: string): void {
    this.tell('error', unavailable(`${this.key}: ${msg}`, err));
    this.failuresSinceLog++;
    const now = this.clock.now();
    if (now - this.lastFailureLogAt >= FAILURE_LOG_INTERVAL_MS) {
      this.log.warn({ err: err.message, failures: this.failuresSinceLog }, msg);
      this.lastFailureLogAt = now;
      this.failuresSinceLog = 0;
    } else {
      this.log.debug({ err: err.message }, msg);
    }
  }

  /**
   * Emits to the listeners, from the supervisor: an unheard 'error' is dropped (EventEmitter
   * would throw it, and a failed attempt must not end the process), and a listener that throws
   * is logged, never allowed to break the supervisor.
   */
  private tell<E extends keyof RegistrationEvents>(event: E, ...args: RegistrationEvents[E]): void {
    if (event === 'error' && this.listenerCount('error') === 0) return;
    try {
      (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'registration listener threw');
    }
  }

  /** Sleeps on the injected clock; stop() wakes every sleeper at once. */
  private sleep(ms: number): Promise<void> {
    if (this.phase === 'stopped') return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.clock.clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = this.clock.setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  /** `p`, or a rejection after `ms` (etcd3's own retries can stack several call deadlines). */
  private bounded<T>(p: Promise<T>, what: string, ms = ATTEMPT_TIMEOUT_MS): Promise<T> {
    let timer: Timer;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.clock.setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    });
    return Promise.race([p, timeout]).finally(() => this.clock.clearTimeout(timer));
  }
}

async function cancel(w: Watcher): Promise<void> {
  try {
    await w.cancel();
  } catch {
    // the stream is gone or going
  }
}

