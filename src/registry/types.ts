/**
 * The registry SDK's public types: the seed design's `Registry` (Name/Init/Register/Unregister/
 * GetService), plus `watch` and `close`, over the same SkyDNS data the DNS server serves.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { EtcdConnection } from '../etcd/client.js';

/** One instance of a service, as the application describes itself. */
export interface ServiceInstance {
  /** Service name: one or more DNS labels, e.g. `payments` or `payments.team` (letters, digits, `-`, `_`). */
  readonly service: string;
  /**
   * Unique per instance, one DNS label (letters, digits, `-`). Default:
   * `${hostname}-${pid}-${random}` sanitised to a label. Stable across re-registrations of one
   * Registration; a restarted process gets a new one unless it passes its own.
   */
  readonly id?: string;
  /** IP literal (answered as A/AAAA) or a host name (CNAME, and the SRV target). */
  readonly host: string;
  /** 1..65535. */
  readonly port: number;
  /** SRV priority 0..65535 (the DNS server, like CoreDNS, treats 0/absent as 10). */
  readonly priority?: number;
  /** SRV weight 0..65535 (0/absent counts as 100 in the percentage split). */
  readonly weight?: number;
  /** DNS TTL of this instance's records in seconds (the server caps it at the lease TTL). */
  readonly ttl?: number;
  /** String pairs stored with the instance (at most 4 KiB as JSON); DNS ignores them. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Where etcd is (endpoints, TLS files, user and password, as `createEtcdClient` takes them) and what to register under. */
export interface RegistryOptions extends EtcdConnection {
  /** etcd key prefix; default `/skydns` (the DNS server's `--etcd-prefix`). */
  prefix?: string;
  /** DNS domain services live under, e.g. `svc.example.test` (one of the server's `--etcd-zone`s). */
  domain: string;
  /** Lease TTL in seconds, default 10: how long a dead instance stays visible. etcd may raise it to its minimum. */
  leaseTtlSeconds?: number;
  /** Cap of the re-register backoff in ms, default 2000: an instance is back within ~this of etcd's return. */
  maxBackoffMs?: number;
  logger?: Logger;
  clock?: Clock;
}

/** A registered instance as discovery reports it (decoded from the SkyDNS value). */
export interface DiscoveredInstance {
  readonly service: string;
  readonly id: string;
  /** The instance's own DNS name, `<id>.<service>.<domain>` (the SRV target). */
  readonly name: string;
  /** Its etcd key. */
  readonly key: string;
  /** Canonical address text for IP hosts, the lower-cased name otherwise. */
  readonly host: string;
  /** 0 when the value has no port (a plain address record). */
  readonly port: number;
  /** The effective SRV priority (10 when unset, as the DNS server answers). */
  readonly priority: number;
  /** As written; 0 means unset. */
  readonly weight: number;
  readonly ttl: number | undefined;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface Service {
  readonly name: string;
  /** Sorted by id. May be empty: a real removal is reported, never invented (see discovery.ts). */
  readonly instances: readonly DiscoveredInstance[];
  /** true while etcd is unreachable and this is the last known list. */
  readonly stale: boolean;
  /** The etcd revision the local cache reflects. */
  readonly revision: number;
}

export type RegisteredInstance = Required<Pick<ServiceInstance, 'service' | 'id' | 'host' | 'port'>> & ServiceInstance;

export interface RegisteredEvent {
  readonly leaseId: string;
  /** Why: 'register' (first time), 'lease lost', 'key deleted', 'key missing', 'key changed'. */
  readonly reason: string;
}

export type RegistrationState = 'registering' | 'registered' | 'stopped';

export interface Registration {
  /** The etcd key, `${prefix}/<reversed domain>/<reversed service>/<id>`. */
  readonly key: string;
  /** The validated instance (lower-cased names, canonical host, id filled in). */
  readonly instance: RegisteredInstance;
  /** The lease currently holding the key; undefined while (re-)registering or after unregister. */
  readonly leaseId: () => string | undefined;
  /** 'registering' while there is no live lease holding the key (etcd down, re-granting). */
  readonly state: () => RegistrationState;
  /** Each time the key is (re-)written under a live lease. */
  on(event: 'registered', fn: (e: RegisteredEvent) => void): void;
  /** The lease is gone (expired, revoked, unreachable past its TTL): re-registering has begun. */
  on(event: 'lost', fn: (err: Error) => void): void;
  /** A failed attempt (grant, put, check). Informational: the registration keeps retrying. */
  on(event: 'error', fn: (err: Error) => void): void;
  off(event: 'registered' | 'lost' | 'error', fn: (...args: never[]) => void): void;
}

export interface Registry {
  /** 'etcd'. */
  name(): string;
  init(options: RegistryOptions, signal?: AbortSignal): Promise<void>;
  /** Resolves once the key is written under a live lease; keeps it there until unregister/close. */
  register(instance: ServiceInstance, signal?: AbortSignal): Promise<Registration>;
  unregister(instance: ServiceInstance | Registration, signal?: AbortSignal): Promise<void>;
  getService(name: string, signal?: AbortSignal): Promise<Service>;
  /** Yields the current Service, then a new one on each change (coalesced); ends on abort or close(). */
  watch(name: string, signal?: AbortSignal): AsyncIterable<Service>;
  /** Revokes every lease it holds, stops watches. */
  close(): Promise<void>;
}
