/**
 * DNS UPDATE's wiring: the update stage's parts from the config and the running etcd source.
 * Cross-option checks live here, where the keys and the etcd source are known: a grant must
 * name a configured TSIG key, and updates need etcd zones to write to.
 */
import type { UpdateStageOptions } from '../chain/update.js';
import { ConfigError } from '../config/errors.js';
import type { ServeConfig } from '../config/serve-options.js';
import { toPresentation, type Name } from '../dns/name.js';
import type { TsigKey } from '../dns/tsig-key.js';
import type { EtcdLeaseGrant, EtcdTxn } from '../update/writer.js';
import { NetworkAcl } from '../forward/acl.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../ops/metrics.js';
import { unstorable } from '../skydns/update-records.js';
import { UpdatePolicy, formatGrant } from '../update/policy.js';
import { UpdateWriter } from '../update/writer.js';

export interface UpdateDeps {
  /** The etcd source: its transaction RPC, and when this replica serves a revision. */
  readonly etcd: { readonly txn: EtcdTxn; readonly leaseGrant: EtcdLeaseGrant; served(revision: number): Promise<boolean> } | undefined;
  /** Whether a zone file defines zone `origin` (such zones are not updated). */
  readonly hasZoneFile: (origin: Name) => boolean;
  readonly tsigKeys: ReadonlyMap<Name, TsigKey>;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** The update stage's options; undefined when no update is allowed (UPDATE then gets NOTIMP). */
export function updateStageOptions(config: ServeConfig, d: UpdateDeps): UpdateStageOptions | undefined {
  if (config.updatePolicy.length === 0 && config.updateAllow.length === 0) return undefined;
  const option = config.updatePolicy.length > 0 ? '--update-policy' : '--update-allow';
  const etcd = d.etcd;
  if (!etcd || config.etcdZone.length === 0) throw new ConfigError(`${option}: updates are written to etcd zones; set --etcd and --etcd-zone`);
  for (const grant of config.updatePolicy) {
    if (!d.tsigKeys.has(grant.key)) {
      throw new ConfigError(`--update-policy "${formatGrant(grant)}": no --tsig-key or --tsig-key-file key is named ${toPresentation(grant.key)}`);
    }
  }
  const policy = new UpdatePolicy(config.updatePolicy, new NetworkAcl(config.updateAllow, 'update-allow'));
  if (config.updateLeaseMinMs > config.updateLeaseMaxMs) throw new ConfigError('--update-lease-min is longer than --update-lease-max');
  const writer = new UpdateWriter({
    txn: etcd.txn,
    prefix: config.etcdPrefix,
    lease: { grant: etcd.leaseGrant, min: config.updateLeaseMinMs / 1000, max: config.updateLeaseMaxMs / 1000 },
  });
  const etcdZones = new Set(config.etcdZone);
  return {
    zoneKind: (origin) => (d.hasZoneFile(origin) ? 'file' : etcdZones.has(origin) ? 'etcd' : undefined),
    refusal: (key, address, updates) => policy.refusal(key, address, updates),
    unstorable: (zone, rr) => (rr.data ? unstorable(zone, rr.name, rr.data, rr.ttl) : undefined),
    write: (zone, update) => writer.write(zone, update),
    served: (revision) => etcd.served(revision),
    observe: (zone, outcome) => d.metrics.updates?.update(zone, outcome),
    logger: d.logger.child({ component: 'update' }),
  };
}
