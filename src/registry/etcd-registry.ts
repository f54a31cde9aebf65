/**
 * EtcdRegistry: the seed design's Registry (Name/Init/Register/Unregister/GetService) on etcd,
 * writing the SkyDNS format so every registered instance is answered by the DNS server (A/AAAA
 * and SRV) at once, and reading it back through one mirror for SDK-side discovery.
 */
import { EventEmitter } from 'node:events';
import type { Etcd3 } from 'etcd3';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { createEtcdClient } from '../etcd/client.js';
import { Discovery } from './discovery.js';
import { closedError, RegistryError, unavailable } from './errors.js';
import {
  checkTimeout,
  domainKeyPrefix,
  instanceDnsName,
  instanceKey,
  instanceValue,
  normalizeInstance,
  normalizeInstanceId,
  normalizeServiceName,
  normalizeSrvName,
  resolveOptions,
  RegistryValidationError,
  type ResolvedRegistryOptions,
} from './instance.js';
import { adaptLogger } from './log.js';
import { EtcdRegistration } from './registration.js';
import type { ConflictEvent, RegisterOptions, Registration, Registry, RegistryOptions, Service, ServiceInstance } from './types.js';
import { abortedError, bounded, waitOptions, type WaitOptions } from './wait.js';

interface Ready {
  readonly o: ResolvedRegistryOptions;
  readonly client: Etcd3;
  /** Whether close() closes the client: not when the caller passed their own. */
  readonly ownsClient: boolean;
  readonly log: Logger;
  readonly clock: Clock;
}

/** The registry's own events: a registration's conflict, also for one register() refused (whose Registration the caller never gets). */
export interface RegistryEvents {
  conflict: [event: ConflictEvent];
}

export class EtcdRegistry extends EventEmitter<RegistryEvents> implements Registry {
  private ready: Ready | undefined;
  private readonly registrations = new Map<string, EtcdRegistration>();
  private discovery: Discovery | undefined;
  private closing: Promise<void> | undefined;

  /** With options, initialised at once (synchronously); otherwise call init(). */
  constructor(options?: RegistryOptions) {
    super();
    if (options !== undefined) this.setup(options);
  }

  name(): string {
    return 'etcd';
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Validates the options and builds the (tuned) etcd client. Does not contact etcd: an
   * application may start while etcd is down; register() and getService() wait for it, bounded.
   */
  async init(options: RegistryOptions, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortedError(signal, 'init');
    this.setup(options);
  }

  private setup(options: RegistryOptions): void {
    if (this.closing) throw closedError();
    if (this.ready) throw new RegistryError('ETCDNS_ERR_REGISTRY_ALREADY_INITIALISED', 'registry: already initialised (init() once, or options in the constructor)');
    const o = resolveOptions(options);
    let client = options.client;
    if (client === undefined) {
      try {
        client = createEtcdClient({
          endpoints: options.endpoints!,
          caFile: options.caFile,
          certFile: options.certFile,
          keyFile: options.keyFile,
          username: options.username,
          password: options.password,
        });
      } catch (err) {
        // A bad endpoint or an unreadable TLS file: the options' fault, said as such.
        throw new RegistryValidationError(`registry: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    this.ready = Object.freeze({ o, client, ownsClient: options.client === undefined, log: adaptLogger(options.logger), clock: options.clock ?? systemClock });
  }

  private need(): Ready {
    if (this.closing) throw closedError();
    if (!this.ready) throw new RegistryError('ETCDNS_ERR_REGISTRY_NOT_INITIALISED', 'registry: init() first (or pass the options to the constructor)');
    return this.ready;
  }

  /** The DNS name and etcd key an instance gets (validates; fills in a default id). */
  describe(instance: ServiceInstance): { key: string; name: string } {
    const r = this.need();
    const inst = normalizeInstance(instance, r.o.domain);
    return { key: instanceKey(inst, r.o), name: instanceDnsName(inst, r.o.domain) };
  }

  /**
   * Writes the instance under a new lease and keeps it registered (see registration.ts) until
   * unregister() or close(). Resolves once the key is in etcd; rejects with a coded error when
   * that takes longer than `registerTimeoutMs` (ETCDNS_ERR_REGISTRY_TIMEOUT), when another live
   * process holds the key (ETCDNS_ERR_REGISTRY_CONFLICT, unless `takeover`), or on abort - and
   * then nothing stays registered.
   */
  async register(instance: ServiceInstance, options?: AbortSignal | RegisterOptions): Promise<Registration> {
    const r = this.need();
    const call: RegisterOptions = waitOptions(options);
    if (call.signal?.aborted) throw abortedError(call.signal, 'register');
    const timeoutMs = call.timeoutMs === undefined ? r.o.registerTimeoutMs : checkTimeout(call.timeoutMs, 'timeoutMs');
    const inst = normalizeInstance(instance, r.o.domain);
    const key = instanceKey(inst, r.o);
    if (this.registrations.has(key)) {
      throw new RegistryValidationError(`registry: ${inst.service}/${inst.id} is already registered by this registry (${key})`);
    }
    const reg: EtcdRegistration = new EtcdRegistration({
      client: r.client,
      key,
      value: instanceValue(inst),
      instance: inst,
      leaseTtlSeconds: r.o.leaseTtlSeconds,
      maxBackoffMs: r.o.maxBackoffMs,
      logger: r.log,
      clock: r.clock,
      takeover: call.takeover === true,
      onStopped: () => {
        if (this.registrations.get(key) === reg) this.registrations.delete(key);
      },
    });
    reg.on('conflict', (e) => {
      if (this.listenerCount('conflict') > 0) this.emit('conflict', e);
    });
    let lastError: unknown;
    reg.on('error', (err) => (lastError = err));
    this.registrations.set(key, reg);
    reg.start();
    try {
      await bounded(reg.whenRegistered(), {
        what: `register ${key}`,
        timeoutMs,
        signal: call.signal,
        clock: r.clock,
        hint: 'etcd unreachable or slow; the last failure is the cause',
        cause: () => lastError,
      });
    } catch (err) {
      await reg.stop().catch(() => undefined);
      throw err;
    }
    return reg;
  }

  /**
   * Revokes the registration's lease (the key vanishes at once). An instance this registry
   * does not hold (a previous process's, by id) is deleted from etcd directly - unless another
   * live lease holds it: that process would put it straight back, so this rejects with
   * ETCDNS_ERR_REGISTRY_NOT_OWNED instead of reporting a success that is not one.
   */
  async unregister(instance: ServiceInstance | Registration, options?: AbortSignal | WaitOptions): Promise<void> {
    const r = this.need();
    const call = checkedWait(options);
    if (call.signal?.aborted) throw abortedError(call.signal, 'unregister');
    let key: string;
    if (instance instanceof EtcdRegistration || isRegistration(instance)) {
      key = instance.key;
    } else {
      if (instance?.id === undefined) {
        throw new RegistryValidationError('registry: unregister needs the instance id (or pass the Registration that register() returned)');
      }
      key = instanceKey({ id: normalizeInstanceId(instance.id), service: normalizeServiceName(instance.service), ...normalizeSrvName(instance) }, r.o);
    }
    const wait = (p: Promise<void>) => bounded(p, { what: `unregister ${key}`, timeoutMs: call.timeoutMs ?? r.o.registerTimeoutMs, signal: call.signal, clock: r.clock });
    const reg = this.registrations.get(key);
    if (reg) {
      this.registrations.delete(key);
      await wait(reg.stop());
      return;
    }
    await wait(this.deleteForeign(r, key));
  }

  private async deleteForeign(r: Ready, key: string): Promise<void> {
    try {
      const kv = (await r.client.get(key).exec()).kvs[0];
      if (kv === undefined) return;
      const holder = String(kv.lease);
      if (holder !== '0' && Number((await r.client.leaseClient.leaseTimeToLive({ ID: holder })).TTL) > 0) {
        throw new RegistryError(
          'ETCDNS_ERR_REGISTRY_NOT_OWNED',
          `registry: ${key} is held by lease ${holder} of another live registration, which would put it back; stop that process (or its registration) instead`,
        );
      }
      // Only what was read: a registration that took the key meanwhile is not deleted.
      await r.client.if(key, 'Mod', '==', Number(kv.mod_revision)).then(r.client.delete().key(key)).commit();
    } catch (err) {
      throw unavailable(`unregister ${key}`, err);
    }
  }

  /**
   * The instances of a service, from the local cache. Only the first call waits: for the first
   * sync with etcd, at most `syncTimeoutMs` (ETCDNS_ERR_REGISTRY_TIMEOUT after that).
   */
  async getService(name: string, options?: AbortSignal | WaitOptions): Promise<Service> {
    const service = normalizeServiceName(name);
    const d = this.discover();
    await d.ready(checkedWait(options));
    return d.service(service);
  }

  /** Names of the services that have instances (from the cache; waits for the first sync, bounded). */
  async listServices(options?: AbortSignal | WaitOptions): Promise<string[]> {
    const d = this.discover();
    await d.ready(checkedWait(options));
    return d.services();
  }

  /**
   * The current Service, then one per change. Ends (without an error) on abort or close(),
   * also when called after close(); throws ETCDNS_ERR_REGISTRY_TIMEOUT if the first sync takes
   * longer than `syncTimeoutMs`.
   */
  watch(name: string, signal?: AbortSignal): AsyncIterable<Service> {
    if (this.closing) return { [Symbol.asyncIterator]: async function* () {} };
    const service = normalizeServiceName(name);
    const d = this.discover();
    return { [Symbol.asyncIterator]: () => d.watch(service, signal) };
  }

  /** Registrations this registry currently holds. */
  registered(): Registration[] {
    return [...this.registrations.values()];
  }

  /**
   * Revokes every lease (all at once, each bounded: etcd down costs at most a few seconds, and
   * the keys then expire within the TTL), stops discovery and its watches, closes the client
   * (unless it was passed in). Never rejects; final: every later call fails with
   * ETCDNS_ERR_REGISTRY_CLOSED, and watch() ends at once.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  /** `await using registry = new EtcdRegistry({...})`: close() at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async doClose(): Promise<void> {
    const r = this.ready;
    if (!r) return;
    const regs = [...this.registrations.values()];
    this.registrations.clear();
    const results = await Promise.allSettled(regs.map((reg) => reg.stop()));
    for (const res of results) if (res.status === 'rejected') r.log.warn({ err: (res.reason as Error).message }, 'unregister on close failed');
    await this.discovery?.stop();
    if (r.ownsClient) r.client.close();
  }

  private discover(): Discovery {
    const r = this.need();
    if (!this.discovery) {
      this.discovery = new Discovery({
        client: r.client,
        keyPrefix: domainKeyPrefix(r.o),
        registry: r.o,
        logger: r.log,
        clock: r.clock,
        syncTimeoutMs: r.o.syncTimeoutMs,
      });
    }
    return this.discovery;
  }
}

function checkedWait(options: AbortSignal | WaitOptions | undefined): WaitOptions {
  const w = waitOptions(options);
  if (w.timeoutMs !== undefined) checkTimeout(w.timeoutMs, 'timeoutMs');
  return w;
}

function isRegistration(x: unknown): x is Registration {
  return typeof x === 'object' && x !== null && typeof (x as Registration).key === 'string' && typeof (x as Registration).leaseId === 'function';
}

