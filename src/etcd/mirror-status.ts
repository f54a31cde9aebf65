/**
 * What the etcd source reports about itself to operations (metrics, readiness): the mirror's
 * connection state with the index's counts. Times are `Clock.now()` milliseconds.
 */
export interface MirrorStatus {
  connected: boolean;
  /** The initial list is done: the mirror holds a complete copy of the prefix. */
  synced: boolean;
  revision: number;
  lastEventAt?: number;
  lastSyncAt?: number;
  keys: number;
  records: number;
  /** Keys whose value could not be used. */
  invalid: number;
  /** Full re-lists since start (after compaction or a watch gap). */
  relists: number;
}
