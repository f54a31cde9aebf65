/**
 * Discovery: a local cache of every instance under the registry's domain, fed by one EtcdMirror
 * (the same revision-consistent list+watch, re-list on compaction or gaps, that feeds the DNS
 * server), so `getService` never reads etcd once synced and keeps answering while etcd is down.
 *
 * Empty lists: kratos's resolver refuses to push an empty list ("zero endpoint found, refused
 * to write"); grpc-js keeps its last list when the resolver errors. We do report an empty list
 * - unregistering the last instance, or the last lease expiring, is a real removal a caller
 * must see - but we never *invent* one: losing etcd keeps the last known instances and only
 * sets `stale: true` (the mirror keeps its data while disconnected, go-micro's stale-if-error).
 * After etcd returns, the mirror's re-sync states what etcd really holds; instances whose
 * leases expired during the outage are then removed, which is the truth.
 */
import type { Etcd3 } from 'etcd3';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { MirrorBatch } from '../etcd/changes.js';
import { EtcdMirror } from '../etcd/mirror.js';
import { isEtcdnsError } from '../errors.js';
import { abortedError, bounded, type WaitOptions } from './wait.js';
import { closedError } from './errors.js';
import { parseDiscovered, sameInstance, type ResolvedRegistryOptions } from './instance.js';
import type { DiscoveredInstance, Service } from './types.js';

const EMPTY: readonly DiscoveredInstance[] = Object.freeze([]);

/**
 * The pure part: key changes in, per-service instance lists out. Lists are rebuilt only for
 * services a batch touched, and replaced only when their content changed, so an unchanged list
 * keeps its identity (cheap change detection for watchers).
 */
export class ServiceCache {
  /** key → (service, instance) for every valid instance key held. */
  private readonly byKey = new Map<string, DiscoveredInstance>();
  /** service → key → instance. */
  private readonly byService = new Map<string, Map<string, DiscoveredInstance>>();
  private readonly lists = new Map<string, readonly DiscoveredInstance[]>();

  constructor(
    private readonly o: Pick<ResolvedRegistryOptions, 'prefix' | 'domain'>,
    private readonly onInvalid: (key: string, reason: string) => void = () => undefined,
  ) {}

  /** Applies one mirror batch; returns the services whose instance list changed. */
  apply(batch: MirrorBatch): Set<string> {
    const touched = new Set<string>();
    if (batch.reset) {
      for (const service of this.byService.keys()) touched.add(service);
      this.byKey.clear();
      this.byService.clear();
    }
    for (const c of batch.changes) {
      const old = this.byKey.get(c.key);
      if (old) {
        this.byKey.delete(c.key);
        for (const name of listedUnder(old)) {
          this.byService.get(name)?.delete(c.key);
          touched.add(name);
        }
      }
      if (c.type !== 'put') continue;
      const parsed = parseDiscovered(c.key, c.value, this.o);
      if (parsed === undefined) continue; // not an instance key (a record straight under the domain)
      if ('error' in parsed) {
        // Skipped exactly as the DNS server skips it; a bad value replaces a good one as "gone".
        this.onInvalid(c.key, parsed.error);
        continue;
      }
      const inst = parsed.instance;
      this.byKey.set(c.key, inst);
      for (const name of listedUnder(inst)) {
        let m = this.byService.get(name);
        if (!m) this.byService.set(name, (m = new Map()));
        m.set(c.key, inst);
        touched.add(name);
      }
    }
    const changed = new Set<string>();
    for (const service of touched) {
      const m = this.byService.get(service);
      if (m && m.size === 0) this.byService.delete(service);
      const next = m && m.size > 0 ? [...m.values()].sort(byIdThenKey) : EMPTY;
      const prev = this.lists.get(service) ?? EMPTY;
      if (sameList(prev, next)) continue;
      if (next.length === 0) this.lists.delete(service);
      else this.lists.set(service, Object.freeze(next));
      changed.add(service);
    }
    return changed;
  }

  instances(service: string): readonly DiscoveredInstance[] {
    return this.lists.get(service) ?? EMPTY;
  }

  /** Services with at least one instance. */
  services(): string[] {
    return [...this.lists.keys()].sort();
  }
}

/**
 * The service names an instance is found under: its service, and for one registered with an
 * RFC 2782 port name also `_grpc._tcp.<service>` (what its DNS name is below, and what an
 * existing user who named the service that way asks for).
 */
function listedUnder(inst: DiscoveredInstance): string[] {
  return inst.portName === undefined ? [inst.service] : [inst.service, `_${inst.portName}._${inst.protocol}.${inst.service}`];
}

function byIdThenKey(a: DiscoveredInstance, b: DiscoveredInstance): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function sameList(a: readonly DiscoveredInstance[], b: readonly DiscoveredInstance[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameInstance(a[i]!, b[i]!)) return false;
  return true;
}

interface Subscriber {
  dirty: boolean;
  ended: boolean;
  wake: (() => void) | undefined;
}

export interface DiscoveryOptions {
  client: Etcd3;
  /** The default deadline of the first sync (ready()). */
  syncTimeoutMs: number;
  /** The mirrored prefix: the domain's directory, with its trailing '/'. */
  keyPrefix: string;
  registry: Pick<ResolvedRegistryOptions, 'prefix' | 'domain'>;
  logger: Logger;
  clock: Clock;
}

export class Discovery {
  private readonly mirror: EtcdMirror;
  private readonly cache: ServiceCache;
  private readonly subs = new Map<string, Set<Subscriber>>();
  private readonly log: Logger;
  private started = false;
  private stopped = false;
  private connected = false;
  private readonly stopWaiters = new Set<(err: Error) => void>();
  private readonly invalidSeen = new Set<string>();
  private readonly clock: Clock;
  private readonly syncTimeoutMs: number;
  private startedAt: number | undefined;

  constructor(o: DiscoveryOptions) {
    this.clock = o.clock;
    this.syncTimeoutMs = o.syncTimeoutMs;
    this.log = o.logger.child({ component: 'registry-discovery' });
    this.cache = new ServiceCache(o.registry, (key, reason) => {
      // Once per key: a bad value is not worth a line per re-list.
      if (this.invalidSeen.size < 10_000 && !this.invalidSeen.has(key)) {
        this.invalidSeen.add(key);
        this.log.warn({ key, reason }, 'skipping invalid instance value');
      }
    });
    this.mirror = new EtcdMirror({
      client: o.client,
      prefix: o.keyPrefix,
      logger: o.logger,
      clock: o.clock,
      onBatch: (batch) => this.onBatch(batch),
      onState: (s) => {
        if (s.connected === this.connected) return;
        this.connected = s.connected;
        // A stale flip is a change for every watcher.
        for (const set of this.subs.values()) for (const sub of set) this.poke(sub);
      },
    });
  }

  /** Starts the mirror (once). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.startedAt = this.clock.now();
    this.mirror.start();
  }

  /**
   * Waits for the first full sync, bounded (wait.ts): rejects with ETCDNS_ERR_REGISTRY_TIMEOUT
   * at the deadline, _ABORTED on abort, _CLOSED on stop. Once synced, never waits again: the
   * cache then answers (stale while etcd is away).
   */
  async ready(wait: WaitOptions = {}): Promise<void> {
    if (this.stopped) throw closedError();
    if (wait.signal?.aborted) throw abortedError(wait.signal, 'waiting for the first sync with etcd');
    this.start();
    if (this.mirror.isSynced) return;
    let onStop: ((err: Error) => void) | undefined;
    const stoppedOrSynced = Promise.race([
      this.mirror.synced(),
      new Promise<never>((_, reject) => {
        onStop = reject;
        this.stopWaiters.add(reject);
      }),
    ]);
    try {
      await bounded(stoppedOrSynced, {
        what: 'waiting for the first sync with etcd',
        timeoutMs: wait.timeoutMs ?? this.syncTimeoutMs,
        signal: wait.signal,
        clock: this.clock,
        hint: 'is etcd reachable at the configured endpoints?',
      });
    } finally {
      if (onStop) this.stopWaiters.delete(onStop);
    }
  }

  /** The current view of one service, from memory. */
  service(name: string): Service {
    const s = this.mirror.state;
    const stale = !s.connected;
    return Object.freeze({ name, instances: this.cache.instances(name), stale, staleSince: stale ? (s.disconnectedSince ?? this.startedAt) : undefined, revision: s.revision });
  }

  services(): string[] {
    return this.cache.services();
  }

  /**
   * The current Service, then one per change of its instances or of `stale`. Changes are
   * coalesced: a consumer slower than etcd sees the latest list, not every intermediate one.
   */
  async *watch(name: string, signal?: AbortSignal): AsyncGenerator<Service, void, undefined> {
    if (signal?.aborted || this.stopped) return;
    const sub: Subscriber = { dirty: true, ended: false, wake: undefined };
    let set = this.subs.get(name);
    if (!set) this.subs.set(name, (set = new Set()));
    set.add(sub);
    const onAbort = () => {
      sub.ended = true;
      this.poke(sub);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      try {
        await this.ready({ signal });
      } catch (err) {
        // Aborted or closed before the first sync: the iteration just ends. A deadline is a
        // failure the caller must hear about (as getService would).
        if (isEtcdnsError(err, 'ETCDNS_ERR_REGISTRY_TIMEOUT')) throw err;
        return;
      }
      let last: Service | undefined;
      while (!sub.ended && !this.stopped) {
        if (sub.dirty) {
          sub.dirty = false;
          const s = this.service(name);
          if (last === undefined || s.instances !== last.instances || s.stale !== last.stale) {
            last = s;
            yield s;
            continue;
          }
        }
        // The caller is awaiting the next change: that must keep the process alive, as any
        // pending wait of the SDK does (etcd3 holds nothing while it is between reconnects).
        const hold = this.clock.setInterval(() => undefined, 1 << 30);
        (hold as { ref?: () => unknown } | undefined)?.ref?.();
        try {
          await new Promise<void>((resolve) => (sub.wake = resolve));
        } finally {
          this.clock.clearInterval(hold);
        }
        sub.wake = undefined;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      set.delete(sub);
      if (set.size === 0 && this.subs.get(name) === set) this.subs.delete(name);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const err = closedError();
    for (const reject of this.stopWaiters) reject(err);
    this.stopWaiters.clear();
    for (const set of this.subs.values()) {
      for (const sub of set) {
        sub.ended = true;
        this.poke(sub);
      }
    }
    if (this.started) await this.mirror.stop();
  }

  private onBatch(batch: MirrorBatch): void {
    const changed = this.cache.apply(batch);
    for (const service of changed) {
      const set = this.subs.get(service);
      if (set) for (const sub of set) this.poke(sub);
    }
  }

  private poke(sub: Subscriber): void {
    sub.dirty = true;
    sub.wake?.();
  }
}
