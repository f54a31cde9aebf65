/**
 * What the etcd mirror hands to the record index: key changes in revision order. The mirror
 * knows etcd, not DNS; the index knows the SkyDNS format, not etcd. This is their contract.
 */

export interface KeyPut {
  readonly type: 'put';
  /** The full etcd key, e.g. `/skydns/test/example/api/x1`. */
  readonly key: string;
  /** A view into the etcd response that carried it: read it, do not keep it (copy if needed). */
  readonly value: Uint8Array;
  /** Lease ID as etcd3 reports it (a decimal string); undefined when the key has no lease. */
  readonly lease: string | undefined;
  /**
   * The TTL the lease was granted with, in seconds, when known. Keepalives reset a lease to
   * this, so the remaining life of the key never exceeds it: capping a record's DNS TTL here
   * keeps answers from outliving the key without an RPC per query.
   */
  readonly leaseTtl: number | undefined;
  readonly modRevision: number;
}

export interface KeyDelete {
  readonly type: 'delete';
  readonly key: string;
  readonly modRevision: number;
}

export type KeyChange = KeyPut | KeyDelete;

/**
 * One step of the mirror. `reset` replaces everything the index holds with `changes` (all
 * puts): the first list, and every re-list after a compaction or a gap. Otherwise `changes`
 * are applied on top of the previous state, in order.
 */
export interface MirrorBatch {
  readonly reset: boolean;
  readonly changes: readonly KeyChange[];
  /** The etcd revision the index reflects once the batch is applied. */
  readonly revision: number;
}
