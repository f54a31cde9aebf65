/**
 * The one model of the etcd mirror's status. The mirror keeps a MirrorState; the server's etcd
 * source reports it as a MirrorStatus (metrics, /ready, the --workers IPC), the same fields
 * with the SkyDNS index's counts. Times are `Clock.now()` milliseconds.
 */
export interface MirrorState {
  /** The last contact with etcd succeeded (list or watch), and nothing failed since. */
  readonly connected: boolean;
  /** The first full list has been handed to onBatch. */
  readonly synced: boolean;
  /** The revision the consumer reflects (the last batch's). */
  readonly revision: number;
  /** Clock ms of the last reset batch. */
  readonly lastSyncAt: number | undefined;
  /** Clock ms of the last incremental batch. */
  readonly lastEventAt: number | undefined;
  /** Full re-lists after the first sync (compaction, gap, cluster replaced). */
  readonly relists: number;
  /** Clock ms since etcd has been unreachable; undefined while connected. */
  readonly disconnectedSince: number | undefined;
  /** Keys the consumer holds after the last batch. */
  readonly keys: number;
}

/** The mirror's state as the etcd source reports it: `keys` as the index counts them, plus its records and invalid keys. */
export interface MirrorStatus extends MirrorState {
  /** Revisions etcd is ahead of the mirror, as last measured (etcd/lag.ts); 0 in step. */
  readonly lagRevisions?: number;
  /** Clock ms since when the mirror has been behind etcd; undefined when in step. */
  readonly behindSince?: number;
  /** Keys served as records. */
  readonly records: number;
  /** Keys whose value could not be used. */
  readonly invalid: number;
}
