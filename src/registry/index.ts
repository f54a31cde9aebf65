/**
 * etcdns/registry: register service instances in etcd, in the SkyDNS format the DNS server
 * answers from, and discover them from a local cache. The public surface only: helpers the
 * SDK uses inside (key layout, option resolution) are not part of it.
 *
 * ```ts
 * const registry = new EtcdRegistry();
 * await registry.init({ endpoints: ['http://127.0.0.1:2379'], domain: 'svc.example.test' });
 * installSignalHandlers(registry);                 // optional: revoke on SIGTERM/SIGINT
 * const reg = await registry.register({ service: 'payments', host: '10.0.0.5', port: 8443 });
 * // dig payments.svc.example.test SRV → 10 100 8443 <id>.payments.svc.example.test.
 * const { instances, stale } = await registry.getService('payments');
 * for await (const s of registry.watch('payments', signal)) { ... }
 * await registry.close();                          // revokes: gone from DNS at once
 * ```
 */
export { EtcdRegistry, type RegistryEvents } from './etcd-registry.js';
/** Every error the SDK throws on purpose is an EtcdnsError: branch on its stable `code` (ETCDNS_ERR_…), not on the message. */
export { EtcdnsError, isEtcdnsError } from '../errors.js';
export { REGISTRY_ERROR_CODES, RegistryError, type RegistryErrorCode } from './errors.js';
export { installSignalHandlers, type SignalHandlerOptions } from './signals.js';
export {
  DEFAULT_LEASE_TTL_SECONDS,
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_PREFIX,
  DEFAULT_REGISTER_TIMEOUT_MS,
  DEFAULT_SYNC_TIMEOUT_MS,
  MAX_METADATA_BYTES,
  RegistryValidationError,
} from './instance.js';
export type {
  Clock,
  ConflictEvent,
  DiscoveredInstance,
  EtcdConnection,
  RegisteredEvent,
  RegisteredInstance,
  RegisteredReason,
  RegisterOptions,
  Registration,
  RegistrationEvents,
  RegistrationState,
  Registry,
  RegistryLogger,
  RegistryOptions,
  Service,
  ServiceInstance,
  WaitOptions,
} from './types.js';
