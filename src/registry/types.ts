/**
 * The registry SDK's public types: the seed design's `Registry` (Name/Init/Register/Unregister/
 * GetService), plus `watch` and `close`, over the same SkyDNS data the DNS server serves.
 */
import type { EventEmitter } from 'node:events';
import type { Etcd3 } from 'etcd3';
import type { Clock } from '../clock.js';
import type { EtcdnsError } from '../errors.js';
import type { EtcdConnection } from '../etcd/client.js';
import type { WaitOptions } from './wait.js';

export type { Clock, EtcdConnection, WaitOptions };

type LogMethod = (...args: never[]) => unknown;

/**
 * pino, console, winston, ...: anything with these four methods. (Declared here, not beside
 * the adapter, so that the SDK's published types never reach the server's pino-based logger.)
 */
export interface RegistryLogger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

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
  /**
   * RFC 2782 port name, e.g. `grpc` or `http` (with `protocol`): the instance is then also
   * answered at `_grpc._tcp.<service>.<domain>` SRV, as Go's `net.LookupSRV("grpc", "tcp", ...)`
   * and Java/dig ask. One label of letters, digits and `-`, without the leading `_`.
   */
  readonly portName?: string;
  /** RFC 2782 protocol, `tcp` or `udp` (default `tcp` when `portName` is given). */
  readonly protocol?: 'tcp' | 'udp';
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
export interface RegistryOptions extends Partial<EtcdConnection> {
  /**
   * An etcd3 client of your own (kratos's `New(client)`), used instead of building one from
   * `endpoints`; the registry never closes it. Give either this or `endpoints`.
   */
  client?: Etcd3;
  /** etcd key prefix; default `/skydns` (the DNS server's `--etcd-prefix`). */
  prefix?: string;
  /** DNS domain services live under, e.g. `svc.example.test` (one of the server's `--etcd-zone`s). */
  domain: string;
  /** Lease TTL in seconds, default 10: how long a dead instance stays visible. etcd may raise it to its minimum. */
  leaseTtlSeconds?: number;
  /** Cap of the re-register backoff in ms, default 2000: an instance is back within ~this of etcd's return. */
  maxBackoffMs?: number;
  /** How long getService/listServices/watch wait for the first sync with etcd, in ms; default 5000. `Infinity`: no bound. */
  syncTimeoutMs?: number;
  /** How long register() waits for the first lease + put, in ms; default 15000. `Infinity`: no bound. */
  registerTimeoutMs?: number;
  /** pino, console, or anything with debug/info/warn/error methods; default: silent. */
  logger?: RegistryLogger;
  clock?: Clock;
}

/** A registered instance as discovery reports it (decoded from the SkyDNS value). */
export interface DiscoveredInstance {
  /** The service name asked for: `greeter` also for an instance registered with portName `grpc`. */
  readonly service: string;
  readonly id: string;
  /** The instance's own DNS name, `<id>.<service>.<domain>` or `<id>._grpc._tcp.<service>.<domain>` (the SRV target). */
  readonly name: string;
  /** Its etcd key. */
  readonly key: string;
  /** Canonical address text for IP hosts, the lower-cased name otherwise. */
  readonly host: string;
  /** 0 when the value has no port (a plain address record). */
  readonly port: number;
  /** RFC 2782 port name (`grpc`) and protocol (`tcp`) when registered with them. */
  readonly portName: string | undefined;
  readonly protocol: string | undefined;
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
  /** While stale: since when (the registry clock's ms, `performance.now()` by default); else undefined. */
  readonly staleSince: number | undefined;
  /** The etcd revision the local cache reflects. */
  readonly revision: number;
}

export type RegisteredInstance = Required<Pick<ServiceInstance, 'service' | 'id' | 'host' | 'port'>> & ServiceInstance;

/** Why a `registered` event fired: the closed list. */
export type RegisteredReason =
  /** The first lease + put. */
  | 'register'
  /** After the lease was lost (expired, revoked, unreachable past its TTL): a new lease. */
  | 'lease lost'
  /** Someone deleted the key while the lease lived: put back. */
  | 'key deleted'
  /** The periodic check found the key missing: put back. */
  | 'key missing'
  /** The periodic check found another value under the key: put back. */
  | 'key changed'
  /** After a conflict ended (the other holder's lease went away): the key is ours again. */
  | 'conflict resolved';

export interface RegisteredEvent {
  readonly leaseId: string;
  readonly reason: RegisteredReason;
}

/** A `conflict` event: the key is held by another live lease (another process with the same id). */
export interface ConflictEvent {
  readonly key: string;
  /** The other holder's lease (decimal). */
  readonly heldBy: string;
  /** What this registration does: 'refused' (waits until the key is free) or 'took over'. */
  readonly outcome: 'refused' | 'took over';
  readonly error: EtcdnsError;
}

export type RegistrationState = 'registering' | 'registered' | 'stopped';

/** The events of a Registration, typed (for EventEmitter's generic parameter). */
export interface RegistrationEvents {
  /** Each time the key is (re-)written under a live lease. */
  registered: [event: RegisteredEvent];
  /** The lease is gone: re-registering has begun (code ETCDNS_ERR_REGISTRY_LEASE_LOST). */
  lost: [error: EtcdnsError];
  /** Another live lease holds the key (code ETCDNS_ERR_REGISTRY_CONFLICT in `error`). */
  conflict: [event: ConflictEvent];
  /** A failed attempt (grant, put, check): informational, it keeps retrying (ETCDNS_ERR_REGISTRY_UNAVAILABLE). */
  error: [error: EtcdnsError];
}

/**
 * A live registration: a Node EventEmitter of RegistrationEvents (so `events.once(reg,
 * 'registered')` and `on()` chaining work). Unlike a plain EventEmitter, an `error` nobody
 * listens to is dropped, never thrown: failed attempts are informational.
 */
export interface Registration extends EventEmitter<RegistrationEvents> {
  /** The etcd key, `${prefix}/<reversed domain>/<reversed service>/<id>`. */
  readonly key: string;
  /** The validated instance (lower-cased names, canonical host, id filled in). */
  readonly instance: RegisteredInstance;
  /** The lease currently holding the key; undefined while (re-)registering or after unregister. */
  readonly leaseId: () => string | undefined;
  /** 'registering' while there is no live lease holding the key (etcd down, re-granting, conflict). */
  readonly state: () => RegistrationState;
  /** Unregisters (revokes the lease): `await using reg = await registry.register(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of one register() call; an AbortSignal alone is accepted too. */
export interface RegisterOptions extends WaitOptions {
  /**
   * When another live lease holds the key (another process registered the same id): false
   * (default) refuses with ETCDNS_ERR_REGISTRY_CONFLICT; true takes the key over (the other
   * process then sees the conflict and stands back).
   */
  readonly takeover?: boolean;
}

export interface Registry {
  /** 'etcd'. */
  name(): string;
  init(options: RegistryOptions, signal?: AbortSignal): Promise<void>;
  /** Resolves once the key is written under a live lease; keeps it there until unregister/close. */
  register(instance: ServiceInstance, options?: AbortSignal | RegisterOptions): Promise<Registration>;
  unregister(instance: ServiceInstance | Registration, options?: AbortSignal | WaitOptions): Promise<void>;
  getService(name: string, options?: AbortSignal | WaitOptions): Promise<Service>;
  /** Yields the current Service, then a new one on each change (coalesced); ends on abort or close(). */
  watch(name: string, signal?: AbortSignal): AsyncIterable<Service>;
  /** Revokes every lease it holds, stops watches. */
  close(): Promise<void>;
  /** Whether close() has been called. */
  readonly closed: boolean;
}
