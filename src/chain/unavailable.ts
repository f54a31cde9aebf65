/**
 * Why the etcd zones get SERVFAIL, as an Extended DNS Error (RFC 8914): before the first full
 * sync the data is not there yet (Not Ready, §4.15); after etcd has been unreachable longer
 * than --max-stale, the server chooses not to serve what it has (No Reachable Authority, §4.23:
 * etcd is where the authoritative data lives).
 */
import { EdeCode, type ExtendedError } from '../wire/ede.js';

const NOT_SYNCED: ExtendedError = { code: EdeCode.NotReady, text: 'etcd: initial sync not done' };

/** `status`: the etcd mirror's (sources/etcd/mirror-status.ts). */
export function etcdUnavailable(status: { readonly synced: boolean }, maxStaleMs: number): ExtendedError {
  if (!status.synced) return NOT_SYNCED;
  return { code: EdeCode.NoReachableAuthority, text: `etcd unreachable for longer than --max-stale ${maxStaleMs / 1000}s` };
}
