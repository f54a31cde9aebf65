/**
 * DNS UPDATE's wiring: the update stage's parts from the config and the running etcd source.
 */
import type { UpdateStageOptions } from '../chain/update.js';
import type { ServeConfig } from '../config/serve-options.js';
import type { Name } from '../dns/name.js';
import type { EtcdLeaseGrant, EtcdTxn } from '../update/writer.js';
import { NetworkAcl } from '../forward/acl.js';
import type { KeptValuesView } from '../etcd/mirror-values.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../ops/metrics.js';
import { unstorable } from '../skydns/update-records.js';
import type { FileLayer } from '../update/file-layer.js';
import { UpdatePolicy } from '../update/policy.js';
import { UpdateWriter } from '../update/writer.js';

export interface UpdateDeps {
  /** The etcd source: its transaction and lease RPCs, and when this replica serves a revision. */
  readonly etcd:
    | { txn: EtcdTxn; leaseGrant: EtcdLeaseGrant; served(revision: number, timeoutMs: number): Promise<boolean>; readonly values?: KeptValuesView | undefined }
    | undefined;
  /** The zone file's view of zone `origin`, if one defines it (a zone only a file defines is not updated). */
  readonly zoneFile: (origin: Name) => FileLayer | undefined;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** Longest an UPDATE's reply waits for this replica's mirror to serve what it wrote. */
const READ_YOUR_WRITE_MS = 2000;

/** Whether DNS UPDATE is on (then the etcd source keeps UPDATE's record keys for the writer). */
export function updatesEnabled(config: ServeConfig): boolean {
  return config.updatePolicy.length > 0 || config.updateAllow.length > 0;
}

/**
 * The update stage's options; undefined when no update is allowed (UPDATE then gets NOTIMP).
 * The options were checked together at start (config/server-inputs.ts).
 */
export function updateStageOptions(config: ServeConfig, d: UpdateDeps): UpdateStageOptions | undefined {
  if (!updatesEnabled(config)) return undefined;
  const etcd = d.etcd;
  if (!etcd) throw new Error('updates need the etcd source (config/server-inputs.ts checks --etcd)');
  const policy = new UpdatePolicy(config.updatePolicy, new NetworkAcl(config.updateAllow, 'update-allow'));
  const writer = new UpdateWriter({
    txn: (request) => etcd.txn(request),
    prefix: config.etcdPrefix,
    lease: { grant: (ttl) => etcd.leaseGrant(ttl), min: config.updateLeaseMinMs / 1000, max: config.updateLeaseMaxMs / 1000 },
    view: () => etcd.values,
  });
  const etcdZones = new Set(config.etcdZone);
  return {
    zoneKind: (origin) => (etcdZones.has(origin) ? 'etcd' : d.zoneFile(origin) ? 'file' : undefined),
    fileLayer: (origin) => (etcdZones.has(origin) ? d.zoneFile(origin) : undefined),
    refusal: (key, address, updates) => policy.refusal(key, address, updates),
    unstorable: (zone, rr) => (rr.data ? unstorable(zone, rr.name, rr.data, rr.ttl) : undefined),
    write: (zone, update, rules) => writer.write(zone, update, rules),
    served: (revision) => etcd.served(revision, READ_YOUR_WRITE_MS),
    observe: (zone, outcome) => d.metrics.updates?.update(zone, outcome),
    observeLeased: (zone, count) => d.metrics.updates?.leased(zone, count),
    logger: d.logger.child({ component: 'update' }),
  };
}
