/**
 * An UPDATE as one etcd transaction (docs/etcd-data.md, "Written by DNS UPDATE"): take the
 * UPDATE records of every name it mentions at one revision R, evaluate prerequisites and
 * changes (semantics.ts), then commit every put and delete in one transaction whose compares
 * hold only if nothing it read changed since R:
 * - `mod_revision < R+1` over each name's record-key range: no key there modified or created
 *   since R, by anyone (another replica, the SDK, etcdctl);
 * - `mod_revision = M` for each record read: none of them deleted.
 * The records at R come from this replica's mirror (etcd/mirror-values.ts: the values of exactly
 * UPDATE's keys, at the revision the replica serves), so a write is one etcd round trip. That is
 * still serialisable however far the mirror trails etcd: the compares cover every key the
 * evaluation read, so the transaction commits only if etcd still holds, at the commit, exactly
 * what was read at R, as if read and written at one instant. A mirror behind etcd fails the
 * compares like a concurrent write; the transaction's failure branch reads the ranges, so the
 * next attempt evaluates etcd's current records (at the failed transaction's revision) without
 * another round trip. Before the mirror's first list, the first read is a read-only transaction.
 * A refusal or a no-op judged from the mirror is confirmed by the same compares (nothing
 * written) before it is answered, so that it is as current as a write.
 * One case the compares cannot catch: etcd restored from an older backup (or replaced) reuses
 * revisions, so a key written after the restore can carry a revision the mirror has already
 * applied for other data. The source offers no view while etcd is unreachable, and the mirror
 * re-lists when it notices (a revision below its own, another cluster ID), but an UPDATE in
 * the moment between etcd answering again and that re-list is judged from the data before the
 * restore, as DNS answers are.
 * A bounded number of attempts (the mirror's read not counted); etcd applies a transaction whole
 * or not at all, so an UPDATE is never partly written.
 */
import type { ICompare, IRequestOp, ITxnRequest, ITxnResponse } from 'etcd3';
import { RRType, Rcode } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import { prefixRangeEnd } from '../etcd/etcd-kv.js';
import type { KeptKv, KeptValuesView } from '../etcd/mirror-values.js';
import { nameToKey } from '../skydns/codec.js';
import { inItsPlace, LABEL_PREFIX, ownKeyHoldsPtr, readOwnPtr, readRecord, recordKey, recordKeyPrefixes, recordValue } from '../skydns/update-records.js';
import { recordHash, type UpdateLease, type UpdateMessage } from '../wire/update.js';
import { evaluate, namesOf, type HeldRecord, type Verdict, type ZoneRules } from './semantics.js';

/** etcd's `--max-txn-ops` default: more compares or operations in one transaction are refused. */
const MAX_TXN_OPS = 128;
/** Attempts before an UPDATE that keeps meeting concurrent writes is answered SERVFAIL. */
const DEFAULT_MAX_ATTEMPTS = 5;

/** etcd's transaction RPC (the client's `kv.txn`), passed in so that tests and callers choose the client. */
export type EtcdTxn = (request: ITxnRequest) => Promise<ITxnResponse>;

/** etcd's LeaseGrant RPC: a lease of `ttl` seconds; resolves with its ID. */
export type EtcdLeaseGrant = (ttl: number) => Promise<string>;

export interface UpdateWriterOptions {
  readonly txn: EtcdTxn;
  /** --etcd-prefix, normalised. */
  readonly prefix: string;
  readonly maxAttempts?: number;
  /**
   * Update Lease (RFC 9664): how leases are granted, and the bounds a client's lease is
   * clamped to (--update-lease-min, --update-lease-max, seconds).
   */
  readonly lease: { readonly grant: EtcdLeaseGrant; readonly min: number; readonly max: number };
  /**
   * This replica's mirror of UPDATE's keys (updateKeys below), read on the first attempt instead
   * of etcd; without it, or before its first list, every attempt reads etcd first.
   */
  readonly view?: () => KeptValuesView | undefined;
}

/**
 * The keys whose values the writer reads from the mirror: record keys (last label `_rr-…`) and,
 * under arpa, every key (a name's own key holds its PTR). Nothing else is kept.
 */
export function updateKeys(prefix: string): (key: string, lastSlash: number) => boolean {
  const arpa = `${nameToKey('arpa', prefix)}/`;
  return (key, lastSlash) => key.startsWith(LABEL_PREFIX, lastSlash + 1) || key.startsWith(arpa);
}

/** What became of an UPDATE: committed (at `revision`, or nothing to write), or a verdict. */
export type WriteOutcome =
  | {
      readonly kind: 'done';
      readonly revision: number;
      readonly written: number;
      readonly attempts: number;
      /** Seconds of the lease the added records were written under (RFC 9664 §4), when the update asked for one. */
      readonly lease?: UpdateLease;
      /** Records written under that lease. */
      readonly leased?: number;
    }
  | { readonly kind: 'refused'; readonly verdict: Verdict; readonly attempts: number };

/** One range of keys an UPDATE reads: a name's record keys (`key` a prefix), or its own key. */
interface ReadRange {
  readonly name: Name;
  readonly key: string;
  readonly start: Buffer;
  readonly end: Buffer | undefined;
  readonly own: boolean;
}

/** Every range's keys at one revision: from the mirror, or from etcd. */
interface Read {
  readonly revision: number;
  readonly fromView: boolean;
  readonly kvs: readonly (readonly KeptKv[])[];
}

/** The ranges as a transaction read them (its success branch, or the failure branch of a commit whose compares failed). */
function fromResponses(ranges: readonly ReadRange[], response: ITxnResponse): Read {
  if (response.responses.length !== ranges.length) throw new Error(`etcd answered ${response.responses.length} reads for ${ranges.length}`);
  return {
    revision: Number(response.header.revision),
    fromView: false,
    kvs: response.responses.map((r) =>
      r.response_range.kvs.map((kv) => ({
        key: kv.key.toString('utf8'),
        value: kv.value,
        modRevision: Number(kv.mod_revision),
        lease: kv.lease === undefined || String(kv.lease) === '0' ? undefined : String(kv.lease),
      })),
    ),
  };
}

interface HeldKey extends HeldRecord {
  readonly key: string;
  readonly modRevision: number;
  /** The etcd lease the key is attached to, if any. */
  readonly lease: string | undefined;
}

export class UpdateWriter {
  readonly #o: UpdateWriterOptions;

  constructor(options: UpdateWriterOptions) {
    this.#o = options;
  }

  /**
   * Applies `update` to `zone` (an etcd zone). With an Update Lease, the records it adds are
   * written under a new etcd lease of the (clamped) length asked, those already there too:
   * that is the refresh (the same UPDATE again). Without one, they are written without a
   * lease (permanent), a record that had one included. The old lease, left without keys,
   * expires by itself. `rules`: the zone's prescan and file layer (semantics.ts `evaluate`).
   */
  async write(zone: Name, update: UpdateMessage, rules: ZoneRules = { prescan: () => undefined }): Promise<WriteOutcome> {
    const { prefix } = this.#o;
    const granted = update.lease && {
      lease: this.#clamp(update.lease.lease),
      keyLease: update.lease.keyLease === undefined ? undefined : this.#clamp(update.lease.keyLease),
    };
    let lease: string | undefined;
    const names = namesOf(update.prerequisites, update.updates);
    // What each name's records are read from: its record keys (at the apex, two prefixes: see
    // recordKeyPrefixes), and under arpa its own key (a PTR).
    const ranges: ReadRange[] = names.flatMap((name) => {
      const own = nameToKey(name, prefix);
      return [
        ...recordKeyPrefixes(prefix, zone, name).map((p) => {
          const start = Buffer.from(p, 'utf8');
          return { name, key: p, start, end: prefixRangeEnd(start) as Buffer | undefined, own: false };
        }),
        ...(ownKeyHoldsPtr(name) ? [{ name, key: own, start: Buffer.from(own, 'utf8'), end: undefined, own: true }] : []),
      ];
    });
    // The read requests: etcd's failure branch carries them, so a failed compare returns the current records at once.
    const reads: IRequestOp[] = ranges.map((r) => ({ request_range: { key: r.start, ...(r.end ? { range_end: r.end } : {}) } }));
    const maxAttempts = this.#o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    // The first attempt reads this replica's mirror, when it has listed (no etcd round trip).
    let read: Read | undefined = this.#fromView(ranges);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      read ??= fromResponses(ranges, await this.#o.txn({ success: reads }));
      const { revision, fromView } = read;
      const held = this.#held(zone, ranges, read.kvs);
      const compare: ICompare[] = [
        ...ranges.map((r) => ({ key: r.start, ...(r.end ? { range_end: r.end } : {}), target: 'Mod' as const, result: 'Less' as const, mod_revision: revision + 1 })),
        ...[...held.values()].flat().map((r) => ({ key: Buffer.from(r.key, 'utf8'), target: 'Mod' as const, result: 'Equal' as const, mod_revision: r.modRevision })),
      ];
      const planned = this.#plan(zone, update, rules, held, granted !== undefined, compare.length, attempt);
      if ('outcome' in planned) {
        // Judged from the mirror, which may trail etcd: answered only once etcd confirms that
        // nothing read has changed since (the same compares, nothing written), so that a
        // refusal or a no-op is as current as a committed write.
        if (fromView && compare.length > MAX_TXN_OPS) {
          // Too many compares for one transaction (a large update refused): read etcd instead.
          read = undefined;
          attempt--;
          continue;
        }
        if (fromView) {
          const confirmed = await this.#o.txn({ compare, success: [], failure: reads });
          if (!confirmed.succeeded) {
            read = fromResponses(ranges, confirmed);
            attempt--; // the mirror's view does not count as an attempt
            continue;
          }
        }
        return planned.outcome.kind === 'done' ? { ...planned.outcome, revision, lease: granted } : planned.outcome;
      }
      const { ops, puts } = planned;
      // One lease for every attempt: granted when there is first something to put under it.
      if (granted && puts > 0 && lease === undefined) lease = await this.#o.lease.grant(granted.lease);
      if (lease !== undefined) for (const op of ops) if (op.request_put) op.request_put.lease = lease;
      const committed = await this.#o.txn({ compare, success: ops, failure: reads });
      if (committed.succeeded) {
        return { kind: 'done', revision: Number(committed.header.revision), written: ops.length, attempts: attempt, lease: granted, leased: lease ? puts : 0 };
      }
      // Someone wrote in between (or the mirror was behind): the failure branch read everything again, at the revision it failed.
      read = fromResponses(ranges, committed);
      // The mirror's view does not count as an attempt: it may only have been behind.
      if (fromView) attempt--;
    }
    return { kind: 'refused', verdict: { rcode: Rcode.SERVFAIL, reason: `the records changed under ${maxAttempts} attempts in a row` }, attempts: maxAttempts };
  }

  /** Every range as this replica's mirror holds it, at the revision it applied; undefined before its first list. */
  #fromView(ranges: readonly ReadRange[]): Read | undefined {
    const view = this.#o.view?.();
    const revision = view?.revision;
    if (view === undefined || revision === undefined) return undefined;
    return {
      revision,
      fromView: true,
      kvs: ranges.map((r) => {
        if (r.own) {
          const kv = view.get(r.key);
          return kv ? [kv] : [];
        }
        // A record-key range `<name key>/_rr-`: the kept keys below the name key that start so.
        return view.children(r.key.slice(0, r.key.lastIndexOf('/'))).filter((kv) => kv.key.startsWith(r.key));
      }),
    };
  }

  /** The UPDATE records held at each name, from what was read of each range. */
  #held(zone: Name, ranges: readonly ReadRange[], kvs: readonly (readonly KeptKv[])[]): Map<Name, HeldKey[]> {
    const { prefix } = this.#o;
    const held = new Map<Name, HeldKey[]>();
    kvs.forEach((rangeKvs, i) => {
      const { name, key: start, own } = ranges[i]!;
      const records = held.get(name) ?? [];
      for (const kv of rangeKvs) {
        const label = `${LABEL_PREFIX}${kv.key.slice(start.length)}`;
        if (!own && label.includes('/')) continue;
        const read = own ? readOwnPtr(kv.value) : readRecord(label, kv.value);
        // A record under the other apex prefix than its type's is not one UPDATE wrote, nor one the index answers there.
        const record = read && (own || inItsPlace(prefix, zone, name, read.data.type, start)) ? read : undefined;
        if (record) records.push({ id: recordHash(record.data), data: record.data, ttl: record.ttl, key: kv.key, modRevision: kv.modRevision, lease: kv.lease });
      }
      held.set(name, records);
    });
    return held;
  }

  /**
   * Prerequisites, then the update section's prescan, then the update (RFC 2136 §3.2-§3.4),
   * over `held`: the operations that commit it, or what to answer without writing.
   */
  #plan(
    zone: Name,
    update: UpdateMessage,
    rules: ZoneRules,
    held: ReadonlyMap<Name, readonly HeldKey[]>,
    leased: boolean,
    compares: number,
    attempt: number,
  ): { readonly outcome: WriteOutcome } | { readonly ops: IRequestOp[]; readonly puts: number } {
    const { prefix } = this.#o;
    const evaluated = evaluate(zone, update, held, rules);
    if ('verdict' in evaluated) return { outcome: { kind: 'refused', verdict: evaluated.verdict, attempts: attempt } };
    const difference = evaluated.difference;
    const relet = difference.readded.filter(({ name, record }) => leased || held.get(name)!.find((r) => r.id === record.id)!.lease !== undefined);
    const puts = [...difference.puts, ...relet].map(({ name, record }) => ({ key: recordKey(prefix, zone, name, record.data.type, record.id), name, record }));
    const crowded = puts.find((p) => p.record.data.type === RRType.PTR && puts.some((q) => q !== p && q.key === p.key));
    const keptPtr = puts.find((p) => p.record.data.type === RRType.PTR && held.get(p.name)!.some((r) => r.key === p.key && r.id !== p.record.id && !difference.deletes.some((d) => d.id === r.id)));
    if (crowded || keptPtr) {
      const name = (crowded ?? keptPtr)!.name;
      return { outcome: { kind: 'refused', verdict: { rcode: Rcode.REFUSED, reason: `SkyDNS holds one PTR per name, in its own key: ${name} has one` }, attempts: attempt } };
    }
    // A key both deleted and written (a PTR replaced) is written: etcd refuses a key twice in one transaction.
    const written = new Set(puts.map((p) => p.key));
    const ops: IRequestOp[] = [
      ...difference.deletes
        .map(({ name, id }) => held.get(name)!.find((r) => r.id === id)!.key)
        .filter((key) => !written.has(key))
        .map((key) => ({ request_delete_range: { key: Buffer.from(key, 'utf8') } })),
      ...puts.map(({ key, record }) => ({
        request_put: { key: Buffer.from(key, 'utf8'), value: Buffer.from(recordValue(record.data, record.ttl), 'utf8') },
      })),
    ];
    if (ops.length === 0) return { outcome: { kind: 'done', revision: 0, written: 0, attempts: attempt } };
    if (compares > MAX_TXN_OPS || ops.length > MAX_TXN_OPS) {
      return { outcome: { kind: 'refused', verdict: { rcode: Rcode.REFUSED, reason: `update needs ${ops.length} writes and ${compares} checks; one etcd transaction holds ${MAX_TXN_OPS}` }, attempts: attempt } };
    }
    return { ops, puts: puts.length };
  }

  #clamp(seconds: number): number {
    return Math.min(this.#o.lease.max, Math.max(this.#o.lease.min, seconds));
  }
}
