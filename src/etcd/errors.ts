/** Errors the etcd source throws on purpose; callers branch on `code` (see src/errors.ts). */
import { EtcdnsError } from '../errors.js';

/** Connection or mirror options that cannot work (endpoints, TLS files, credentials, page size). */
export class EtcdOptionsError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_ETCD_OPTIONS';
}

/** The mirror was stopped: start() after stop(), or synced() of a mirror stopped before its first sync. */
export class EtcdMirrorStoppedError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_ETCD_MIRROR_STOPPED';
}
