/**
 * How far the mirror is behind etcd, found by asking etcd, not by trusting the watch: a watch
 * can fall minutes behind while it stays connected (etcd-io/etcd#16839, a large delete with
 * previous values), and then every other signal says all is well.
 *
 * Every `intervalMs` (5 s) one small range request on the prefix (keys only, the newest key, with the
 * total count) tells etcd's current revision, how many keys the prefix holds and the newest
 * key's revision. The mirror is in step when it holds as many keys and has applied at least that
 * revision; otherwise it is behind by (etcd's revision − the mirror's), and `behindSince` says
 * since when. etcd's revision alone cannot tell: writes outside the prefix raise it too.
 */
import type { Etcd3 } from 'etcd3';
import type { Clock, Timer } from '../clock.js';
import type { Logger } from '../log.js';
import { prefixRangeEnd } from './etcd-kv.js';

export interface MirrorPosition {
  readonly synced: boolean;
  readonly revision: number;
  readonly keys: number;
}

export interface LagOptions {
  readonly client: Etcd3;
  /** The mirrored prefix, with its trailing '/'. */
  readonly prefix: string;
  readonly mirror: () => MirrorPosition;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Between probes; default 5000. Each probe makes etcd count the prefix's keys (tens of ms at
   * 100k keys, on etcd's side), once per replica: often enough for a 30 s readiness bound.
   */
  readonly intervalMs?: number;
}

/** First warning after this long behind; then each time the time behind doubles. */
const FIRST_WARNING_MS = 5000;

export class MirrorLag {
  readonly #o: LagOptions;
  #timer: Timer;
  #probing = false;
  #revisions = 0;
  #behindSince: number | undefined;
  #nextWarningMs = FIRST_WARNING_MS;

  constructor(o: LagOptions) {
    this.#o = o;
  }

  /** Revisions etcd is ahead of the mirror (0 when in step or not yet known). */
  get revisions(): number {
    return this.#revisions;
  }

  /** Clock ms since when the mirror has been behind; undefined when in step. */
  get behindSince(): number | undefined {
    return this.#behindSince;
  }

  start(): void {
    this.#timer = this.#o.clock.setInterval(() => void this.probe(), this.#o.intervalMs ?? 5000);
  }

  stop(): void {
    this.#o.clock.clearInterval(this.#timer);
  }

  /** One probe (the timer calls it; tests may too). Never rejects: etcd unreachable leaves the figures as they were. */
  async probe(): Promise<void> {
    if (this.#probing) return;
    this.#probing = true;
    try {
      const prefix = Buffer.from(this.#o.prefix);
      const res = await this.#o.client.kv.range({ key: prefix, range_end: prefixRangeEnd(prefix), keys_only: true, limit: 1, sort_order: 'Descend', sort_target: 'Mod' });
      this.#judge(Number(res.header.revision), Number(res.count), res.kvs[0] ? Number(res.kvs[0].mod_revision) : 0);
    } catch {
      // Unreachable etcd is the mirror's own business (connected, --max-stale).
    } finally {
      this.#probing = false;
    }
  }

  #judge(etcdRevision: number, etcdKeys: number, newest: number): void {
    const m = this.#o.mirror();
    const now = this.#o.clock.now();
    // Before the first list completes the mirror is not behind but not there yet (readiness
    // says so on its own); counting it would make a long first sync look like lag afterwards.
    if (!m.synced || (m.keys === etcdKeys && m.revision >= newest)) {
      if (this.#behindSince !== undefined && now - this.#behindSince >= FIRST_WARNING_MS) {
        this.#o.logger.info({ behindMs: Math.round(now - this.#behindSince) }, 'etcd mirror caught up');
      }
      this.#revisions = 0;
      this.#behindSince = undefined;
      this.#nextWarningMs = FIRST_WARNING_MS;
      return;
    }
    this.#revisions = Math.max(0, etcdRevision - m.revision);
    this.#behindSince ??= now;
    const behindMs = now - this.#behindSince;
    if (behindMs >= this.#nextWarningMs) {
      this.#nextWarningMs *= 2;
      this.#o.logger.warn(
        { behindMs: Math.round(behindMs), revisions: this.#revisions, etcdRevision, mirrorRevision: m.revision, etcdKeys, mirrorKeys: m.keys },
        'etcd mirror is behind etcd',
      );
    }
  }
}
