/**
 * The operations endpoints, with CoreDNS's paths and meanings so that the same Kubernetes
 * probes and Prometheus scrape configs work:
 *
 * - `GET /health`: liveness, 200 `OK` as long as the process can answer HTTP at all. It stays
 *   200 while shutting down (CoreDNS's `lameduck`): a failing liveness probe gets the pod
 *   killed, which is not what draining wants.
 * - `GET /ready`: readiness, 200 `OK` once the data is there and every DNS listener is bound
 *   (app.ts), 503 with one reason per line
 *   otherwise, and 503 from the moment shutdown starts so that load balancers stop sending
 *   queries before the DNS listeners close.
 * - `GET /metrics`: the Prometheus exposition of a registry (one process's, or the workers'
 *   merged by the cluster primary).
 *
 * Each endpoint has its own address, or none; endpoints given the same address share one
 * HTTP server. Plain node:http: three fixed paths need no framework.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { EtcdnsError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { describeBindError, formatHostPort } from '../net.js';

export type OpsEndpoint = 'health' | 'ready' | 'metrics';

export interface OpsAddress {
  readonly host: string;
  /** 0 asks the OS for a free port; two endpoints on port 0 get a port each. */
  readonly port: number;
}

export interface Readiness {
  readonly ready: boolean;
  /** Why not, one short line each (`etcd: initial sync not done`); shown by /ready. */
  readonly reasons: readonly string[];
}

export interface OpsServerOptions {
  /**
   * Where to serve each endpoint; absent (undefined) for not at all (`--health-listen off`).
   * Named like the ServeConfig fields they come from, leaving `metrics` for the Metrics.
   */
  readonly healthListen?: OpsAddress | undefined;
  readonly readyListen?: OpsAddress | undefined;
  readonly metricsListen?: OpsAddress | undefined;
  /** Asked on every GET /ready; must be cheap. */
  readonly isReady: () => Readiness;
  /** What GET /metrics serves: a prom-client Registry, or anything that renders like one. */
  readonly metrics: MetricsExposition;
  readonly logger: Logger;
  /**
   * A connection with no bytes moving for this long is closed, whatever state it is in (idle
   * before its first request, between keep-alive requests, or stalled): a probe or a scrape
   * never needs long, and each open socket is a file descriptor the DNS server also needs.
   * Default IDLE_TIMEOUT_MS.
   */
  readonly idleTimeoutMs?: number;
}

/** See OpsServerOptions.idleTimeoutMs. */
const IDLE_TIMEOUT_MS = 30_000;
/** Connections per ops listener: Prometheus and the kubelet need a handful; the rest wait or are refused. */
const MAX_CONNECTIONS = 256;

/** The part of prom-client's Registry that /metrics needs. */
export interface MetricsExposition {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** Bound endpoints as URLs of their server, `http://127.0.0.1:8080` (the path not included). */
export type OpsUrls = { -readonly [E in OpsEndpoint]?: string };

/** A bind failure, naming the endpoints and the address. */
export class OpsListenError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_OPS_LISTEN';
  constructor(
    readonly endpoints: readonly OpsEndpoint[],
    readonly host: string,
    readonly port: number,
    /** The OS's error code (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...), when there is one; as transport's ListenError. */
    readonly osCode: string | undefined,
    cause: unknown,
  ) {
    const paths = endpoints.map((e) => PATHS[e]).join(' and ');
    const flags = endpoints.map((e) => `--${e}-listen`);
    super(
      `cannot listen for ${paths} on ${formatHostPort(host, port)}: ${describeBindError(osCode, cause)}; set another address with ${flags.map((f) => `${f} HOST:PORT`).join(' and ')}, or turn ${endpoints.length > 1 ? 'them' : 'it'} off with ${flags.map((f) => `${f} off`).join(' and ')}`,
      { cause },
    );
  }
}

/** listen() called on a server that is already listening or closed (a bug in the caller). */
export class OpsServerStateError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_OPS_STATE';
}

const PATHS: Readonly<Record<OpsEndpoint, string>> = { health: '/health', ready: '/ready', metrics: '/metrics' };
const ENDPOINTS: readonly OpsEndpoint[] = ['health', 'ready', 'metrics'];

/**
 * Probes and scrapes are small and quick; a client that takes longer than this to send its
 * request is broken or hostile, and must not hold a socket for Node's default 5 minutes.
 */
const REQUEST_TIMEOUT_MS = 10_000;

const TEXT = 'text/plain; charset=utf-8';

interface Group {
  readonly host: string;
  readonly port: number;
  readonly endpoints: OpsEndpoint[];
}

export class OpsServer {
  readonly #o: OpsServerOptions;
  readonly #servers: Server[] = [];
  #draining = false;
  #state: 'new' | 'listening' | 'closed' = 'new';

  constructor(o: OpsServerOptions) {
    this.#o = o;
  }

  /**
   * Binds every configured endpoint. On failure nothing stays bound and the error (an
   * OpsListenError) names the endpoint and address.
   */
  async listen(): Promise<OpsUrls> {
    if (this.#state !== 'new') throw new OpsServerStateError(`OpsServer.listen: already ${this.#state}`);
    this.#state = 'listening';
    const urls: OpsUrls = {};
    try {
      for (const group of groups(this.#o)) {
        const server = this.#createServer(new Set(group.endpoints));
        const port = await bind(server, group);
        // After the bind, errors (EMFILE on accept, ...) are the listener's, not fatal: an
        // unhandled 'error' would end the process that also serves DNS.
        server.on('error', (error) => this.#o.logger.error({ err: error, endpoints: group.endpoints }, 'ops endpoint error'));
        this.#servers.push(server);
        const url = `http://${formatHostPort(group.host, port)}`;
        for (const endpoint of group.endpoints) urls[endpoint] = url;
      }
    } catch (error) {
      await this.close();
      throw error;
    }
    this.#o.logger.debug({ ...urls }, 'ops endpoints listening');
    return urls;
  }

  /** Lameduck: GET /ready answers 503 `shutting down` from now on; /health stays 200. */
  setDraining(): void {
    this.#draining = true;
  }

  /**
   * Stops listening and drops open connections, keep-alive ones included (Prometheus keeps
   * its connection open between scrapes, and would otherwise hold close() for as long as
   * Node's keep-alive timeout). A scrape cut off by shutdown is of no loss.
   */
  async close(): Promise<void> {
    this.#state = 'closed';
    const servers = this.#servers.splice(0);
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  #createServer(endpoints: ReadonlySet<OpsEndpoint>): Server {
    const server = createServer((req, res) => this.#handle(endpoints, req, res));
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.headersTimeout = REQUEST_TIMEOUT_MS;
    // requestTimeout and headersTimeout only start with a request: a connection that sends
    // nothing was held open forever. An inactivity timeout closes it (and a kept-alive one).
    server.timeout = this.#o.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    server.keepAliveTimeout = Math.min(5000, server.timeout);
    server.maxConnections = MAX_CONNECTIONS;
    // A malformed request, a reset or a timeout on one connection is that client's problem:
    // answer 400/408 if the socket still takes it, and never let it reach 'error' (which,
    // unhandled, would end the process that serves DNS).
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      this.#o.logger.debug({ err: error }, 'bad HTTP request on an ops endpoint');
      if (error.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    });
    return server;
  }

  #handle(endpoints: ReadonlySet<OpsEndpoint>, req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const endpoint = ENDPOINTS.find((e) => PATHS[e] === path && endpoints.has(e));
    if (!endpoint) return send(res, 404, 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'method not allowed\n');
    }
    switch (endpoint) {
      case 'health':
        return send(res, 200, 'OK');
      case 'ready': {
        const { ready, reasons } = this.#readiness();
        return ready ? send(res, 200, 'OK') : send(res, 503, reasons.map((r) => `${r}\n`).join(''));
      }
      case 'metrics':
        return void this.#metrics(res);
    }
  }

  #readiness(): Readiness {
    const reasons: string[] = this.#draining ? ['shutting down'] : [];
    try {
      const state = this.#o.isReady();
      if (!state.ready) reasons.push(...(state.reasons.length > 0 ? state.reasons : ['not ready']));
    } catch (error) {
      // A bug in a readiness check means "not ready", said out loud, not a crash or a hang.
      this.#o.logger.error({ err: error }, 'readiness check failed');
      reasons.push(`readiness check failed: ${errorMessage(error)}`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  async #metrics(res: ServerResponse): Promise<void> {
    const registry = this.#o.metrics;
    let body: string;
    try {
      body = await registry.metrics();
    } catch (error) {
      this.#o.logger.error({ err: error }, 'collecting metrics failed');
      return send(res, 500, 'collecting metrics failed\n');
    }
    send(res, 200, body, registry.contentType);
  }
}

function send(res: ServerResponse, status: number, body: string, contentType = TEXT): void {
  // The client may have gone while /metrics was collected.
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    // Probes must see the state of now, never a cached answer from some proxy.
    'Cache-Control': 'no-store',
  });
  // For HEAD, Node sends the headers only.
  res.end(body);
}

/**
 * Endpoints with the same host and port share a server. Port 0 is "any free port", a
 * different one for each endpoint, as for --listen.
 */
function groups(o: OpsServerOptions): Group[] {
  const out: Group[] = [];
  const byAddress = new Map<string, Group>();
  const addresses: Record<OpsEndpoint, OpsAddress | undefined> = { health: o.healthListen, ready: o.readyListen, metrics: o.metricsListen };
  for (const endpoint of ENDPOINTS) {
    const address = addresses[endpoint];
    if (!address) continue;
    const key = address.port === 0 ? undefined : `${address.host.toLowerCase()} ${address.port}`;
    const existing = key === undefined ? undefined : byAddress.get(key);
    if (existing) {
      existing.endpoints.push(endpoint);
      continue;
    }
    const group: Group = { host: address.host, port: address.port, endpoints: [endpoint] };
    out.push(group);
    if (key !== undefined) byAddress.set(key, group);
  }
  return out;
}

/** Listens and resolves with the bound port; rejects with an OpsListenError. */
function bind(server: Server, group: Group): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(new OpsListenError(group.endpoints, group.host, group.port, error.code, error));
    };
    const onListening = () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : group.port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: group.host, port: group.port });
  });
}


