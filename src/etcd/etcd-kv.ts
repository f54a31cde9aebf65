/**
 * etcd3's key-values and watch events as the mirror works with them: plain numbers and strings
 * instead of etcd3's string-encoded int64s and protobuf Buffers, so the bookkeeping (MirrorCore)
 * is pure and testable without etcd3. Also etcd's rule for the key range of a prefix.
 */
import type { IKeyValue, IWatchResponse } from 'etcd3';

/** One key-value as the core sees it (decoded from etcd3's IKeyValue). */
export interface RawKv {
  readonly key: string;
  readonly value: Uint8Array;
  /** Decimal lease ID; undefined for no lease (etcd's "0"). */
  readonly lease: string | undefined;
  readonly modRevision: number;
  /** etcd's per-key version: 1 on the put that created the key. */
  readonly version: number;
}

export type RawEvent =
  | { readonly type: 'put'; readonly kv: RawKv; readonly prevModRevision: number | undefined }
  | { readonly type: 'delete'; readonly key: string; readonly modRevision: number; readonly prevModRevision: number | undefined };

/** The exclusive end of the key range holding every key that starts with `prefix` (etcd's rule). */
export function prefixRangeEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  // Empty prefix or all 0xff: every key from the start ("\0" means "to the end" in etcd).
  return Buffer.from([0]);
}

/**
 * Decodes etcd3's key-value. The value stays a view into the gRPC message buffer, not a copy:
 * a copy is one ArrayBuffer per key (~250 bytes of bookkeeping for a 40-byte value, measured:
 * a 1M-key list held ~1M of them at once, and freeing them is GC work). The response is let go
 * once its batch is applied: consumers parse values and must not keep them (the mirror's watch
 * asks for no prev_kv, so a response holds nothing but the changes themselves).
 */
export function rawKv(kv: IKeyValue): RawKv {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value,
    lease: kv.lease === undefined || kv.lease === '' || kv.lease === '0' ? undefined : String(kv.lease),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
  };
}

export function rawEvents(res: IWatchResponse): RawEvent[] {
  return res.events.map((ev): RawEvent => {
    const prevModRevision = ev.prev_kv ? Number(ev.prev_kv.mod_revision) : undefined;
    if (ev.type === 'Put') return { type: 'put', kv: rawKv(ev.kv), prevModRevision };
    return { type: 'delete', key: ev.kv.key.toString('utf8'), modRevision: Number(ev.kv.mod_revision), prevModRevision };
  });
}
