/**
 * The etcd source: the shared gap-free mirror (etcd/mirror.ts) feeding the SkyDNS index, whose
 * zones it publishes to the record table; plus what the server asks of it: its status for
 * metrics and /ready, whether its zones may still be served (--max-stale), and the CHAOS text
 * of `revision.etcdns`. One list, then a watch: no etcd read on the query path.
 */
import type { Etcd3, ITxnRequest, ITxnResponse } from 'etcd3';
import type { Clock } from '../../clock.js';
import { createEtcdClient, type EtcdConnection } from '../../etcd/client.js';
import { MirrorLag } from '../../etcd/lag.js';
import { EtcdMirror } from '../../etcd/mirror.js';
import type { MirrorStatus } from '../../etcd/mirror-status.js';
import { MirrorValues, type KeptValuesView } from '../../etcd/mirror-values.js';
import { RevisionWaiter } from '../../etcd/revision-waiter.js';
import type { Logger } from '../../log.js';
import type { Name } from '../../dns/name.js';
import type { ZoneView } from '../../table/zone.js';
import { SkyDnsIndex, type EtcdIndexOptions, type SkippedKind } from './skydns-index.js';

export interface EtcdSourceOptions {
  readonly connection: EtcdConnection;
  /** The index's settings (prefix, zones, default TTL, compat, onOversize); its onInvalid is `onInvalid` below. */
  readonly index: Omit<EtcdIndexOptions, 'onInvalid' | 'onValid' | 'onSkipped' | 'onIgnored'>;
  /** --max-stale: how long etcd may be unreachable before its zones get SERVFAIL; 0: forever. */
  readonly maxStaleMs: number;
  /** Receives the etcd zones, whole, after every change. */
  readonly publish: (zones: ReadonlyMap<Name, ZoneView>) => void;
  /**
   * Counted by reason: a key skipped (logged once per key until it changes; `reason` starts
   * with its kind), or `skipped-change`, `skipped-batch`, `skipped-callback` (see
   * SkyDnsIndex onSkipped; logged once per kind).
   */
  readonly onInvalid?: (reason: string) => void;
  readonly logger: Logger;
  readonly clock: Clock;
  /**
   * Keys whose values to keep beside the index, at the revision it serves (etcd/mirror-values.ts:
   * DNS UPDATE's record keys, src/update/writer.ts `updateKeys`); none when absent.
   */
  readonly keepValues?: (key: string, lastSlash: number) => boolean;
}

/** The etcdns_etcd_invalid_values_total reason of keys skipped for being in no --etcd-zone. */
const OUTSIDE_ZONES = 'outside-zones';

export class EtcdSource {
  readonly #client: Etcd3;
  readonly #index: SkyDnsIndex;
  readonly #mirror: EtcdMirror;
  readonly #lag: MirrorLag;
  readonly #maxStaleMs: number;
  readonly #clock: Clock;
  /** Which revision this replica serves, for writers that answer once it serves theirs. */
  readonly #served: RevisionWaiter;
  readonly #values: MirrorValues | undefined;

  /** Starts at once: etcd zones exist from now on, empty, so their names get SERVFAIL (not REFUSED) until synced. */
  static start(o: EtcdSourceOptions): EtcdSource {
    const source = new EtcdSource(o);
    source.#mirror.start();
    source.#lag.start();
    return source;
  }

  private constructor(o: EtcdSourceOptions) {
    this.#maxStaleMs = o.maxStaleMs;
    this.#clock = o.clock;
    this.#served = new RevisionWaiter(o.clock);
    const values = (this.#values = o.keepValues && new MirrorValues(o.keepValues));
    this.#client = createEtcdClient(o.connection);
    const skippedKinds = new Set<SkippedKind>();
    // Keys in no --etcd-zone (a typo in the zone, or a prefix shared with other servers' zones):
    // each once at debug, counted as `outside-zones`, and one info line per batch that brought any.
    const ignoredInBatch: string[] = [];
    this.#index = new SkyDnsIndex({
      ...o.index,
      // Logged once per key until it changes (the index remembers); counted by reason.
      onInvalid: (key, reason) => {
        o.logger.warn({ key, reason }, 'skipping invalid etcd value');
        o.onInvalid?.(reason);
      },
      // A bug, not data: logged the first time of each kind (a loop must not flood the log), always counted.
      onSkipped: (what, err) => {
        if (!skippedKinds.has(what)) o.logger.error({ err, what }, 'etcd index skipped something that is not etcd data (logged once per kind, counted)');
        skippedKinds.add(what);
        o.onInvalid?.(`skipped-${what}`);
      },
      onIgnored: (key) => {
        o.logger.debug({ key }, 'skipping etcd key outside every --etcd-zone');
        o.onInvalid?.(OUTSIDE_ZONES);
        ignoredInBatch.push(key);
      },
    });
    const logIgnored = () => {
      if (ignoredInBatch.length === 0) return;
      o.logger.info({ keys: ignoredInBatch.length, first: ignoredInBatch[0], zones: o.index.zones }, 'etcd keys outside every --etcd-zone skipped');
      ignoredInBatch.length = 0;
    };
    o.publish(this.#index.zones);
    this.#mirror = new EtcdMirror({
      client: this.#client,
      prefix: `${o.index.prefix}/`,
      logger: o.logger,
      clock: o.clock,
      onBatch: (batch) => {
        // First (it never throws): a batch the index fails on must not be missing from the values.
        // And before the waiter: whoever is told revision R is served finds the values at R too.
        values?.apply(batch);
        o.publish(this.#index.apply(batch));
        this.#served.advance(batch.revision);
        // When each revision starts being answered here (test/update.test.ts times replicas by it).
        o.logger.debug({ revision: batch.revision }, 'etcd revision served');
        logIgnored();
      },
    });
    this.#lag = new MirrorLag({ client: this.#client, prefix: `${o.index.prefix}/`, mirror: () => this.#mirror.state, clock: o.clock, logger: o.logger });
  }

  status(): MirrorStatus {
    const index = this.#index;
    return {
      ...this.#mirror.state,
      keys: index.keyCount,
      records: index.recordCount,
      invalid: index.invalidCount,
      lagRevisions: this.#lag.revisions,
      behindSince: this.#lag.behindSince,
    };
  }

  /** False once etcd has been unreachable longer than --max-stale, or before the first sync. */
  servable(): boolean {
    // Asked once per query for etcd zones: no copy of the mirror's state.
    if (!this.#mirror.isSynced) return false;
    const since = this.#mirror.disconnectedSince;
    if (this.#maxStaleMs <= 0 || since === undefined) return true;
    return this.#clock.now() - since <= this.#maxStaleMs;
  }

  /** The CHAOS TXT strings of `revision.etcdns`. */
  describe(): string[] {
    const s = this.#mirror.state;
    const since = s.disconnectedSince === undefined ? 0 : (this.#clock.now() - s.disconnectedSince) / 1000;
    return [`revision=${s.revision}`, `synced=${s.synced}`, `connected=${s.connected}`, `keys=${this.#index.keyCount}`, `disconnected-for=${since.toFixed(1)}s`];
  }

  /** etcd's transaction RPC, for DNS UPDATE's writes (src/update/writer.ts). */
  txn(request: ITxnRequest): Promise<ITxnResponse> {
    return this.#client.kv.txn(request);
  }

  /**
   * The kept values (`keepValues`), at the revision served; undefined when none are kept, and
   * while etcd is unreachable (an etcd restored from a backup or replaced comes back with other
   * data under the same revisions: the mirror re-lists once it notices, and until it was cut
   * off, what it held was etcd's).
   */
  get values(): KeptValuesView | undefined {
    return this.#mirror.disconnectedSince === undefined ? this.#values : undefined;
  }

  /** A new etcd lease of `ttl` seconds (DNS UPDATE's Update Lease); resolves with its ID. */
  async leaseGrant(ttl: number): Promise<string> {
    return (await this.#client.leaseClient.leaseGrant({ TTL: ttl })).ID;
  }

  /** True once the zones published include etcd `revision` (read your write); false after `timeoutMs`. */
  served(revision: number, timeoutMs: number): Promise<boolean> {
    return this.#served.reached(revision, timeoutMs);
  }

  async stop(): Promise<void> {
    this.#lag.stop();
    await this.#mirror.stop();
    this.#client.close();
  }
}
