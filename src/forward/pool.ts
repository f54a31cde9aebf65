import type { Clock, Timer } from '../clock.js';
import { Rcode, RRClass, RRType, rcodeName } from '../dns/constants.js';
import type { Logger } from '../log.js';
import type { StoredReply, UpstreamQuestion } from '../wire/relay.js';
import type { UpstreamClient } from './client.js';
import { upstreamLabel, type ForwardObserver, type ForwardPolicy, type Upstream } from './types.js';

/** The health check question: `. IN NS`, as CoreDNS `forward` sends (RFC 1035 root NS). */
const PROBE: UpstreamQuestion = { name: '', type: RRType.NS, class: RRClass.IN, flags: 0, edns: undefined };

interface Health {
  readonly upstream: Upstream;
  readonly label: string;
  /** Consecutive failures. */
  failures: number;
  down: boolean;
  probing: boolean;
}

export type PoolResult = { readonly ok: true; readonly reply: StoredReply; readonly upstream: string } | { readonly ok: false; readonly reason: string };

export interface UpstreamPoolOptions {
  readonly client: UpstreamClient;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: ForwardPolicy;
  readonly tryTimeoutMs: number;
  readonly maxFailures: number;
  readonly healthCheckIntervalMs: number;
  readonly observe?: ForwardObserver | undefined;
}

/**
 * Every upstream of every route, with its health, and the failover loop. Health is kept per
 * upstream address, so an upstream shared by two routes is counted and probed once.
 *
 * Like CoreDNS `forward`: an upstream with `maxFailures` consecutive failures is marked down
 * and skipped; while any is down, a timer sends each one `. IN NS` every
 * `healthCheckIntervalMs` and marks it up again on any valid reply; when every upstream of a
 * route is down, one of them is still tried (chosen by the policy), because "all down" is as
 * likely our own network as theirs, and answering SERVFAIL without trying helps nobody.
 */
export class UpstreamPool {
  readonly #o: UpstreamPoolOptions;
  readonly #health = new Map<string, Health>();
  #probeTimer: Timer;
  #probing = false;
  #closed = false;

  constructor(options: UpstreamPoolOptions) {
    this.#o = options;
  }

  #state(upstream: Upstream): Health {
    const label = upstreamLabel(upstream);
    let h = this.#health.get(label);
    if (!h) {
      h = { upstream, label, failures: 0, down: false, probing: false };
      this.#health.set(label, h);
    }
    return h;
  }

  /** Whether `upstream` is currently marked down (for tests and status pages). */
  isDown(upstream: Upstream): boolean {
    return this.#health.get(upstreamLabel(upstream))?.down ?? false;
  }

  /**
   * The order to try `upstreams` in for one query: the healthy ones, shuffled (`random`) or as
   * configured (`sequential`); when none is healthy, a single one picked the same way.
   */
  order(upstreams: readonly Upstream[]): Health[] {
    const states = upstreams.map((u) => this.#state(u));
    const healthy = states.filter((h) => !h.down);
    const pool = healthy.length > 0 ? healthy : states;
    if (this.#o.policy === 'random') shuffle(pool);
    return healthy.length > 0 ? pool : pool.slice(0, 1);
  }

  /**
   * Asks the upstreams in turn until one gives a usable answer. SERVFAIL and REFUSED count as
   * failures of that upstream and move on to the next, as timeouts and network errors do.
   */
  async resolve(question: UpstreamQuestion, upstreams: readonly Upstream[]): Promise<PoolResult> {
    let reason = 'no upstreams';
    for (const h of this.order(upstreams)) {
      if (this.#closed) return { ok: false, reason: 'closed' };
      const started = this.#o.clock.now();
      const r = await this.#o.client.exchange(h.upstream, question, this.#o.tryTimeoutMs);
      const durationMs = this.#o.clock.now() - started;
      if (!r.ok) {
        reason = `${h.label}: ${r.reason}`;
        this.#o.observe?.upstream({ upstream: h.label, ok: false, durationMs, reason: r.reason, kind: 'query' });
        this.#failure(h, r.reason);
        continue;
      }
      const rcode = r.info.rcode;
      if (rcode === Rcode.SERVFAIL || rcode === Rcode.REFUSED) {
        reason = `${h.label}: ${rcodeName(rcode)}`;
        this.#o.observe?.upstream({ upstream: h.label, ok: false, rcode, durationMs, reason: rcodeName(rcode), kind: 'query' });
        this.#failure(h, rcodeName(rcode));
        continue;
      }
      this.#o.observe?.upstream({ upstream: h.label, ok: true, rcode, durationMs, kind: 'query' });
      this.#success(h);
      return { ok: true, reply: { bytes: r.bytes, info: r.info }, upstream: h.label };
    }
    return { ok: false, reason };
  }

  #success(h: Health): void {
    h.failures = 0;
    if (h.down) {
      h.down = false;
      this.#o.logger.info({ upstream: h.label }, 'forward: upstream is answering again');
      this.#o.observe?.health?.({ upstream: h.label, healthy: true });
    }
  }

  #failure(h: Health, reason: string): void {
    h.failures++;
    if (h.down || h.failures < this.#o.maxFailures) {
      this.#o.logger.debug({ upstream: h.label, reason, failures: h.failures }, 'forward: upstream try failed');
      return;
    }
    h.down = true;
    this.#o.logger.warn({ upstream: h.label, reason, failures: h.failures }, 'forward: upstream marked down');
    this.#o.observe?.health?.({ upstream: h.label, healthy: false });
    this.#startProbing();
  }

  #startProbing(): void {
    if (this.#probing || this.#closed) return;
    this.#probing = true;
    this.#probeTimer = this.#o.clock.setInterval(() => this.#probeAll(), this.#o.healthCheckIntervalMs);
  }

  #probeAll(): void {
    let anyDown = false;
    for (const h of this.#health.values()) {
      if (!h.down) continue;
      anyDown = true;
      if (h.probing) continue; // the previous probe is still waiting
      h.probing = true;
      void this.#probe(h).finally(() => {
        h.probing = false;
      });
    }
    if (!anyDown) {
      this.#o.clock.clearInterval(this.#probeTimer);
      this.#probing = false;
    }
  }

  async #probe(h: Health): Promise<void> {
    const started = this.#o.clock.now();
    // A probe never waits longer than the interval: the next tick sends a fresh one.
    const timeout = Math.min(this.#o.tryTimeoutMs, this.#o.healthCheckIntervalMs);
    const r = await this.#o.client.exchange(h.upstream, PROBE, timeout);
    const durationMs = this.#o.clock.now() - started;
    if (this.#closed) return;
    if (r.ok) {
      // Any valid reply will do (CoreDNS does the same): an upstream only forwarding some
      // zones may well answer REFUSED for the root.
      this.#o.observe?.upstream({ upstream: h.label, ok: true, rcode: r.info.rcode, durationMs, kind: 'probe' });
      this.#success(h);
    } else {
      this.#o.observe?.upstream({ upstream: h.label, ok: false, durationMs, reason: r.reason, kind: 'probe' });
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#probing) this.#o.clock.clearInterval(this.#probeTimer);
    this.#probing = false;
  }
}

/** Fisher–Yates, in place. Load spreading only, not a security property: Math.random is enough. */
function shuffle<T>(a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}
