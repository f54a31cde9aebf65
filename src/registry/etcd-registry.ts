/**
 * EtcdRegistry: the seed design's Registry (Name/Init/Register/Unregister/GetService) on etcd,
 * writing the SkyDNS format so every registered instance is answered by the DNS server (A/AAAA
 * and SRV) at once, and reading it back through one mirror for SDK-side discovery.
 */
import type { Etcd3 } from 'etcd3';
import { systemClock, type Clock } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import { createEtcdClient } from '../etcd/client.js';
import { Discovery } from './discovery.js';
import {
  domainKeyPrefix,
  instanceKey,
  instanceValue,
  normalizeInstance,
  normalizeInstanceId,
  normalizeServiceName,
  resolveOptions,
  RegistryValidationError,
  type ResolvedRegistryOptions,
} from './instance.js';
import { EtcdRegistration } from './registration.js';
import type { Registration, Registry, RegistryOptions, Service, ServiceInstance } from './types.js';

interface Ready {
  readonly o: ResolvedRegistryOptions;
  readonly client: Etcd3;
  readonly log: Logger;
  readonly clock: Clock;
}

export class EtcdRegistry implements Registry {
  private ready: Ready | undefined;
  private readonly registrations = new Map<string, EtcdRegistration>();
  private discovery: Discovery | undefined;
  private closing: Promise<void> | undefined;

  /** With options, initialised at once (synchronously); otherwise call init(). */
  constructor(options?: RegistryOptions) {
    if (options !== undefined) this.setup(options);
  }

  name(): string {
    return 'etcd';
  }

  /**
   * Validates the options and builds the (tuned) etcd client. Does not contact etcd: an
   * application may start while etcd is down; register() and getService() wait for it.
   */
  async init(options: RegistryOptions, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.setup(options);
  }

  private setup(options: RegistryOptions): void {
    if (this.closing) throw new Error('registry: closed');
    if (this.ready) throw new Error('registry: already initialised');
    const o = resolveOptions(options);
    const client = createEtcdClient({
      endpoints: options.endpoints,
      caFile: options.caFile,
      certFile: options.certFile,
      keyFile: options.keyFile,
      username: options.username,
      password: options.password,
    });
    this.ready = { o, client, log: options.logger ?? silentLogger(), clock: options.clock ?? systemClock };
  }

  private need(): Ready {
    if (this.closing) throw new Error('registry: closed');
    if (!this.ready) throw new Error('registry: init() first');
    return this.ready;
  }

  /** The DNS name and etcd key an instance gets (validates; fills in a default id). */
  describe(instance: ServiceInstance): { key: string; name: string } {
    const r = this.need();
    const inst = normalizeInstance(instance, r.o.domain);
    return { key: instanceKey(inst, r.o), name: `${inst.id}.${inst.service}.${r.o.domain}` };
  }

  /**
   * Writes the instance under a new lease and keeps it registered (see registration.ts) until
   * unregister() or close(). Resolves once the key is in etcd; while etcd is unreachable it
   * waits (and keeps trying) - pass a signal to bound that. An abort stops the registration.
   */
  async register(instance: ServiceInstance, signal?: AbortSignal): Promise<Registration> {
    const r = this.need();
    signal?.throwIfAborted();
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
      onStopped: () => {
        if (this.registrations.get(key) === reg) this.registrations.delete(key);
      },
    });
    this.registrations.set(key, reg);
    reg.start();
    try {
      await raceAbort(reg.whenRegistered(), signal);
    } catch (err) {
      await reg.stop().catch(() => undefined);
      throw err;
    }
    return reg;
  }

  /**
   * Revokes the registration's lease (the key vanishes at once). An instance this registry
   * does not hold (e.g. a previous process's, by id) is deleted from etcd directly.
   */
  async unregister(instance: ServiceInstance | Registration, signal?: AbortSignal): Promise<void> {
    const r = this.need();
    signal?.throwIfAborted();
    let key: string;
    if (instance instanceof EtcdRegistration) {
      key = instance.key;
    } else if (isRegistration(instance)) {
      key = instance.key;
    } else {
      if (instance?.id === undefined) {
        throw new RegistryValidationError('registry: unregister needs the instance id (or pass the Registration that register() returned)');
      }
      key = instanceKey({ id: normalizeInstanceId(instance.id), service: normalizeServiceName(instance.service) }, r.o);
    }
    const reg = this.registrations.get(key);
    if (reg) {
      this.registrations.delete(key);
      await raceAbort(reg.stop(), signal);
      return;
    }
    await raceAbort(r.client.delete().key(key).exec().then(() => undefined), signal);
  }

  /** The instances of a service, from the local cache (the first call waits for its sync). */
  async getService(name: string, signal?: AbortSignal): Promise<Service> {
    const service = normalizeServiceName(name);
    const d = this.discover();
    await d.ready(signal);
    return d.service(service);
  }

  /** Names of the services that have instances (from the cache; waits for the first sync). */
  async listServices(signal?: AbortSignal): Promise<string[]> {
    const d = this.discover();
    await d.ready(signal);
    return d.services();
  }

  watch(name: string, signal?: AbortSignal): AsyncIterable<Service> {
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
   * the keys then expire within the TTL), stops discovery and its watches, closes the client.
   * Never rejects.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const r = this.ready;
    if (!r) return;
    const regs = [...this.registrations.values()];
    this.registrations.clear();
    const results = await Promise.allSettled(regs.map((reg) => reg.stop()));
    for (const res of results) if (res.status === 'rejected') r.log.warn({ err: (res.reason as Error).message }, 'unregister on close failed');
    await this.discovery?.stop();
    r.client.close();
  }

  private discover(): Discovery {
    const r = this.need();
    if (!this.discovery) {
      this.discovery = new Discovery({ client: r.client, keyPrefix: domainKeyPrefix(r.o), registry: r.o, logger: r.log, clock: r.clock });
    }
    return this.discovery;
  }
}

function isRegistration(x: unknown): x is Registration {
  return typeof x === 'object' && x !== null && typeof (x as Registration).key === 'string' && typeof (x as Registration).leaseId === 'function';
}

/** `p`, or the signal's reason if it aborts first. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  let onAbort: () => void;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      onAbort = () => reject(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
    }),
  ]).finally(() => signal.removeEventListener('abort', onAbort));
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
