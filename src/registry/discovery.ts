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
        this.byService.get(old.service)?.delete(c.key);
        touched.add(old.service);
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
      let m = this.byService.get(inst.service);
      if (!m) this.byService.set(inst.service, (m = new Map()));
      m.set(c.key, inst);
      touched.add(inst.service);
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

  constructor(o: DiscoveryOptions) {
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
    this.mirror.start();
  }

  /** Waits for the first full sync; rejects on abort or stop. */
  async ready(signal?: AbortSignal): Promise<void> {
    if (this.stopped) throw new Error('registry: closed');
    signal?.throwIfAborted();
    this.start();
    if (this.mirror.state.synced) return;
    let onAbort: (() => void) | undefined;
    let onStop: ((err: Error) => void) | undefined;
    try {
      await Promise.race([
        this.mirror.synced(),
        new Promise<never>((_, reject) => {
          onStop = reject;
          this.stopWaiters.add(reject);
          if (signal) {
            onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
            signal.addEventListener('abort', onAbort, { once: true });
          }
        }),
      ]);
    } finally {
      if (onStop) this.stopWaiters.delete(onStop);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The current view of one service, from memory. */
  service(name: string): Service {
    const s = this.mirror.state;
    return Object.freeze({ name, instances: this.cache.instances(name), stale: !s.connected, revision: s.revision });
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
        await this.ready(signal);
      } catch {
        return; // aborted or closed before the first sync: the iteration just ends
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
        await new Promise<void>((resolve) => (sub.wake = resolve));
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
    const err = new Error('registry: closed');
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
