/**
 * The mirror's pure bookkeeping (no I/O, no timers): which keys it holds at which revision,
 * which events are new, and whether the event stream has a gap. Unit-tested on its own.
 */
import type { KeyChange, KeyPut } from './changes.js';
import type { RawEvent, RawKv } from './etcd-kv.js';

/**
 * A listing held as columns, one array per field, not an object per key-value. Why: what a
 * 1M-key listing allocates per key lives until the reset batch is built (after the last page),
 * so it is promoted to the old generation page by page, beside the key strings that live on.
 * Columns' backing stores are large objects, freed whole, and reset() makes the puts all at
 * once. Measured at 1M keys (sync of the bench's shape, alternating runs on a loaded box): peak
 * RSS 931-944 MiB against 941-1055 with an object per key; RSS after the warm-up's gc() the
 * same (~750 MiB: old space ~590 MiB committed for 407 used, holes this does not remove).
 */
export class ListedKvs {
  readonly keys: string[] = [];
  readonly values: Uint8Array[] = [];
  readonly modRevisions: number[] = [];
  /** Index → lease, only for the keys that have one. */
  readonly leases = new Map<number, string>();

  get length(): number {
    return this.keys.length;
  }

  push(kv: RawKv): void {
    if (kv.lease !== undefined) this.leases.set(this.keys.length, kv.lease);
    this.keys.push(kv.key);
    this.values.push(kv.value);
    this.modRevisions.push(kv.modRevision);
  }

  clear(): void {
    this.keys.length = 0;
    this.values.length = 0;
    this.modRevisions.length = 0;
    this.leases.clear();
  }
}

/** `kvs` as ListedKvs. */
export function listedKvs(kvs: Iterable<RawKv>): ListedKvs {
  const listed = new ListedKvs();
  for (const kv of kvs) listed.push(kv);
  return listed;
}

export type AcceptResult =
  | { readonly ok: true; readonly changes: KeyChange[]; readonly revision: number }
  | { readonly ok: false; readonly reason: string };

/**
 * What the mirror holds (key → revision and lease), the revision applied so far, and the lease
 * TTL cache. Decides which events are new (drops replays at or below the applied revision) and
 * whether the stream has a gap, from facts etcd gives with every event: `version` is 1 exactly
 * when a put creates the key; and prev_kv, when a watch asks for it, carries the previous mod
 * revision (the mirror's own watch does not: etcd-io/etcd#16839, see mirror.ts).
 * After a gap is reported the core is inconsistent until the next reset().
 */
export class MirrorCore {
  /** key → mod revision. Leases in a separate map, only for keys that have one: at a million
   * keys, one object per key would cost tens of MB for nothing. */
  private readonly keys = new Map<string, number>();
  private readonly leases = new Map<string, string>();
  private readonly leaseRefs = new Map<string, number>();
  private readonly leaseTtls = new Map<string, number>();
  private applied = 0;

  /** The last revision applied: a watch must resume at this + 1. */
  get revision(): number {
    return this.applied;
  }

  get size(): number {
    return this.keys.size;
  }

  /** Leases whose granted TTL is cached (only leases some key still uses). */
  get cachedLeases(): number {
    return this.leaseTtls.size;
  }

  /**
   * Replaces everything with a full list taken at `revision`; returns the puts for a reset batch.
   * Empties `listed`: at a million keys its arrays would otherwise live on beside the puts until
   * the batch is applied.
   */
  reset(listed: ListedKvs, revision: number): KeyPut[] {
    this.keys.clear();
    this.leases.clear();
    this.leaseRefs.clear();
    const puts: KeyPut[] = [];
    const { keys, values, modRevisions, leases } = listed;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const modRevision = modRevisions[i]!;
      const lease = leases.get(i);
      this.setKey(key, modRevision, lease);
      puts.push(this.put(key, values[i]!, lease, modRevision));
    }
    listed.clear();
    // Keep TTLs of leases still in use: one lookup per lease, not one per re-list.
    for (const lease of this.leaseTtls.keys()) if (!this.leaseRefs.has(lease)) this.leaseTtls.delete(lease);
    this.applied = revision;
    return puts;
  }

  /** Applies watch events in order. Events at or below the applied revision are replays: dropped. */
  accept(events: readonly RawEvent[]): AcceptResult {
    // Compare against the revision before this call: one revision (a txn) can hold many events.
    const floor = this.applied;
    let last = floor;
    const changes: KeyChange[] = [];
    for (const ev of events) {
      const rev = ev.type === 'put' ? ev.kv.modRevision : ev.modRevision;
      if (rev <= floor) continue;
      if (rev < last) return { ok: false, reason: `event at revision ${rev} after ${last}` };
      last = rev;
      const key = ev.type === 'put' ? ev.kv.key : ev.key;
      const held = this.keys.get(key);
      if (ev.type === 'put') {
        if (ev.kv.version === 1 && held !== undefined) {
          return { ok: false, reason: `${key} created at ${rev} but held (from ${held}): missed its delete` };
        }
        if (ev.kv.version > 1 && held === undefined) {
          return { ok: false, reason: `${key} updated at ${rev} (version ${ev.kv.version}) but not held: missed its creation` };
        }
        if (ev.prevModRevision !== undefined && held !== undefined && held !== ev.prevModRevision) {
          return { ok: false, reason: `${key} at ${rev} follows ${ev.prevModRevision}, held ${held}` };
        }
        this.setKey(key, rev, ev.kv.lease);
        changes.push(this.put(ev.kv.key, ev.kv.value, ev.kv.lease, ev.kv.modRevision));
      } else {
        // etcd omits prev_kv when the previous revision is compacted: only a present one is evidence.
        if (ev.prevModRevision !== undefined && held !== ev.prevModRevision) {
          return { ok: false, reason: `${key} deleted at ${rev} after ${ev.prevModRevision}, held ${held ?? 'nothing'}` };
        }
        this.deleteKey(key);
        changes.push({ type: 'delete', key, modRevision: rev });
      }
    }
    this.applied = last;
    return { ok: true, changes, revision: last };
  }

  /** The cached granted TTL of a lease, if known. */
  leaseTtl(lease: string): number | undefined {
    return this.leaseTtls.get(lease);
  }

  /** Caches a lease's granted TTL, only while some key uses it (a lease gone is forgotten). */
  rememberLeaseTtl(lease: string, ttl: number): void {
    if (this.leaseRefs.has(lease)) this.leaseTtls.set(lease, ttl);
  }

  private put(key: string, value: Uint8Array, lease: string | undefined, modRevision: number): KeyPut {
    return { type: 'put', key, value, lease, leaseTtl: lease === undefined ? undefined : this.leaseTtls.get(lease), modRevision };
  }

  private setKey(key: string, modRevision: number, lease: string | undefined): void {
    const old = this.leases.get(key);
    if (old !== lease) {
      if (lease !== undefined) {
        this.leaseRefs.set(lease, (this.leaseRefs.get(lease) ?? 0) + 1);
        this.leases.set(key, lease);
      } else {
        this.leases.delete(key);
      }
      if (old !== undefined) this.unref(old);
    }
    this.keys.set(key, modRevision);
  }

  private deleteKey(key: string): void {
    if (!this.keys.delete(key)) return;
    const lease = this.leases.get(key);
    if (lease !== undefined) {
      this.leases.delete(key);
      this.unref(lease);
    }
  }

  private unref(lease: string): void {
    const n = (this.leaseRefs.get(lease) ?? 0) - 1;
    if (n > 0) {
      this.leaseRefs.set(lease, n);
    } else {
      this.leaseRefs.delete(lease);
      this.leaseTtls.delete(lease);
    }
  }
}
