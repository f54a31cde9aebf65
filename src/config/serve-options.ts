/**
 * The options of `etcdns serve`, as one table.
 *
 * Each entry says everything about one option (see option-spec.ts). The yargs definitions,
 * `--help`, the option table in the docs, the loader and `ServeConfig`'s type are all
 * derived from it, so adding an option is adding one entry here.
 *
 * Defaults are written the way a user would type them (`'10s'`, `['127.0.0.1:1053']`) and go
 * through the same parser as user input: help shows exactly what one could type, and a bad
 * default cannot sneak in (the defaults test parses every one of them).
 */
import { LOG_FORMATS, LOG_LEVELS } from '../log.js';
import {
  DEFAULT_ALLOW_RECURSION,
  MAX_UPSTREAMS,
  formatListenAddress,
  formatUpstream,
  forwardOption,
  listenOrOffOption,
  parseAllowedNetwork,
  parseListenAddress,
  parseUpstream,
} from './addresses.js';
import { parseTsigKeySpec } from '../dns/tsig-key.js';
import { checkEtcdPrefix, parseEtcdUrl, parseEtcdZone } from './etcd-values.js';
import { ValueError } from './errors.js';
import { UPDATE_OPTIONS } from './update-options.js';
import {
  booleanOption,
  byteSizeOption,
  durationOption,
  enumOption,
  integerOption,
  listOption,
  optionalPathOption,
  optionalStringOption,
  stringOption,
  type OptionSpec,
} from './option-spec.js';

// The table. Order is the order of --help and of the documented option table.

export const SERVE_OPTIONS = [
  listOption({
    name: 'listen',
    key: 'listen',
    description:
      'Address to answer DNS on over UDP and TCP, as HOST:PORT (IPv6 as [::1]:53); repeat the flag or separate with commas. Port 0 picks a free port.',
    placeholder: 'HOST:PORT',
    default: ['127.0.0.1:1053'],
    item: parseListenAddress,
    minItems: 1,
    // Binding the same address twice fails late and obscurely (EADDRINUSE); port 0 is a
    // fresh random port each time, so it may repeat.
    identity: (a) => (a.port === 0 ? undefined : formatListenAddress({ host: a.host.toLowerCase(), port: a.port })),
  }),
  integerOption({
    name: 'workers',
    key: 'workers',
    description:
      'Processes answering DNS on the same port (Node cluster; UDP with SO_REUSEPORT per worker on a fixed port); each keeps its own copy of the records, etcd watch and forwarding cache, and the first process serves /health, /ready and /metrics for all. 1 answers from this process alone.',
    default: 1,
    min: 1,
    // Each worker holds a full mirror: more than a big machine has cores is a typo.
    max: 64,
  }),
  enumOption({
    name: 'udp-io',
    key: 'udpIo',
    description:
      'How DNS over UDP is read and written: batch (recvmmsg/sendmmsg through the native addon `npm run build` compiles on Linux; several queries per system call), dgram (Node\'s dgram, one call per datagram), or auto (batch when the addon is built, else dgram).',
    choices: ['auto', 'batch', 'dgram'],
    default: 'auto',
  }),
  stringOption({
    name: 'zones',
    key: 'zones',
    description: 'Directory of zone files, relative to the working directory.',
    placeholder: 'DIR',
    default: 'zones',
    path: true,
  }),
  listOption({
    name: 'etcd',
    key: 'etcd',
    description:
      'etcd endpoints to mirror SkyDNS records from, as http://HOST:PORT or https://HOST:PORT; repeat the flag or separate with commas. None: serve zone files only.',
    placeholder: 'URL',
    default: [],
    item: parseEtcdUrl,
    identity: (url) => url,
  }),
  stringOption({
    name: 'etcd-prefix',
    key: 'etcdPrefix',
    description: 'etcd key prefix of the records (CoreDNS `path`): www.example.com is under PREFIX/com/example/www.',
    placeholder: 'PREFIX',
    default: '/skydns',
    check: checkEtcdPrefix,
  }),
  listOption({
    name: 'etcd-zone',
    key: 'etcdZone',
    description: 'Zone to answer from etcd (e.g. example.com); repeat the flag or separate with commas. Required with --etcd.',
    placeholder: 'ZONE',
    default: [],
    item: parseEtcdZone,
    identity: (zone) => zone,
  }),
  optionalPathOption({
    name: 'etcd-ca',
    key: 'etcdCa',
    description: 'PEM file of the CA certificates that sign the etcd server certificates (https:// endpoints); default: the system CAs.',
    placeholder: 'FILE',
    readableFile: true,
  }),
  optionalPathOption({
    name: 'etcd-cert',
    key: 'etcdCert',
    description: 'PEM client certificate for etcd (mutual TLS); needs --etcd-key.',
    placeholder: 'FILE',
    readableFile: true,
  }),
  optionalPathOption({
    name: 'etcd-key',
    key: 'etcdKey',
    description: 'PEM private key of --etcd-cert.',
    placeholder: 'FILE',
    readableFile: true,
  }),
  optionalStringOption({
    name: 'etcd-username',
    key: 'etcdUsername',
    description: 'etcd user (etcd authentication); needs --etcd-password.',
    placeholder: 'USER',
  }),
  optionalStringOption({
    name: 'etcd-password',
    key: 'etcdPassword',
    description:
      'Password of --etcd-username. Prefer the ETCDNS_ETCD_PASSWORD variable (or the config file): a flag is visible to every user in the process list.',
    placeholder: 'PASSWORD',
    secret: true,
  }),
  durationOption({
    name: 'etcd-default-ttl',
    key: 'etcdDefaultTtlMs',
    description: 'TTL of etcd records that set no "ttl", in whole seconds (1s to 24h).',
    default: '10s',
    min: '1s',
    max: '24h',
    wholeSeconds: true,
  }),
  enumOption({
    name: 'compat',
    key: 'compat',
    description:
      'Answers for etcd zones where the CoreDNS etcd plugin breaks an RFC: rfc keeps the RFC answer (a CNAME answers every type and stays in the answer when its target is missing, RFC 1034 §3.6.2, §4.3.2); coredns gives CoreDNS\'s (NODATA there). Everything else is CoreDNS\'s either way (docs/etcd-data.md).',
    choices: ['rfc', 'coredns'],
    default: 'rfc',
  }),
  durationOption({
    name: 'max-stale',
    key: 'maxStaleMs',
    description:
      'While etcd is unreachable, keep answering etcd zones from the last data seen for this long, then answer SERVFAIL; 0 serves the last data for as long as it takes.',
    default: '0',
  }),
  durationOption({
    name: 'etcd-max-lag',
    key: 'etcdMaxLagMs',
    description:
      'Readiness fails (/ready 503) while the etcd mirror has been behind etcd for longer than this (it checks etcd\'s revision and key count every 5 s); 0: never.',
    default: '30s',
  }),
  integerOption({
    name: 'edns-udp-size',
    key: 'ednsUdpSize',
    description:
      'Largest UDP reply to send, in bytes, whatever a client advertises (RFC 6891 §6.2.5; 1232 avoids IP fragmentation, DNS flag day 2020).',
    default: 1232,
    min: 512,
    max: 4096,
  }),
  durationOption({
    name: 'tcp-idle-timeout',
    key: 'tcpIdleTimeoutMs',
    description: 'Close a TCP connection after this long without a query (500ms, 10s, 2m, 1h, or seconds).',
    default: '10s',
    // 0 would close every connection before its first query could arrive.
    min: '1ms',
  }),
  integerOption({
    name: 'tcp-max-connections',
    key: 'tcpMaxConnections',
    description: 'Most TCP connections open at once, from all clients together.',
    default: 1024,
    min: 1,
  }),
  integerOption({
    name: 'tcp-max-connections-per-client',
    key: 'tcpMaxConnectionsPerClient',
    description: 'Most TCP connections open at once from one client address.',
    default: 64,
    min: 1,
  }),
  integerOption({
    name: 'tcp-max-queries-per-connection',
    key: 'tcpMaxQueriesPerConnection',
    description: 'Close a TCP connection after this many queries; 0 for no limit.',
    default: 0,
    min: 0,
  }),
  integerOption({
    name: 'rate-limit',
    key: 'rateLimit',
    description:
      'Response rate limiting (BIND RRL): UDP replies per second to one client network (/24 IPv4, /56 IPv6), beyond which replies are dropped or slipped; 0 turns it off. TCP is never limited.',
    default: 0,
    min: 0,
    // Beyond what one process can answer at all, a limit limits nothing: surely a typo.
    max: 1_000_000,
  }),
  integerOption({
    name: 'rate-limit-slip',
    key: 'rateLimitSlip',
    description:
      'With --rate-limit: every Nth reply over the limit is sent empty with TC=1 (so real clients retry over TCP) instead of dropped; 0 drops them all (BIND slip).',
    default: 2,
    min: 0,
    // BIND's range: beyond 10 a real client behind a flood waits too long for its TC=1.
    max: 10,
  }),
  booleanOption({
    name: 'forwarding',
    key: 'forwarding',
    description:
      'Forward queries for names outside our zones to upstream resolvers, for clients in --allow-recursion that ask for recursion (--no-forwarding to refuse them).',
    default: true,
  }),
  listOption({
    name: 'upstream',
    key: 'upstream',
    description:
      'Upstream resolver as ADDR[:PORT] (port 53 by default; IPv6 as [2001:db8::1]:53); repeat the flag or separate with commas. None: the nameservers of /etc/resolv.conf, except etcdns itself.',
    placeholder: 'ADDR[:PORT]',
    default: [],
    item: parseUpstream,
    maxItems: MAX_UPSTREAMS,
    identity: formatUpstream,
  }),
  forwardOption({
    name: 'forward',
    key: 'forward',
    description:
      'Forward names at and below DOMAIN to ADDR[:PORT] instead of --upstream, as DOMAIN=ADDR[:PORT]; repeat with the same DOMAIN for more upstreams, or separate with commas.',
    placeholder: 'DOMAIN=ADDR[:PORT]',
    default: [],
  }),
  enumOption({
    name: 'forward-policy',
    key: 'forwardPolicy',
    description: 'Order in which healthy upstreams are tried: random, or sequential (first listed first).',
    choices: ['random', 'sequential'],
    default: 'random',
  }),
  durationOption({
    name: 'forward-timeout',
    key: 'forwardTimeoutMs',
    description: 'How long to wait for one upstream before trying the next.',
    default: '2s',
    min: '1ms',
    // A stub resolver gives up after a few seconds (glibc: 5 s per try, resolv.conf(5)); a
    // longer wait would answer nobody.
    max: '1m',
  }),
  integerOption({
    name: 'forward-max-fails',
    key: 'forwardMaxFails',
    description: 'Consecutive failures after which an upstream counts as down and is probed until it answers (CoreDNS max_fails).',
    default: 2,
    min: 1,
  }),
  durationOption({
    name: 'forward-health-check',
    key: 'forwardHealthCheckMs',
    description: 'Interval of the probes (". IN NS") sent to an upstream marked down.',
    default: '500ms',
    // Probes go to servers that are already struggling: no faster than 10 per second.
    min: '100ms',
    max: '1h',
  }),
  integerOption({
    name: 'forward-max-concurrent',
    key: 'forwardMaxConcurrent',
    description:
      'Most client queries being forwarded at once; more are answered REFUSED at once rather than queued (CoreDNS max_concurrent).',
    default: 1000,
    min: 1,
  }),
  listOption({
    name: 'allow-recursion',
    key: 'allowRecursion',
    description:
      'Client networks (CIDR) whose queries for other names are forwarded; other clients get REFUSED. Default: loopback, private, CGNAT, ULA and link-local networks.',
    placeholder: 'CIDR',
    default: DEFAULT_ALLOW_RECURSION,
    item: parseAllowedNetwork,
    identity: (cidr) => cidr,
  }),
  integerOption({
    name: 'cache-entries',
    key: 'cacheEntries',
    description: 'Most answers from upstreams kept in the cache; 0 turns the cache off.',
    default: 10_000,
    min: 0,
  }),
  byteSizeOption({
    name: 'cache-bytes',
    key: 'cacheBytes',
    description: 'Most memory the cached answers may take, in bytes or with k, m or g (1k = 1024), e.g. 64m.',
    default: '64m',
    // One DNS message can be 64 KiB (TCP); a smaller cache could not hold it. It also catches
    // `--cache-bytes 64` written for 64 MiB.
    min: 64 * 1024,
  }),
  durationOption({
    name: 'cache-max-ttl',
    key: 'cacheMaxTtlMs',
    description: 'Longest time an answer from upstream is cached, whatever its TTL; whole seconds.',
    default: '1h',
    min: '1s',
    // RFC 8767 §4 caps TTLs at 7 days.
    max: '168h',
    wholeSeconds: true,
  }),
  durationOption({
    name: 'cache-max-negative-ttl',
    key: 'cacheMaxNegativeTtlMs',
    description: 'Longest time a negative answer (NXDOMAIN, NODATA; RFC 2308) is cached; whole seconds, 0 to not cache them.',
    default: '30m',
    // RFC 2308 §5: "values exceeding one day have been found to be problematic".
    max: '24h',
    wholeSeconds: true,
  }),
  durationOption({
    name: 'serve-stale',
    key: 'serveStaleMs',
    description: 'How long past expiry a cached answer may still be served when no upstream answers (RFC 8767); whole seconds, 0 turns it off.',
    default: '1h',
    // The cache counts in the seconds of DNS TTLs.
    wholeSeconds: true,
  }),
  enumOption({
    name: 'log-level',
    key: 'logLevel',
    description: 'Least severe log level written.',
    choices: LOG_LEVELS,
    default: 'info',
  }),
  enumOption({
    name: 'log-format',
    key: 'logFormat',
    description: 'json (one object per line), pretty (for people), or auto (pretty when stdout is a terminal).',
    choices: LOG_FORMATS,
    default: 'auto',
  }),
  booleanOption({
    name: 'log-queries',
    key: 'logQueries',
    description: 'Log one line per query answered.',
    default: false,
  }),
  booleanOption({
    name: 'chaos',
    key: 'chaos',
    description: 'Answer version.bind, version.server, id.server and hostname.bind in class CH (--no-chaos to refuse them).',
    default: true,
  }),
  enumOption({
    name: 'rotate',
    key: 'rotate',
    description:
      'Load spreading: on rotates the records of each A/AAAA RRset one step per query (glue included) and orders SRV records per query by priority and RFC 2782 weighted random choice, so clients that take the first record spread over the instances; off answers in the written order.',
    choices: ['on', 'off'],
    default: 'on',
  }),
  stringOption({
    name: 'nsid',
    key: 'nsid',
    description:
      'Name server identifier returned to queries that ask for it (RFC 5001, dig +nsid), so an operator can tell which replica answered: auto (the host name: a pod answers with its pod name), off, or the text to send (at most 128 octets).',
    placeholder: 'TEXT',
    default: 'auto',
    check: (text) => {
      if (Buffer.byteLength(text, 'utf8') > 128) throw new ValueError('must be at most 128 octets');
    },
  }),
  listOption({
    name: 'transfer-allow',
    key: 'transferAllow',
    description:
      'Client networks (CIDR) that may transfer our zones (AXFR, IXFR); repeat the flag or separate with commas. Default: none. A request signed with a --tsig-key is allowed from anywhere.',
    placeholder: 'CIDR',
    default: [],
    item: parseAllowedNetwork,
    identity: (cidr) => cidr,
  }),
  listOption({
    name: 'tsig-key',
    key: 'tsigKey',
    description:
      'TSIG key (RFC 8945) that may sign zone transfer requests, as NAME:ALGORITHM:BASE64SECRET (hmac-sha256, hmac-sha512, ...); repeat the flag or separate with commas. Replies to a signed request are signed with its key. Keep the secret out of shell history: ETCDNS_TSIG_KEY or the config file.',
    placeholder: 'NAME:ALG:SECRET',
    default: [],
    item: (text) => {
      try {
        return parseTsigKeySpec(text);
      } catch (err) {
        throw new ValueError(err instanceof Error ? err.message : String(err), text.replace(/:[^:]*$/, ':…'));
      }
    },
    identity: (key) => key.name,
  }),
  optionalPathOption({
    name: 'tsig-key-file',
    key: 'tsigKeyFile',
    description: 'File of TSIG keys, as tsig-keygen (BIND), keymgr -t (Knot) or NAME:ALGORITHM:SECRET lines write them; read at start, with the --tsig-key keys.',
    placeholder: 'FILE',
    readableFile: true,
  }),
  listOption({
    name: 'notify',
    key: 'notify',
    description:
      'Secondary to send NOTIFY (RFC 1996) to when a zone changes, as ADDR[:PORT] (port 53 by default); repeat the flag or separate with commas. Retried until it answers.',
    placeholder: 'ADDR[:PORT]',
    default: [],
    item: parseUpstream,
    identity: formatUpstream,
  }),
  optionalStringOption({
    name: 'notify-key',
    key: 'notifyKey',
    description: 'Name of the --tsig-key (or --tsig-key-file key) to sign NOTIFY with, for secondaries that accept only signed ones (Knot acl with a key); default: unsigned.',
    placeholder: 'NAME',
  }),
  durationOption({
    name: 'notify-delay',
    key: 'notifyDelayMs',
    description: 'Changes to a zone within this time are announced with one NOTIFY per secondary.',
    default: '1s',
    min: '0ms',
    max: '1h',
  }),
  integerOption({
    name: 'ixfr-journal',
    key: 'ixfrJournal',
    description:
      'Past versions of each etcd zone kept for incremental transfers (IXFR, RFC 1995); a secondary further behind, or holding a serial this replica did not serve, gets the whole zone. 0: every transfer is a full one.',
    default: 1000,
    min: 0,
  }),
  byteSizeOption({
    name: 'ixfr-journal-bytes',
    key: 'ixfrJournalBytes',
    description: 'Most bytes the versions kept for IXFR may hold per zone (estimated: 512 per changed name); the oldest go first.',
    default: '64m',
  }),
  ...UPDATE_OPTIONS,
  listenOrOffOption({
    name: 'health-listen',
    key: 'healthListen',
    description: 'Address of the liveness endpoint GET /health (200 while the process runs), as HOST:PORT, or off.',
    default: '127.0.0.1:8080',
  }),
  listenOrOffOption({
    name: 'ready-listen',
    key: 'readyListen',
    description:
      'Address of the readiness endpoint GET /ready (200 once the data is loaded, 503 with the reasons otherwise and while shutting down), as HOST:PORT, or off.',
    default: '127.0.0.1:8181',
  }),
  listenOrOffOption({
    name: 'metrics-listen',
    key: 'metricsListen',
    description: 'Address of the Prometheus endpoint GET /metrics, as HOST:PORT, or off. Endpoints may share an address.',
    default: '127.0.0.1:9153',
  }),
  durationOption({
    name: 'lameduck',
    key: 'lameduckMs',
    description:
      'On SIGTERM or SIGINT, answer /ready with 503 but keep answering DNS for this long before closing the listeners (CoreDNS health lameduck), so that load balancers and Services stop sending queries first; 0 closes at once.',
    default: '5s',
    // Kubernetes kills a pod terminationGracePeriodSeconds (30 s by default) after SIGTERM,
    // whatever it is doing: a lameduck in hours is a typo (5h for 5s), not a plan.
    max: '10m',
  }),
  optionalPathOption({
    name: 'config',
    key: 'configFile',
    description:
      'Config file, JSON (or YAML if named .yaml/.yml), whose keys are these option names; flags and ETCDNS_* variables override it.',
    placeholder: 'FILE',
    inConfigFile: false,
  }),
] as const;

export type ServeOption = (typeof SERVE_OPTIONS)[number];

/** The parsed value of every option, keyed by its ServeConfig field; derived from the table. */
export type ServeValues = {
  readonly [S in ServeOption as S['key']]: S extends OptionSpec<string, infer V> ? V : never;
};

/** The configuration the server runs with, as loadServeConfig (load.ts) builds it. */
export interface ServeConfig extends ServeValues {
  /**
   * Names (kebab-case, as in SERVE_OPTIONS) of the options the user set through any source,
   * e.g. to tell a default zones directory from one asked for.
   */
  readonly explicit: ReadonlySet<string>;
}
