/**
 * The server's chain parts from the validated config and the running subsystems: which
 * stages the server runs (chain/stages.ts decides their order), and the glue between the
 * stages and metrics or logs that only the composition root knows about.
 */
import { hostname } from 'node:os';
import type { ChainParts } from '../chain/stages.js';
import { chaosNames } from '../chain/chaos.js';
import { ReplyCache } from '../chain/reply-cache.js';
import { etcdUnavailable } from '../chain/unavailable.js';
import type { Request } from '../chain/request.js';
import type { ServeConfig } from '../config/serve-options.js';
import { RRType } from '../dns/constants.js';
import { toPresentation, type Name } from '../dns/name.js';
import type { TsigKey } from '../dns/tsig-key.js';
import { NetworkAcl } from '../forward/acl.js';
import type { Forwarder } from '../forward/forwarder.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { LogLimit } from '../log-limit.js';
import type { Metrics } from '../ops/metrics.js';
import type { ZoneFileStatus } from '../sources/zonefile/directory.js';
import { notLoadedReason } from '../sources/zonefile/file-report.js';
import type { RecordTable } from '../table/table.js';
import type { TransferJournal } from '../transfer/journal.js';
import { packageVersion } from '../version.js';

/** The zone label of transfer requests for names that are not one of our zones (any client can send those). */
const OTHER_ZONE = 'other';
const NO_ZONES: ReadonlySet<Name> = new Set();

export interface ChainDeps {
  readonly table: RecordTable;
  readonly journal: TransferJournal;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Monotonic time for the log limits (and the reply-failure log). */
  readonly clock: Clock;
  readonly tsigKeys: ReadonlyMap<Name, TsigKey>;
  readonly rateLimiter?: ChainParts['rateLimiter'];
  readonly forwarder?: Forwarder;
  /** --update-policy, --update-allow: the update stage (app/update.ts). */
  readonly update?: ChainParts['update'];
  /** The zone-file directory, when there is one: the files that never loaded keep their names ours. */
  readonly zoneFiles?: { fileStatus(): readonly ZoneFileStatus[] };
  /** The etcd source, when --etcd is set: whether its zones may be served, and its CHAOS text. */
  readonly etcd?: { servable(): boolean; describe(): string[]; status(): { readonly synced: boolean } };
}

/**
 * Names of zones whose file never loaded, for the authoritative stage. Asked for every name in
 * none of our zones (each forwarded query): the list of failed files is read again at most once
 * a second, so that path costs a clock read while every file is fine.
 */
function notLoadedCheck(zoneFiles: NonNullable<ChainDeps['zoneFiles']>, clock: Clock): (name: Name) => string | undefined {
  let failed: readonly ZoneFileStatus[] = [];
  let readAt = -Infinity;
  return (name) => {
    const now = clock.now();
    if (now - readAt >= 1000) {
      readAt = now;
      failed = zoneFiles.fileStatus().filter((f) => !f.everLoaded && f.errors.length > 0);
    }
    return failed.length === 0 ? undefined : notLoadedReason(failed, name);
  };
}

/** Wall-clock seconds for TSIG times, which are absolute (RFC 8945 §5.2.3). */
const nowSeconds = () => Date.now() / 1000;

export function serverChainParts(config: ServeConfig, d: ChainDeps): ChainParts {
  const { table, metrics, logger, etcd } = d;
  const snapshot = () => table.current;
  const etcdZones: ReadonlySet<Name> = new Set(config.etcdZone);
  const unavailableZones = etcd ? () => (etcd.servable() ? NO_ZONES : etcdZones) : undefined;
  // Said with the SERVFAIL as an Extended DNS Error (RFC 8914).
  const unavailableReason = etcd ? () => etcdUnavailable(etcd.status(), config.maxStaleMs) : undefined;
  const notLoaded = d.zoneFiles ? notLoadedCheck(d.zoneFiles, d.clock) : undefined;
  const recursion = config.forwarding && d.forwarder ? { policy: new NetworkAcl(config.allowRecursion), upstream: d.forwarder } : undefined;
  const countBadTsig = (request: Request, check: { error: string }) => {
    const q = request.decoded.kind === 'query' ? request.decoded.query : undefined;
    if (!q || (q.type !== RRType.AXFR && q.type !== RRType.IXFR)) return;
    const zone = table.current.zones.has(q.name) ? toPresentation(q.name) : OTHER_ZONE;
    metrics.transfers?.transfer({ type: q.type === RRType.AXFR ? 'AXFR' : 'IXFR', zone, outcome: 'bad-tsig', messages: 1, bytes: 0 });
    // Anyone can send a bad signature, from forged addresses: one line a second at most.
    if (badTsigLog.allow()) logger.info({ zone: toPresentation(q.name), client: request.remoteAddress, error: check.error, suppressed: badTsigLog.take() }, 'zone transfer not served: bad TSIG');
  };
  const badTsigLog = new LogLimit(() => d.clock.now());
  return {
    rateLimiter: d.rateLimiter,
    // Only with keys configured: without, a signed query is answered as any other.
    tsig: d.tsigKeys.size > 0 ? { keys: d.tsigKeys, nowSeconds, onInvalid: countBadTsig } : undefined,
    update: d.update,
    nsid: config.nsid !== 'off' ? Buffer.from(config.nsid === 'auto' ? hostname() : config.nsid, 'utf8') : undefined,
    recursion,
    chaos: config.chaos ? chaosNames(packageVersion(), etcd ? [['revision.etcdns', () => etcd.describe()]] : []) : undefined,
    spread: config.rotate === 'on' ? { random: Math.random } : undefined,
    authoritative: { snapshot, cache: new ReplyCache(), logger, now: () => d.clock.now(), unavailableZones, unavailableReason, notLoaded },
    transfer: {
      snapshot,
      journal: d.journal,
      allowedNetworks: new NetworkAcl(config.transferAllow, 'transfer-allow'),
      nowSeconds,
      logger: logger.child({ component: 'transfer' }),
      unavailableZones,
      unavailableReason,
      observe: (e) =>
        metrics.transfers?.transfer({ type: e.type, zone: e.zone === undefined ? OTHER_ZONE : toPresentation(e.zone), outcome: e.outcome, messages: e.messages, bytes: e.bytes }),
    },
  };
}
