/**
 * A name resolver for @grpc/grpc-js (>= 1.14): after `registerEtcdResolver(grpc, registry)` a
 * channel target `etcd:///payments` resolves to the live instances of service `payments`, and
 * follows them as they come and go (driven by `registry.watch`).
 *
 * @grpc/grpc-js is an optional peer dependency: this module only imports its *types*, and the
 * caller hands in the module itself. That is also what makes it work at all: grpc-js keeps its
 * resolver table in a module-global, so the resolver must be registered on the very module
 * instance the application's channels come from (a second copy in node_modules has its own
 * table, and `etcd:` targets would fail there with "No resolver could be created").
 *
 * Availability comes first, as with DNS-based discovery: while etcd is unreachable the channel
 * keeps the last good list (grpc-js itself keeps the previous list when a resolver reports an
 * error, and we do not even report one once a list exists). An error (UNAVAILABLE) is reported
 * only while there has never been a list. An empty list is pushed only for a real removal
 * (the registry said, with fresh data, that the service has no instances).
 */
import type * as Grpc from '@grpc/grpc-js';
import { backoffDelay, type BackoffPolicy } from '../backoff.js';
import { errorMessage, isEtcdnsError } from '../errors.js';
import { formatHostPort } from '../net.js';
import { RegistryValidationError } from './instance.js';
import type { Registry, Service } from './types.js';

type GrpcModule = typeof Grpc;
type Endpoint = Grpc.experimental.Endpoint;
type ResolverListener = Grpc.experimental.ResolverListener;
type GrpcUri = Grpc.experimental.GrpcUri;
type ResolverConstructor = Parameters<GrpcModule['experimental']['registerResolver']>[1];

/** The part of a Registry the resolver uses (`closed`, when there, makes close() final for it). */
export type ResolverRegistry = Pick<Registry, 'watch'> & Partial<Pick<Registry, 'closed'>>;

export interface EtcdResolverOptions {
  /** URI scheme of the targets (`etcd:///payments`). Default `etcd`. */
  scheme?: string;
  /**
   * How long a channel waits for its first list before it is told UNAVAILABLE, in ms (default
   * 3000). The registry's watch says nothing until its first sync with etcd, so without this a
   * channel created while etcd is down would queue calls until their deadlines instead of
   * failing fast. The list is still delivered whenever it comes.
   */
  firstListTimeoutMs?: number;
}

export const DEFAULT_FIRST_LIST_TIMEOUT_MS = 3000;

export const DEFAULT_RESOLVER_SCHEME = 'etcd';

/**
 * Channel options that select round robin across the resolved instances. grpc-js's default
 * policy is pick_first, which sends every call to one instance.
 */
export const ROUND_ROBIN_CHANNEL_OPTIONS: Readonly<Record<string, string>> = Object.freeze({
  'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
});

/**
 * Registers the `etcd` scheme (or `options.scheme`) on `grpc`, the @grpc/grpc-js module the
 * application's channels are created from. `registry` may be a function returning it, called
 * whenever a channel starts (or restarts) its watch, so that this can run before the registry
 * exists. Registering the same scheme again replaces the previous registration (grpc-js's rule).
 *
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * registerEtcdResolver(grpc, registry);
 * const client = new PaymentsClient('etcd:///payments', grpc.credentials.createInsecure(), ROUND_ROBIN_CHANNEL_OPTIONS);
 * ```
 */
export function registerEtcdResolver(grpc: GrpcModule, registry: ResolverRegistry | (() => ResolverRegistry), options: EtcdResolverOptions = {}): void {
  const scheme = options.scheme ?? DEFAULT_RESOLVER_SCHEME;
  grpc.experimental.registerResolver(scheme, createEtcdResolverClass(grpc, registry, { ...options, scheme }));
}

/**
 * The resolver class `registerEtcdResolver` registers, for callers that register it themselves
 * (and for tests, which drive it without a channel).
 */
export function createEtcdResolverClass(grpc: GrpcModule, registry: ResolverRegistry | (() => ResolverRegistry), options: EtcdResolverOptions = {}): ResolverConstructor {
  const scheme = options.scheme ?? DEFAULT_RESOLVER_SCHEME;
  checkGrpc(grpc);
  // RFC 3986 scheme syntax; grpc-js's URI parser would never hand us a target otherwise.
  if (!/^[a-z][a-z0-9+.-]*$/i.test(scheme)) throw new RegistryValidationError(`etcd resolver: invalid URI scheme ${JSON.stringify(scheme)}`);
  const getRegistry = typeof registry === 'function' ? registry : () => registry;
  const firstListTimeoutMs = options.firstListTimeoutMs ?? DEFAULT_FIRST_LIST_TIMEOUT_MS;
  if (!Number.isFinite(firstListTimeoutMs) || firstListTimeoutMs < 0) {
    throw new RegistryValidationError(`etcd resolver: firstListTimeoutMs must be a number of ms >= 0, got ${String(options.firstListTimeoutMs)}`);
  }

  return class EtcdResolver extends EtcdResolverImpl {
    constructor(target: GrpcUri, listener: ResolverListener, _channelOptions: Grpc.ChannelOptions) {
      super(grpc, getRegistry, { scheme, firstListTimeoutMs }, target, listener);
    }

    /** The :authority of calls (and the TLS server name): the service name. */
    static getDefaultAuthority(target: GrpcUri): string {
      const parsed = serviceFromTarget(target, scheme);
      if ('error' in parsed) throw new RegistryValidationError(parsed.error);
      return parsed.service;
    }
  };
}

/** grpc-js before 1.14 has an object listener (`onSuccessfulResolution`); we only speak the new one. */
function checkGrpc(grpc: GrpcModule): void {
  const experimental = (grpc as Partial<GrpcModule> | undefined)?.experimental;
  if (typeof experimental?.registerResolver !== 'function') {
    throw new RegistryValidationError('etcd resolver: pass the @grpc/grpc-js module itself (import * as grpc from "@grpc/grpc-js")');
  }
  if (typeof experimental.statusOrFromValue !== 'function' || typeof experimental.statusOrFromError !== 'function') {
    throw new RegistryValidationError('etcd resolver: needs @grpc/grpc-js 1.14 or later (its resolver API changed in 1.14.0)');
  }
}

/** `etcd:///payments` -> `payments`. */
function serviceFromTarget(target: GrpcUri, scheme: string): { service: string } | { error: string } {
  const service = target.path.replace(/^\/+/, '');
  if (service === '' && target.authority) {
    // `etcd://payments` parses as authority "payments" with an empty path: an easy slip.
    return { error: `etcd resolver: ${scheme}://${target.authority} has no service name; write ${scheme}:///${target.authority} (three slashes)` };
  }
  if (service === '') return { error: `etcd resolver: target has no service name (write ${scheme}:///SERVICE)` };
  if (service.includes('/')) return { error: `etcd resolver: ${JSON.stringify(service)} is not a service name (no "/" allowed)` };
  return { service };
}

/** Backoff between watch restarts: 250 ms doubling to 5 s, with jitter. */
const WATCH_RESTART_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 5_000, jitter: 'equal' };

const TRACER = 'etcd_resolver';

interface EndpointList {
  readonly endpoints: Endpoint[];
  /** Sorted `host:port` list: what decides whether a list changed. */
  readonly key: string;
}

/**
 * One resolver per channel. The watch runs from the first `updateResolution` until `destroy`;
 * everything the channel hears comes from that loop, never synchronously from a call the
 * channel made (grpc-js's contract for resolvers).
 */
class EtcdResolverImpl {
  private readonly service: string | undefined;
  private readonly targetError: string | undefined;
  /** The running watch loop's controller; undefined before the first updateResolution and after destroy. */
  private controller: AbortController | undefined;
  /** The last list that came from fresh (non-stale) registry data, or a stale one when nothing better was ever seen. */
  private lastGood: EndpointList | undefined;
  /** Whether the channel has been given a list since this resolver (re)started. */
  private delivered = false;
  /** Fires when the first list is late (see EtcdResolverOptions.firstListTimeoutMs). */
  private firstListTimer: NodeJS.Timeout | undefined;
  private readonly firstListTimeoutMs: number;

  constructor(
    private readonly grpc: GrpcModule,
    private readonly getRegistry: () => ResolverRegistry,
    options: { scheme: string; firstListTimeoutMs: number },
    target: GrpcUri,
    private readonly listener: ResolverListener,
  ) {
    this.firstListTimeoutMs = options.firstListTimeoutMs;
    const parsed = serviceFromTarget(target, options.scheme);
    if ('error' in parsed) this.targetError = parsed.error;
    else this.service = parsed.service;
  }

  /**
   * The channel calls this when it starts, when it leaves idle and after connection failures,
   * often in bursts. The watch already pushes every change, so all this needs to do is make
   * sure the watch is running; re-sending an unchanged list would only make round_robin
   * rebuild its subchannel list.
   */
  updateResolution(): void {
    if (this.controller) return;
    const controller = new AbortController();
    this.controller = controller;
    this.firstListTimer = setTimeout(() => {
      this.firstListTimer = undefined;
      this.deliverLastGoodOrError(`no answer from the registry within ${this.firstListTimeoutMs} ms (is etcd reachable?)`);
    }, this.firstListTimeoutMs);
    // The timer must not keep a process alive that has nothing else to do.
    this.firstListTimer.unref();
    // run() handles the registry's failures itself; this only catches a listener that throws,
    // which must not become an unhandled rejection that ends the application.
    this.run(controller.signal).catch((error: unknown) => this.trace(`service ${JSON.stringify(this.service)}: resolver loop failed: ${String(error)}`));
  }

  /** Stops the watch. A later updateResolution starts it again (the channel left idle). */
  destroy(): void {
    this.controller?.abort();
    this.controller = undefined;
    clearTimeout(this.firstListTimer);
    this.firstListTimer = undefined;
    // The channel dropped its load balancer with the list: the next start must deliver again.
    this.delivered = false;
  }

  private async run(signal: AbortSignal): Promise<void> {
    // Never call the listener synchronously from updateResolution (grpc-js's rule), even
    // when the registry factory throws at once.
    await Promise.resolve();
    if (this.targetError !== undefined) {
      if (!signal.aborted) this.reportError(this.targetError);
      return;
    }
    const service = this.service!;
    let attempt = 0;
    while (!signal.aborted) {
      let registry: ResolverRegistry | undefined;
      try {
        registry = this.getRegistry();
        if (isClosed(registry)) return this.closedForGood();
        for await (const update of registry.watch(service, signal)) {
          if (signal.aborted) break;
          attempt = 0;
          this.onUpdate(update);
        }
        if (signal.aborted) break;
        if (isClosed(registry)) return this.closedForGood();
        // The registry's watch retries on its own; ending without being asked to is unexpected.
        this.onFailure(new Error('the registry watch ended'));
      } catch (error) {
        if (signal.aborted) break;
        // A closed registry never comes back: retrying would hold the process open for ever
        // (grpc-js may re-create resolvers after the application closed the registry).
        if ((registry && isClosed(registry)) || isEtcdnsError(error, 'ETCDNS_ERR_REGISTRY_CLOSED')) return this.closedForGood();
        this.onFailure(error);
      }
      await sleep(backoffDelay(WATCH_RESTART_BACKOFF, attempt++), signal);
    }
  }

  /** The final word after close(): an error the channel fails its calls with, and no timer left. */
  private closedForGood(): void {
    clearTimeout(this.firstListTimer);
    this.firstListTimer = undefined;
    this.delivered = false;
    this.lastGood = undefined;
    this.reportError(`etcd resolver: service ${JSON.stringify(this.service)}: the registry is closed`);
  }

  private onUpdate(update: Pick<Service, 'instances' | 'stale'>): void {
    const list = toEndpointList(update.instances);
    if (update.stale) {
      // Data the registry could not confirm with etcd. With a list in hand, keep it (the whole
      // point of client-side caching during an outage). Without one, a stale list is still
      // better than failing every call; an empty stale one is no list at all.
      if (!this.lastGood || !this.delivered) {
        if (!this.lastGood && list.endpoints.length > 0) this.lastGood = list;
        this.deliverLastGoodOrError('etcd is unreachable and nothing is cached');
      }
      return;
    }
    const changed = this.lastGood?.key !== list.key;
    this.lastGood = list;
    if (changed || !this.delivered) this.deliver(list);
  }

  private onFailure(error: unknown): void {
    const message = errorMessage(error);
    this.trace(`service ${JSON.stringify(this.service)}: watch failed: ${message}`);
    this.deliverLastGoodOrError(message);
  }

  /**
   * After a restart (channel back from idle) during an etcd outage, the last good list is still
   * the best answer; only when there never was one does the channel hear an error.
   */
  private deliverLastGoodOrError(reason: string): void {
    if (this.delivered) return;
    if (this.lastGood) this.deliver(this.lastGood);
    else this.reportError(`etcd resolver: service ${JSON.stringify(this.service)}: ${reason}`);
  }

  private deliver(list: EndpointList): void {
    this.delivered = true;
    clearTimeout(this.firstListTimer);
    this.firstListTimer = undefined;
    this.trace(`service ${JSON.stringify(this.service)}: [${list.key}]`);
    const note = list.endpoints.length === 0 ? `service ${JSON.stringify(this.service)} has no instances in etcd` : '';
    // A copy: the load balancer may keep (and reorder) what it is given.
    const endpoints = list.endpoints.map((e) => ({ addresses: e.addresses.map((a) => ({ ...a })) }));
    this.listener(this.grpc.experimental.statusOrFromValue(endpoints), {}, null, note);
  }

  private reportError(details: string): void {
    this.trace(details);
    this.listener(this.grpc.experimental.statusOrFromError({ code: this.grpc.status.UNAVAILABLE, details }), {}, null, details);
  }

  private trace(text: string): void {
    // Shown with GRPC_TRACE=etcd_resolver GRPC_VERBOSITY=DEBUG, like grpc-js's own tracers.
    this.grpc.experimental.trace(this.grpc.logVerbosity.DEBUG, TRACER, text);
  }
}

/**
 * Endpoints for the instances that can be dialled: a port in 1..65535 (SkyDNS data may carry
 * no port, or -1 for "no SRV"), a host; duplicates (same host:port) once.
 */
function toEndpointList(instances: readonly { readonly host: string; readonly port: number }[]): EndpointList {
  const seen = new Set<string>();
  const endpoints: Endpoint[] = [];
  for (const instance of instances) {
    const port = instance.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535) continue;
    // `[::1]` as some writers put it; grpc-js wants the bare address.
    const host = instance.host.startsWith('[') && instance.host.endsWith(']') ? instance.host.slice(1, -1) : instance.host;
    if (host === '') continue;
    const id = formatHostPort(host, port);
    if (seen.has(id)) continue;
    seen.add(id);
    endpoints.push({ addresses: [{ host, port }] });
  }
  return { endpoints, key: [...seen].sort().join(',') };
}

/** A function, not an inline check: `closed` is a getter that close() flips while a watch runs. */
function isClosed(registry: ResolverRegistry): boolean {
  return registry.closed === true;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    // Unref'd: a resolver waiting to retry must not keep a finished process alive.
    const timer = setTimeout(done, ms).unref();
    signal.addEventListener('abort', done, { once: true });
  });
}
