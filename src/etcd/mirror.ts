/**
 * (Over 500 lines: one state machine - list, watch, re-list, emit - whose steps share its epoch
 * and state; its pure parts are in mirror-core.ts, etcd-kv.ts and lease-ttls.ts.)
 *
 * A revision-consistent mirror of one etcd key prefix: list everything at one revision R (in
 * pages pinned to R), then watch from R+1 and hand on every change in revision order. Re-lists
 * (a `reset` batch) whenever the event stream cannot be trusted to be gap-free: compaction,
 * a detected gap, a rolled-back or replaced cluster.
 *
 * etcd3's own watch resume is deliberately not used (reference §2.3): it resumes from the last
 * *header* revision it saw, which on a fresh watch is the store's current revision, announced
 * before the historical events arrive; and a catch-up response carries the current revision
 * too while more events are still to come (etcd sends at most 1000 revisions per response).
 * A disconnect in either window would skip events. Instead, every (re)connect is a new watcher
 * created from the last revision this mirror applied + 1.
 */
import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import { Backoff, type BackoffPolicy } from '../backoff.js';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { KeyChange, MirrorBatch } from './changes.js';
import { EtcdMirrorStoppedError, EtcdOptionsError } from './errors.js';
import { prefixRangeEnd, rawEvents, rawKv } from './etcd-kv.js';
import { LeaseTtlLookup } from './lease-ttls.js';
import { ListedKvs, MirrorCore } from './mirror-core.js';
import type { MirrorState } from './mirror-status.js';

/** Pending watch changes beyond which the mirror re-lists instead (see onWatchData). */
const RELIST_ABOVE_CHANGES = 50_000;

export interface EtcdMirrorOptions {
  client: Etcd3;
  prefix: string;
  logger: Logger;
  clock?: Clock;
  /** Jitter source of the reconnect backoff (default Math.random). */
  random?: () => number;
  /** Keys per range request during a list: every page this size. Default: sized by bytes (see FIRST_PAGE_KEYS). */
  pageSize?: number;
  onBatch: (batch: MirrorBatch) => void;
  onState?: (s: MirrorState) => void;
}

/**
 * List pages unless `pageSize` says otherwise: FIRST_PAGE_KEYS keys each; and when etcd counts
 * more than LARGE_LIST_KEYS in the range (the first page's `count`), the next pages sized from
 * the bytes per key seen so far to about PAGE_BYTES, at most MAX_PAGE_KEYS. For every
 * page, etcd 3.4 walks its in-memory index over the whole *remaining* range (to count it), so a
 * list costs O(keys² / page size): measured on etcd 3.4.23, loopback, 1M SkyDNS keys (~90 bytes
 * each), listing alone: 103 s at 1000 per page, 22 s at 10000, 11 s at 50000, 9.4 s at 100000.
 * Sized by bytes, so that values of 64 KiB do not make a page of gigabytes (the client accepts
 * any message size, src/etcd/client.ts).
 *
 * Every call has a deadline (client.ts, 5 s by default): on a loaded machine a large page can
 * miss it (seen at 100000 keys with 2 cores and a load of 15), and a list that restarts from the
 * first page each time would never finish. A page that misses it is asked again at half the
 * size (not below MIN_PAGE_KEYS), and the list keeps that size.
 */
const FIRST_PAGE_KEYS = 10_000;
/**
 * Larger pages pay off only for large lists: with 100k keys, pages of ~46k instead of 10k left
 * etcdns ~30 MiB more resident after the sync (237/234 against 204/207 MiB, two runs each) and
 * were no faster; 20 pages of 10k cost etcd little.
 */
const LARGE_LIST_KEYS = 200_000;
const PAGE_BYTES = 4 * 1024 * 1024;
const MAX_PAGE_KEYS = 50_000;
const MIN_PAGE_KEYS = 1000;
/** Reconnect backoff: 50 ms doubling to 1 s, so a returning etcd is noticed within ~1 s. */
const RECONNECT_BACKOFF: BackoffPolicy = { initialMs: 50, maxMs: 1000, jitter: 'equal' };
/** While etcd stays unreachable, one warning per this many ms (etcd3 reports many failures). */
const DISCONNECT_LOG_INTERVAL_MS = 30_000;
const MAX_LIST_RESTARTS = 5;

/** Every key under the prefix at one revision, and the cluster that served it. */
interface Listing {
  kvs: ListedKvs;
  revision: number;
  clusterId: string;
}

type MutableState = { -readonly [K in keyof MirrorState]: MirrorState[K] };

/** Mirrors one prefix; see the file comment. Timers come from the Clock (unref'd by default). */
export class EtcdMirror {
  private readonly client: Etcd3;
  private readonly prefix: Buffer;
  private readonly rangeEnd: Buffer;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly pageSize: number;
  private readonly core = new MirrorCore();
  private readonly backoff: Backoff;

  private started = false;
  private stopped = false;
  /** A list has completed: later lists are re-lists (retries of the first are not). */
  private listedOnce = false;
  /** Bumped by every (re)list and by stop(): work from an older epoch is dropped. */
  private epoch = 0;
  /** Resolves when the current epoch ends. */
  private epochEnded: Promise<void> = new Promise(() => undefined);
  private endEpoch: () => void = () => undefined;
  private watcher: Watcher | undefined;
  private clusterId: string | undefined;
  private retryTimer: Timer | undefined;
  private flushTimer: Timer | undefined;
  private pending: KeyChange[] = [];
  private pendingRevision = 0;
  /** Batches go out one after another through this chain (lease lookups are async). */
  private chain: Promise<void> = Promise.resolve();
  /** Batches on the chain not yet delivered: while any are, the next one waits its turn. */
  private queuedBatches = 0;
  private readonly leaseTtls: LeaseTtlLookup;
  private failuresSinceLog = 0;
  private lastDisconnectLogAt = 0;

  private readonly s: MutableState = {
    connected: false,
    synced: false,
    revision: 0,
    lastSyncAt: undefined,
    lastEventAt: undefined,
    relists: 0,
    disconnectedSince: undefined,
    keys: 0,
  };
  private readonly syncedPromise: Promise<void>;
  private resolveSynced!: () => void;
  private rejectSynced!: (err: Error) => void;

  constructor(private readonly o: EtcdMirrorOptions) {
    this.client = o.client;
    this.prefix = Buffer.from(o.prefix, 'utf8');
    this.rangeEnd = prefixRangeEnd(this.prefix);
    this.log = o.logger.child({ component: 'etcd-mirror', prefix: o.prefix });
    this.clock = o.clock ?? systemClock;
    this.backoff = new Backoff(RECONNECT_BACKOFF, o.random);
    this.leaseTtls = new LeaseTtlLookup({ client: o.client, clock: this.clock, log: this.log, cache: this.core });
    this.pageSize = o.pageSize ?? FIRST_PAGE_KEYS;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1) {
      throw new EtcdOptionsError(`etcd mirror: pageSize must be a positive integer, got ${String(o.pageSize)}`);
    }
    this.syncedPromise = new Promise<void>((resolve, reject) => {
      this.resolveSynced = resolve;
      this.rejectSynced = reject;
    });
    // Nobody may be waiting on synced() when stop() rejects it: no unhandled rejection then.
    this.syncedPromise.catch(() => undefined);
  }

  start(): void {
    if (this.stopped) throw new EtcdMirrorStoppedError('etcd mirror: start() after stop()');
    if (this.started) return;
    this.started = true;
    this.beginList();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.bumpEpoch();
    this.clearTimer('retryTimer');
    this.clearTimer('flushTimer');
    this.pending = [];
    if (!this.s.synced) this.rejectSynced(new EtcdMirrorStoppedError('etcd mirror stopped before the first sync'));
    const w = this.watcher;
    this.watcher = undefined;
    if (w) {
      // Cancelling waits for etcd to confirm; with etcd down that could take long. Bounded.
      let timer: Timer;
      await Promise.race([
        cancelWatcher(w),
        new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, 1000))),
      ]);
      this.clock.clearTimeout(timer!);
    }
  }

  get state(): MirrorState {
    return { ...this.s };
  }

  /**
   * Whether the initial list is done, and since when etcd has been unreachable: what the query
   * path asks on every query, read without copying the whole state.
   */
  get isSynced(): boolean {
    return this.s.synced;
  }

  get disconnectedSince(): number | undefined {
    return this.s.disconnectedSince;
  }

  /** Resolves after the first full sync (rejects if stopped before). */
  synced(): Promise<void> {
    return this.syncedPromise;
  }

  // --- listing ------------------------------------------------------------------------------

  private bumpEpoch(): number {
    this.endEpoch();
    this.epochEnded = new Promise((resolve) => (this.endEpoch = resolve));
    return ++this.epoch;
  }

  private requestRelist(reason: string): void {
    if (this.stopped) return;
    if (this.listedOnce) {
      this.s.relists++;
      this.log.warn({ reason, revision: this.core.revision }, 'etcd mirror re-listing');
    }
    this.beginList();
  }

  /** Starts a list in a new epoch; retries with backoff until it succeeds. */
  private beginList(): void {
    const epoch = this.bumpEpoch();
    this.dropWatcher();
    this.clearTimer('retryTimer');
    this.clearTimer('flushTimer');
    this.pending = [];
    this.list(epoch).catch((err: unknown) => {
      if (epoch !== this.epoch || this.stopped) return;
      this.markDisconnected(err);
      this.scheduleRetry(epoch, () => this.beginList());
    });
  }

  private async list(epoch: number): Promise<void> {
    const started = this.clock.now();
    const listing = await this.fetchListing(epoch);
    if (listing === undefined || epoch !== this.epoch || this.stopped) return;
    this.clusterId = listing.clusterId;
    const puts = this.core.reset(listing.kvs, listing.revision);
    const relisted = this.listedOnce;
    this.listedOnce = true;
    this.backoff.reset();
    this.markConnected();
    // Info: the moment the etcd data is served (first sync) or replaced whole (a re-list).
    this.log.info({ revision: listing.revision, keys: puts.length, ms: Math.round(this.clock.now() - started) }, relisted ? 'etcd re-listed' : 'etcd synced');
    this.enqueueBatch(epoch, true, puts, listing.revision, this.core.size);
    this.openWatch(epoch);
  }

  /**
   * Every key under the prefix at one revision: the first page fixes R, the others ask for R.
   * A compaction past R mid-way restarts the list at the new current revision.
   */
  private async fetchListing(epoch: number): Promise<Listing | undefined> {
    for (let restart = 0; ; restart++) {
      const kvs = new ListedKvs();
      let revision = 0;
      let clusterId = '';
      let start: Buffer = this.prefix;
      let limit = this.pageSize;
      let bytes = 0;
      let shrunk = false;
      let large = false;
      try {
        for (;;) {
          if (epoch !== this.epoch || this.stopped) return undefined;
          // No sort options on purpose: etcd returns keys in ascending order anyway, and 3.4
          // drops the limit (reads the whole range per page) whenever a sort order is set.
          let res: Awaited<ReturnType<Etcd3['kv']['range']>>;
          try {
            res = await this.client.kv.range({
              key: start,
              range_end: this.rangeEnd,
              limit,
              revision: revision === 0 ? undefined : revision,
            });
          } catch (err) {
            if (!isDeadlineError(err) || this.o.pageSize !== undefined || limit <= MIN_PAGE_KEYS) throw err;
            limit = Math.max(MIN_PAGE_KEYS, limit >> 1);
            shrunk = true;
            this.log.info({ limit, keys: kvs.length }, 'etcd list page missed its deadline; asking again at half the size');
            continue;
          }
          if (revision === 0) {
            revision = Number(res.header.revision);
            clusterId = res.header.cluster_id;
            large = Number(res.count) > LARGE_LIST_KEYS;
          }
          for (const kv of res.kvs) {
            bytes += kv.key.length + kv.value.length;
            kvs.push(rawKv(kv));
          }
          if (this.o.pageSize === undefined && kvs.length > 0 && !shrunk && large) {
            limit = Math.max(FIRST_PAGE_KEYS, Math.min(MAX_PAGE_KEYS, Math.floor(PAGE_BYTES / (bytes / kvs.length))));
          }
          const lastKv = res.kvs[res.kvs.length - 1];
          if (!res.more || lastKv === undefined) break;
          // The next page starts right after the last key (key + "\0" is its successor).
          start = Buffer.concat([lastKv.key, Buffer.from([0])]);
        }
        return { kvs, revision, clusterId };
      } catch (err) {
        if (isCompactedError(err) && restart < MAX_LIST_RESTARTS) {
          this.log.info({ revision }, 'etcd compacted during the list; listing again');
          continue;
        }
        throw err;
      }
    }
  }

  // --- watching -----------------------------------------------------------------------------

  private openWatch(epoch: number): void {
    if (epoch !== this.epoch || this.stopped) return;
    this.dropWatcher();
    const from = this.core.revision + 1;
    // watcher() attaches at once (create() would also race its own once-listeners against
    // ours); every listener is added before any stream event can be delivered.
    // No withPreviousKV(): the mirror holds every key's revision already, and asking etcd for
    // previous values makes a large delete cost it minutes (etcd-io/etcd#16839: 20k deletes of
    // a prefix came in 0.94 s without them, none in 12 s with them). The gap checks that need
    // no previous value (a put's version) stay; compaction and cancels still re-list.
    const w = this.client.watch().prefix(this.prefix).startRevision(String(from)).watcher();
    this.watcher = w;
    const current = () => w === this.watcher && epoch === this.epoch && !this.stopped;
    w.on('connecting', (req) => {
      // Belt and braces: etcd3 re-sends this same request object whenever it resumes a
      // watcher itself, with start_revision moved to its last *header* revision. We drop
      // watchers on disconnect so it should never resume one, but if it does, it resumes
      // from what we applied, never past it.
      const create = req as unknown as { start_revision?: string | number };
      const want = this.core.revision + 1;
      if (current() && Number(create.start_revision) !== want) {
        this.log.debug({ etcd3: create.start_revision, want }, 'pinning watch start revision');
        create.start_revision = want;
      }
    });
    w.on('connected', (res: IWatchResponse) => {
      if (current()) this.onWatchConnected(epoch, res);
    });
    w.on('data', (res: IWatchResponse) => {
      if (current()) this.onWatchData(epoch, res);
    });
    w.on('disconnected', (err: Error) => {
      if (!current()) return;
      // Drop it now, while etcd3's manager is idle (detach is synchronous then), so that its
      // own reconnect does not resume this watcher from its header revision.
      this.dropWatcher();
      this.markDisconnected(err);
      this.scheduleRetry(epoch, () => this.openWatch(epoch));
    });
    // Always listened: an 'error' without a listener would crash the process. Stays attached
    // after the watcher is dropped, so late errors of old watchers are swallowed too.
    w.on('error', (err: Error) => {
      if (!current()) return;
      // etcd cancelled the watch. In practice: the start revision was compacted (etcd3 hides
      // compact_revision: "Watcher canceled: "). Nothing to resume from: list again.
      this.log.info({ err: err.message, from: this.core.revision + 1 }, 'etcd watch canceled');
      this.requestRelist(`watch canceled: ${err.message}`);
    });
    w.on('end', () => {
      if (!current()) return;
      // Only our own cancel should end a watcher; treat anything else as a disconnect.
      this.dropWatcher();
      this.scheduleRetry(epoch, () => this.openWatch(epoch));
    });
  }

  private onWatchConnected(epoch: number, res: IWatchResponse): void {
    this.backoff.reset();
    this.markConnected();
    if (this.clusterId !== undefined && res.header.cluster_id !== this.clusterId) {
      this.requestRelist(`cluster id changed from ${this.clusterId} to ${res.header.cluster_id}`);
      return;
    }
    // A member answering with a revision below ours: either it lags (harmless, it catches up)
    // or etcd was restored from an older snapshot (then our watch from a future revision would
    // wait silently). A linearizable read tells which.
    if (Number(res.header.revision) < this.core.revision) void this.checkRollback(epoch);
  }

  private async checkRollback(epoch: number): Promise<void> {
    try {
      const res = await this.client.kv.range({ key: this.prefix, range_end: this.rangeEnd, count_only: true });
      if (epoch !== this.epoch || this.stopped) return;
      const current = Number(res.header.revision);
      if (current < this.core.revision) this.requestRelist(`etcd revision ${current} is below the applied ${this.core.revision}`);
    } catch {
      // Unreachable again: the watch's disconnect handling takes over.
    }
  }

  private onWatchData(epoch: number, res: IWatchResponse): void {
    // etcd3 re-throws what a 'data' listener throws as an uncaught exception: never throw.
    try {
      // A progress notification (etcd3 always asks for them). Its header revision is not taken
      // as ours: etcd before 3.4.25/3.5.8 could send one ahead of events still queued
      // (etcd-io/etcd#15220; our CI runs 3.4.23), and etcd-io/etcd#20221 reports more cases.
      // Only event revisions advance the mirror; the price is that a prefix that stays quiet
      // while others are written re-lists if a compaction passes it during an outage.
      if (res.events.length === 0) return;
      if (this.clusterId !== undefined && res.header.cluster_id !== this.clusterId) {
        this.requestRelist(`cluster id changed from ${this.clusterId} to ${res.header.cluster_id}`);
        return;
      }
      const result = this.core.accept(rawEvents(res));
      if (!result.ok) {
        this.log.warn({ reason: result.reason }, 'gap in the etcd event stream');
        this.requestRelist(`gap: ${result.reason}`);
        return;
      }
      if (result.changes.length === 0) return; // replays after a resume
      for (const c of result.changes) this.pending.push(c);
      this.pendingRevision = result.revision;
      // A change set this large (a prefix deleted, a bulk import) is cheaper to take as one
      // fresh list, which the consumer compares zone by zone, than key by key; and the events
      // still streaming in for it need not be read at all.
      if (this.pending.length > RELIST_ABOVE_CHANGES) {
        this.requestRelist(`${this.pending.length} changes at once: a fresh list is cheaper than applying them one by one`);
        return;
      }
      // Coalesce: everything read in this turn of the event loop goes out as one batch. An
      // immediate, not a 0 ms timeout: that one fires 1 ms later at the soonest, on a wake-up of
      // its own, which every change's propagation (and every UPDATE's read-your-write) paid.
      if (this.flushTimer === undefined) {
        this.flushTimer = this.clock.setImmediate(() => {
          this.flushTimer = undefined;
          this.flush(epoch);
        });
      }
    } catch (err) {
      this.log.error({ err }, 'etcd mirror failed to apply watch events');
      this.requestRelist('internal error applying events');
    }
  }

  private flush(epoch: number): void {
    if (epoch !== this.epoch || this.stopped || this.pending.length === 0) return;
    const changes = this.pending;
    this.pending = [];
    this.enqueueBatch(epoch, false, changes, this.pendingRevision, this.core.size);
  }

  private dropWatcher(): void {
    const w = this.watcher;
    this.watcher = undefined;
    if (w) void cancelWatcher(w);
  }

  // --- emitting -----------------------------------------------------------------------------

  private enqueueBatch(epoch: number, reset: boolean, changes: KeyChange[], revision: number, keys: number): void {
    // Nothing queued and every lease TTL known (most batches): hand the batch on now. Order
    // holds (the chain is empty), and a change costs no promise chain, no await and no extra
    // microtask turns on its way to the index.
    if (this.queuedBatches === 0) {
      const filled = this.leaseTtls.fillKnown(changes);
      if (filled) {
        try {
          this.deliver(epoch, reset, filled, revision, keys);
        } catch (err) {
          this.log.error({ err }, 'etcd mirror failed to emit a batch');
        }
        return;
      }
    }
    this.queuedBatches++;
    this.chain = this.chain
      .then(() => this.emit(epoch, reset, changes, revision, keys))
      .catch((err: unknown) => this.log.error({ err }, 'etcd mirror failed to emit a batch'))
      .finally(() => this.queuedBatches--);
  }

  private async emit(epoch: number, reset: boolean, changes: KeyChange[], revision: number, keys: number): Promise<void> {
    if (epoch !== this.epoch || this.stopped) return;
    // A re-list or stop() makes this batch moot: stop waiting then, so the reset batch queued
    // behind it is not held up by lookups.
    const filled = await this.leaseTtls.fill(changes, this.epochEnded);
    this.deliver(epoch, reset, filled, revision, keys);
  }

  /** The batch to the consumer, then the state it reflects. */
  private deliver(epoch: number, reset: boolean, filled: KeyChange[], revision: number, keys: number): void {
    // A re-list started meanwhile: its reset batch replaces this one; drop it.
    if (epoch !== this.epoch || this.stopped) return;
    try {
      this.o.onBatch({ reset, changes: filled, revision });
    } catch (err) {
      // The consumer's bug; the mirror goes on (a re-list loop on a throwing consumer would
      // re-read the whole prefix from etcd every second).
      this.log.error({ err, reset, revision }, 'etcd mirror onBatch threw');
    }
    const now = this.clock.now();
    this.s.revision = revision;
    this.s.keys = keys;
    if (reset) {
      this.s.lastSyncAt = now;
      if (!this.s.synced) {
        this.s.synced = true;
        this.resolveSynced();
      }
    } else {
      this.s.lastEventAt = now;
    }
    this.notifyState();
  }

  // --- connection state ---------------------------------------------------------------------

  private scheduleRetry(epoch: number, fn: () => void): void {
    this.clearTimer('retryTimer');
    const delay = this.backoff.next();
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (epoch === this.epoch && !this.stopped) fn();
    }, delay);
  }

  private markConnected(): void {
    if (this.s.connected) return;
    const since = this.s.disconnectedSince;
    if (since !== undefined) {
      this.log.info({ outageMs: Math.round(this.clock.now() - since), failures: this.failuresSinceLog }, 'etcd reachable again');
    }
    this.s.connected = true;
    this.s.disconnectedSince = undefined;
    this.failuresSinceLog = 0;
    this.notifyState();
  }

  private markDisconnected(err: unknown): void {
    const now = this.clock.now();
    const message = errorMessage(err);
    this.failuresSinceLog++;
    if (this.s.connected || this.s.disconnectedSince === undefined) {
      this.s.connected = false;
      this.s.disconnectedSince = now;
      this.lastDisconnectLogAt = now;
      // Before the first sync there is no data to fall back on: say so, not "the last good data".
      if (this.listedOnce) this.log.warn({ err: message, revision: this.s.revision }, 'etcd unreachable; serving the last good data');
      else this.log.warn({ err: message }, 'etcd unreachable; its zones answer SERVFAIL until the first sync');
      this.notifyState();
      return;
    }
    // etcd3 reports a failure per attempt (several a second): one line per interval.
    if (now - this.lastDisconnectLogAt >= DISCONNECT_LOG_INTERVAL_MS) {
      this.log.warn(
        { err: message, downMs: Math.round(now - this.s.disconnectedSince), failures: this.failuresSinceLog },
        'etcd still unreachable',
      );
      this.lastDisconnectLogAt = now;
      this.failuresSinceLog = 0;
    } else {
      this.log.debug({ err: message }, 'etcd attempt failed');
    }
  }

  private notifyState(): void {
    if (!this.o.onState) return;
    try {
      this.o.onState(this.state);
    } catch (err) {
      this.log.error({ err }, 'etcd mirror onState threw');
    }
  }

  private clearTimer(which: 'retryTimer' | 'flushTimer'): void {
    const t = this[which];
    if (t !== undefined) {
      if (which === 'flushTimer') this.clock.clearImmediate(t);
      else this.clock.clearTimeout(t);
    }
    this[which] = undefined;
  }
}

/** Cancels an etcd3 watcher without ever throwing or rejecting (etcd3's cancel can do both). */
async function cancelWatcher(w: Watcher): Promise<void> {
  try {
    await w.cancel();
  } catch {
    // The stream is gone or going: nothing left to cancel.
  }
}

/** A call that missed its deadline (gRPC DEADLINE_EXCEEDED; etcd3's GRPCDeadlineExceededError). */
function isDeadlineError(err: unknown): boolean {
  return err instanceof Error && /deadline.?exceeded/i.test(err.message);
}

function isCompactedError(err: unknown): boolean {
  return err instanceof Error && /compacted/i.test(err.message);
}
