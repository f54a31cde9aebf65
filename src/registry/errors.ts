/**
 * The registry SDK's coded errors. Everything the SDK rejects or throws on purpose, and every
 * error it hands to an `error`/`lost`/`conflict` listener, is an EtcdnsError with one of the
 * codes below (the underlying etcd/grpc error, if any, as `cause`), so callers branch on
 * `err.code` as they would on go-micro's `registry.ErrNotFound`, never on message text.
 */
import { EtcdnsError } from '../errors.js';

/** The closed list of codes, in the order docs/registry.md documents them. */
export const REGISTRY_ERROR_CODES = [
  /** A bad option, instance, service name or target (nothing was written). */
  'ETCDNS_ERR_REGISTRY_VALIDATION',
  /** A method other than init() before init() (or without options in the constructor). */
  'ETCDNS_ERR_REGISTRY_NOT_INITIALISED',
  /** init() twice, or after constructing with options. */
  'ETCDNS_ERR_REGISTRY_ALREADY_INITIALISED',
  /** A call after close(), or a wait that close() ended. */
  'ETCDNS_ERR_REGISTRY_CLOSED',
  /** A bounded wait (first sync, register until the first grant) ran out. */
  'ETCDNS_ERR_REGISTRY_TIMEOUT',
  /** The caller's AbortSignal ended the wait; its reason is the `cause`. */
  'ETCDNS_ERR_REGISTRY_ABORTED',
  /** An etcd call failed (grant, put, revoke, delete, ...); the etcd3 error is the `cause`. */
  'ETCDNS_ERR_REGISTRY_UNAVAILABLE',
  /** The lease holding a registration's key is gone; re-registering has begun. */
  'ETCDNS_ERR_REGISTRY_LEASE_LOST',
  /** The instance's key is held by another live lease (another process with the same id). */
  'ETCDNS_ERR_REGISTRY_CONFLICT',
  /** unregister() of an instance another live process holds: it would come straight back. */
  'ETCDNS_ERR_REGISTRY_NOT_OWNED',
] as const;

export type RegistryErrorCode = (typeof REGISTRY_ERROR_CODES)[number];

/** One class for every deliberate failure but validation (which keeps its own class, RegistryValidationError). */
export class RegistryError extends EtcdnsError {
  readonly code: Exclude<RegistryErrorCode, 'ETCDNS_ERR_REGISTRY_VALIDATION'>;

  constructor(code: Exclude<RegistryErrorCode, 'ETCDNS_ERR_REGISTRY_VALIDATION'>, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export const closedError = (): RegistryError => new RegistryError('ETCDNS_ERR_REGISTRY_CLOSED', 'registry: closed');

/** An etcd failure as the SDK reports it (already coded errors pass through). */
export function unavailable(what: string, cause: unknown): EtcdnsError {
  if (cause instanceof EtcdnsError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new RegistryError('ETCDNS_ERR_REGISTRY_UNAVAILABLE', `registry: ${what}: ${detail}`, { cause });
}
