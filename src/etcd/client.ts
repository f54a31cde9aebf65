import { readFileSync } from 'node:fs';
import { ExponentialBackoff, handleWhen, noop, retry, type IBackoff } from 'cockatiel';
import type { Etcd3, IOptions } from 'etcd3';
import { errorMessage } from '../errors.js';
import { redactUrlCredentials } from '../net.js';
import { etcd3 } from './etcd3.js';
import { EtcdOptionsError } from './errors.js';

/**
 * Where etcd is and how to authenticate: the fields the server, the registry SDK and the CLI's
 * etcd commands all take (declared here, once, beside the client factory that reads them).
 */
export interface EtcdConnection {
  /** `http://host:port` or `https://host:port`; a bare `host:port` gets https:// when TLS files are given, http:// otherwise. */
  endpoints: readonly string[];
  /** PEM CA bundle that signed etcd's server certificate; without it https:// uses the system roots. */
  caFile?: string;
  /** PEM client certificate for mutual TLS; needs keyFile. */
  certFile?: string;
  /** PEM private key of certFile. */
  keyFile?: string;
  username?: string;
  password?: string;
}

/** How to reach etcd. Built once per process into one tuned etcd3 client (see createEtcdClient). */
export interface EtcdConnectionOptions extends EtcdConnection {
  /**
   * Deadline of every unary call in ms, connecting included (default 5000). etcd3 declares a
   * `dialTimeout` option but never reads it, so this is where a "how long may a call wait for
   * etcd" setting can actually take effect. Streams (watch, lease keepalive) get no deadline.
   */
  dialTimeoutMs?: number;
}

const DEFAULT_CALL_TIMEOUT_MS = 5000;

/**
 * The etcd3 options this package runs with, validated and with the TLS files read. Split from
 * createEtcdClient so the choices can be checked without a server.
 */
export function etcdClientOptions(o: EtcdConnectionOptions): IOptions {
  if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) {
    throw new EtcdOptionsError('etcd: at least one endpoint is required');
  }
  const tlsFiles = o.caFile !== undefined || o.certFile !== undefined || o.keyFile !== undefined;
  const hosts = o.endpoints.map((e) => normalizeEndpoint(e, tlsFiles));
  const secure = hosts.filter((h) => h.startsWith('https://')).length;
  if (secure !== 0 && secure !== hosts.length) {
    // etcd3 throws too, but without saying which endpoints.
    throw new EtcdOptionsError(`etcd: endpoints mix https:// and http://: ${hosts.join(', ')}`);
  }
  if (tlsFiles && secure === 0) {
    // etcd3 would silently use TLS anyway (credentials win over the scheme); say it instead.
    throw new EtcdOptionsError(`etcd: TLS files are set but the endpoints are http://: ${hosts.join(', ')}`);
  }
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) {
    throw new EtcdOptionsError('etcd: certFile and keyFile go together (mutual TLS needs both)');
  }
  if ((o.username === undefined) !== (o.password === undefined)) {
    throw new EtcdOptionsError('etcd: username and password go together');
  }
  if (o.username !== undefined && o.username === '') throw new EtcdOptionsError('etcd: username is empty');
  const callTimeoutMs = o.dialTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  if (!Number.isFinite(callTimeoutMs) || callTimeoutMs <= 0) {
    throw new EtcdOptionsError(`etcd: dialTimeoutMs must be a positive number of milliseconds, got ${String(o.dialTimeoutMs)}`);
  }

  const options: IOptions = {
    hosts,
    grpcOptions: {
      // Detect a dead peer on an otherwise silent watch stream (etcd3 has no liveness check of
      // its own: a half-open TCP connection would leave the mirror stale forever). Not below
      // 5 s: etcd's --grpc-keepalive-min-time defaults to 5 s and it GOAWAYs faster pingers.
      // No keepalive_permit_without_calls either: etcd's policy refuses idle pings too.
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      // grpc-js refuses messages over 4 MiB by default. Range pages are bounded by the mirror,
      // but one watch response carries up to 1000 revisions of events (a txn's events, or a
      // large delete's, can be many per revision); Go's clientv3 allows math.MaxInt32.
      'grpc.max_receive_message_length': 2 ** 31 - 1,
    },
    // Unary calls only: a deadline on the watch or lease-keepalive stream would kill it.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: {
      // etcd3's default per-host circuit breaker (open 5 s after 3 failures) is what made
      // recovery take 5 s+ after etcd came back (reference §2.5); with one endpoint it only
      // adds blackout. The global retry still moves a failed call to another host.
      // cockatiel's maxAttempts counts retries: 3 tries in all, each with its own deadline.
      host: () => noop,
      global: retry(handleWhen(etcd3().isRecoverableError), {
        maxAttempts: 2,
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }),
      }),
      // Default max is 30 s. The mirror re-creates its watch on its own schedule, but other
      // watchers on this client (a registrar's) rely on etcd3's.
      // etcd3 types this as an IBackoff but calls .next() on it as a factory (namespace.ts
      // passes it to WatchManager as `initialBackoff`), which is what ExponentialBackoff is.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2_000 }) as unknown as IBackoff<unknown>,
    },
  };

  if (tlsFiles) {
    const credentials: { rootCertificate?: Buffer; privateKey?: Buffer; certChain?: Buffer } = {};
    if (o.caFile !== undefined) credentials.rootCertificate = readPem(o.caFile, 'caFile', 'CERTIFICATE');
    if (o.certFile !== undefined) credentials.certChain = readPem(o.certFile, 'certFile', 'CERTIFICATE');
    if (o.keyFile !== undefined) credentials.privateKey = readPem(o.keyFile, 'keyFile', 'PRIVATE KEY');
    // etcd3 types rootCertificate as required, but hands it to grpc.credentials.createSsl,
    // which uses the system roots when it is absent (client cert against a public CA).
    options.credentials = credentials as NonNullable<IOptions['credentials']>;
  }
  if (o.username !== undefined && o.password !== undefined) {
    options.auth = {
      username: o.username,
      password: o.password,
      // The token exchange would otherwise inherit nothing and could hang on a dead endpoint.
      callOptions: () => ({ deadline: Date.now() + callTimeoutMs }),
    };
  }
  return options;
}

/** One etcd3 client for the process, tuned to recover within ~2 s of etcd answering again. */
export function createEtcdClient(o: EtcdConnectionOptions): Etcd3 {
  return new (etcd3().Etcd3)(etcdClientOptions(o));
}

function normalizeEndpoint(endpoint: string, tls: boolean): string {
  const e = endpoint.trim();
  if (e === '') throw new EtcdOptionsError('etcd: empty endpoint');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(e) ? e : `${tls ? 'https' : 'http'}://${e}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new EtcdOptionsError(`etcd: endpoint ${JSON.stringify(redactUrlCredentials(endpoint))} is not a URL or host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EtcdOptionsError(`etcd: endpoint ${JSON.stringify(redactUrlCredentials(endpoint))}: only http:// and https:// are supported`);
  }
  if (url.port === '') {
    throw new EtcdOptionsError(`etcd: endpoint ${JSON.stringify(redactUrlCredentials(endpoint))} has no port (etcd's client port is usually 2379)`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new EtcdOptionsError(`etcd: endpoint ${JSON.stringify(redactUrlCredentials(endpoint))} must not have a path or query`);
  }
  // etcd3 strips the scheme and hands host:port to gRPC; keep exactly scheme://host:port.
  return `${url.protocol}//${url.host}`;
}

/** Reads a PEM file, failing with the file's name and role rather than gRPC's vague TLS error later. */
function readPem(path: string, role: string, label: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw new EtcdOptionsError(`etcd: cannot read ${role} ${path}: ${errorMessage(err)}`, { cause: err });
  }
  if (!data.toString('latin1').includes(label)) {
    throw new EtcdOptionsError(`etcd: ${role} ${path} does not look like PEM (no "${label}" block)`);
  }
  return data;
}
