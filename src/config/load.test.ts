import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadServeConfig, redactConfig, type ServeConfig } from './load.js';
import { SERVE_OPTIONS, camelName, defaultText, formatDuration, type OptionSpec } from './options.js';

const CWD = '/srv/etcdns';
const dir = mkdtempSync(join(tmpdir(), 'etcdns-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(argv: readonly string[] | Record<string, unknown> = [], env: NodeJS.ProcessEnv = {}, cwd = CWD): ServeConfig {
  return loadServeConfig({ argv, env, cwd });
}

/** The one-line message loading fails with (and that it fails with a ConfigError). */
function failure(argv: readonly string[] | Record<string, unknown> = [], env: NodeJS.ProcessEnv = {}, cwd = CWD): string {
  try {
    load(argv, env, cwd);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected loading to fail');
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('the option table', () => {
  const options: readonly OptionSpec[] = SERVE_OPTIONS;

  it('has unique kebab-case names, env variables and ServeConfig keys', () => {
    for (const o of options) {
      expect(o.name).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      expect(o.env).toBe(`ETCDNS_${o.name.toUpperCase().replaceAll('-', '_')}`);
    }
    for (const field of ['name', 'env', 'key'] as const) {
      expect(new Set(options.map((o) => o[field])).size).toBe(options.length);
    }
  });

  it('lists the options of today with their defaults', () => {
    expect(options.map((o) => [o.name, o.kind, defaultText(o), o.env])).toEqual([
      ['listen', 'list', '127.0.0.1:5353', 'ETCDNS_LISTEN'],
      ['workers', 'integer', '1', 'ETCDNS_WORKERS'],
      ['udp-io', 'enum', 'auto', 'ETCDNS_UDP_IO'],
      ['zones', 'string', 'zones', 'ETCDNS_ZONES'],
      ['etcd', 'list', 'none', 'ETCDNS_ETCD'],
      ['etcd-prefix', 'string', '/skydns', 'ETCDNS_ETCD_PREFIX'],
      ['etcd-zone', 'list', 'none', 'ETCDNS_ETCD_ZONE'],
      ['etcd-ca', 'string', 'none', 'ETCDNS_ETCD_CA'],
      ['etcd-cert', 'string', 'none', 'ETCDNS_ETCD_CERT'],
      ['etcd-key', 'string', 'none', 'ETCDNS_ETCD_KEY'],
      ['etcd-username', 'string', 'none', 'ETCDNS_ETCD_USERNAME'],
      ['etcd-password', 'string', 'none', 'ETCDNS_ETCD_PASSWORD'],
      ['etcd-default-ttl', 'duration', '10s', 'ETCDNS_ETCD_DEFAULT_TTL'],
      ['max-stale', 'duration', '0', 'ETCDNS_MAX_STALE'],
      ['edns-udp-size', 'integer', '1232', 'ETCDNS_EDNS_UDP_SIZE'],
      ['tcp-idle-timeout', 'duration', '10s', 'ETCDNS_TCP_IDLE_TIMEOUT'],
      ['tcp-max-connections', 'integer', '1024', 'ETCDNS_TCP_MAX_CONNECTIONS'],
      ['tcp-max-connections-per-client', 'integer', '64', 'ETCDNS_TCP_MAX_CONNECTIONS_PER_CLIENT'],
      ['tcp-max-queries-per-connection', 'integer', '0', 'ETCDNS_TCP_MAX_QUERIES_PER_CONNECTION'],
      ['rate-limit', 'integer', '0', 'ETCDNS_RATE_LIMIT'],
      ['rate-limit-slip', 'integer', '2', 'ETCDNS_RATE_LIMIT_SLIP'],
      ['forwarding', 'boolean', 'true', 'ETCDNS_FORWARDING'],
      ['upstream', 'list', 'none', 'ETCDNS_UPSTREAM'],
      ['forward', 'list', 'none', 'ETCDNS_FORWARD'],
      ['forward-policy', 'enum', 'random', 'ETCDNS_FORWARD_POLICY'],
      ['forward-timeout', 'duration', '2s', 'ETCDNS_FORWARD_TIMEOUT'],
      ['forward-max-fails', 'integer', '2', 'ETCDNS_FORWARD_MAX_FAILS'],
      ['forward-health-check', 'duration', '500ms', 'ETCDNS_FORWARD_HEALTH_CHECK'],
      ['forward-max-concurrent', 'integer', '1000', 'ETCDNS_FORWARD_MAX_CONCURRENT'],
      [
        'allow-recursion',
        'list',
        '127.0.0.0/8, ::1/128, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7, fe80::/10',
        'ETCDNS_ALLOW_RECURSION',
      ],
      ['cache-entries', 'integer', '10000', 'ETCDNS_CACHE_ENTRIES'],
      ['cache-bytes', 'size', '64m', 'ETCDNS_CACHE_BYTES'],
      ['cache-max-ttl', 'duration', '1h', 'ETCDNS_CACHE_MAX_TTL'],
      ['cache-max-negative-ttl', 'duration', '30m', 'ETCDNS_CACHE_MAX_NEGATIVE_TTL'],
      ['serve-stale', 'duration', '1h', 'ETCDNS_SERVE_STALE'],
      ['log-level', 'enum', 'info', 'ETCDNS_LOG_LEVEL'],
      ['log-format', 'enum', 'auto', 'ETCDNS_LOG_FORMAT'],
      ['log-queries', 'boolean', 'false', 'ETCDNS_LOG_QUERIES'],
      ['chaos', 'boolean', 'true', 'ETCDNS_CHAOS'],
      ['health-listen', 'string', '127.0.0.1:8080', 'ETCDNS_HEALTH_LISTEN'],
      ['ready-listen', 'string', '127.0.0.1:8181', 'ETCDNS_READY_LISTEN'],
      ['metrics-listen', 'string', '127.0.0.1:9153', 'ETCDNS_METRICS_LISTEN'],
      ['lameduck', 'duration', '5s', 'ETCDNS_LAMEDUCK'],
      ['config', 'string', 'none', 'ETCDNS_CONFIG'],
    ]);
  });

  it('gives every option a value in ServeConfig', () => {
    const config = load();
    for (const o of options) expect(config, o.name).toHaveProperty(o.key);
    expect(Object.keys(config).sort()).toEqual([...options.map((o) => o.key), 'explicit'].sort());
  });
});

describe('defaults', () => {
  it('are used when nothing is set', () => {
    const config = load();
    expect({ ...config, explicit: [...config.explicit] }).toEqual({
      listen: [{ host: '127.0.0.1', port: 5353 }],
      workers: 1,
      udpIo: 'auto',
      zones: '/srv/etcdns/zones',
      etcd: [],
      etcdPrefix: '/skydns',
      etcdZone: [],
      etcdCa: undefined,
      etcdCert: undefined,
      etcdKey: undefined,
      etcdUsername: undefined,
      etcdPassword: undefined,
      etcdDefaultTtlMs: 10_000,
      maxStaleMs: 0,
      ednsUdpSize: 1232,
      tcpIdleTimeoutMs: 10_000,
      tcpMaxConnections: 1024,
      tcpMaxConnectionsPerClient: 64,
      tcpMaxQueriesPerConnection: 0,
      rateLimit: 0,
      rateLimitSlip: 2,
      forwarding: true,
      upstream: [],
      forward: [],
      forwardPolicy: 'random',
      forwardTimeoutMs: 2000,
      forwardMaxFails: 2,
      forwardHealthCheckMs: 500,
      forwardMaxConcurrent: 1000,
      allowRecursion: ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7', 'fe80::/10'],
      cacheEntries: 10_000,
      cacheBytes: 64 * 1024 * 1024,
      cacheMaxTtlMs: 3_600_000,
      cacheMaxNegativeTtlMs: 1_800_000,
      serveStaleMs: 3_600_000,
      logLevel: 'info',
      logFormat: 'auto',
      logQueries: false,
      chaos: true,
      healthListen: { host: '127.0.0.1', port: 8080 },
      readyListen: { host: '127.0.0.1', port: 8181 },
      metricsListen: { host: '127.0.0.1', port: 9153 },
      lameduckMs: 5000,
      configFile: undefined,
      explicit: [],
    });
  });

  it('ignore environment variables without the ETCDNS_ prefix', () => {
    expect(load([], { PATH: '/bin', etcdns_listen: 'x', ETCDNSLISTEN: 'y' }).listen).toEqual([{ host: '127.0.0.1', port: 5353 }]);
  });
});

describe('listen (list of HOST:PORT)', () => {
  it('parses IPv4 and bracketed IPv6, repeated flags and comma lists', () => {
    expect(load(['--listen', '[::1]:53', '--listen', '0.0.0.0:0,10.0.0.1:65535']).listen).toEqual([
      { host: '::1', port: 53 },
      { host: '0.0.0.0', port: 0 },
      { host: '10.0.0.1', port: 65535 },
    ]);
    expect(load([], { ETCDNS_LISTEN: '127.0.0.1:53, [::1]:53' }).listen).toEqual([
      { host: '127.0.0.1', port: 53 },
      { host: '::1', port: 53 },
    ]);
  });

  it('names the flag and the bad item', () => {
    expect(failure(['--listen', '1.2.3.4:99999'])).toBe('--listen "1.2.3.4:99999": port must be 0-65535');
    expect(failure(['--listen', '1.2.3.4:http'])).toBe('--listen "1.2.3.4:http": port must be 0-65535');
    expect(failure(['--listen', '1.2.3.4:'])).toBe('--listen "1.2.3.4:": missing port');
    expect(failure(['--listen', '1.2.3.4'])).toMatch(/^--listen "1.2.3.4": missing ":PORT"/);
    expect(failure(['--listen', 'localhost:53'])).toMatch(/^--listen "localhost:53": host must be an IP address/);
    expect(failure(['--listen', '::1:53'])).toBe('--listen "::1:53": an IPv6 address must be in brackets, e.g. [::1]:53');
    expect(failure(['--listen', '[1.2.3.4]:53'])).toBe('--listen "[1.2.3.4]:53": not an IPv6 address inside [...]');
    expect(failure(['--listen', '[::1]53'])).toBe('--listen "[::1]53": missing ":PORT" after "]"');
    expect(failure([], { ETCDNS_LISTEN: '127.0.0.1:53,bad' })).toMatch(/^ETCDNS_LISTEN="bad": missing ":PORT"/);
  });

  it('refuses an empty list, empty items and an address listed twice (but port 0 may repeat)', () => {
    expect(failure([], { ETCDNS_LISTEN: '' })).toBe('ETCDNS_LISTEN="": needs at least 1 item');
    expect(failure(['--listen', '127.0.0.1:53,,[::1]:53'])).toBe('--listen "127.0.0.1:53,,[::1]:53": empty item in list');
    expect(failure(['--listen', '127.0.0.1:53', '--listen', '127.0.0.1:53'])).toBe('--listen "127.0.0.1:53": listed twice');
    expect(load(['--listen', '127.0.0.1:0,127.0.0.1:0']).listen).toHaveLength(2);
  });
});

describe('integers', () => {
  it('parse decimal digits from flags, env and files', () => {
    expect(load(['--edns-udp-size', '4096']).ednsUdpSize).toBe(4096);
    expect(load([], { ETCDNS_EDNS_UDP_SIZE: ' 512 ' }).ednsUdpSize).toBe(512);
    expect(load(['--tcp-max-queries-per-connection', '0']).tcpMaxQueriesPerConnection).toBe(0);
    expect(load(['--tcp-max-connections=5']).tcpMaxConnections).toBe(5);
  });

  it('name the key and the problem', () => {
    expect(failure([], { ETCDNS_EDNS_UDP_SIZE: 'abc' })).toBe('ETCDNS_EDNS_UDP_SIZE="abc": not a number');
    expect(failure(['--edns-udp-size', '511'])).toBe('--edns-udp-size "511": must be 512-4096');
    expect(failure(['--edns-udp-size', '4097'])).toBe('--edns-udp-size "4097": must be 512-4096');
    expect(failure(['--edns-udp-size', '1232.5'])).toBe('--edns-udp-size "1232.5": must be a whole number');
    expect(failure(['--edns-udp-size', '1e3'])).toBe('--edns-udp-size "1e3": must be a whole number');
    expect(failure(['--edns-udp-size', '0x400'])).toBe('--edns-udp-size "0x400": not a number');
    expect(failure(['--edns-udp-size', ''])).toBe('--edns-udp-size "": not a number');
    expect(failure(['--tcp-max-connections', '0'])).toBe('--tcp-max-connections "0": must be at least 1');
    expect(failure(['--tcp-max-connections-per-client', '-1'])).toBe('--tcp-max-connections-per-client "-1": must be at least 1');
    expect(failure(['--tcp-max-queries-per-connection', '-1'])).toBe('--tcp-max-queries-per-connection "-1": must be at least 0');
    expect(failure(['--tcp-max-connections', '99999999999999999999'])).toBe('--tcp-max-connections "99999999999999999999": must be at most 9007199254740991');
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    ['5', 5000],
    ['0.25', 250],
  ])('%s is %d ms', (text, ms) => {
    expect(load(['--tcp-idle-timeout', text]).tcpIdleTimeoutMs).toBe(ms);
  });

  it('name the key and the problem', () => {
    const usage = 'not a duration (write e.g. 500ms, 10s, 2m, 1h, or a number of seconds)';
    expect(failure(['--tcp-idle-timeout', 'abc'])).toBe(`--tcp-idle-timeout "abc": ${usage}`);
    expect(failure([], { ETCDNS_TCP_IDLE_TIMEOUT: '10x' })).toBe(`ETCDNS_TCP_IDLE_TIMEOUT="10x": ${usage}`);
    expect(failure(['--tcp-idle-timeout', '-1s'])).toBe(`--tcp-idle-timeout "-1s": ${usage}`);
    expect(failure(['--tcp-idle-timeout', '0'])).toBe('--tcp-idle-timeout "0": must be 1ms-2147483647ms');
    // Node timers cannot wait longer than 2^31-1 ms; a longer timeout would fire at once.
    expect(failure(['--tcp-idle-timeout', '25d'])).toMatch(/not a duration/);
    expect(failure(['--tcp-idle-timeout', '600h'])).toBe('--tcp-idle-timeout "600h": must be 1ms-2147483647ms');
  });

  it('format back in the largest exact unit', () => {
    expect([500, 10_000, 120_000, 3_600_000, 1500].map(formatDuration)).toEqual(['500ms', '10s', '2m', '1h', '1500ms']);
  });
});

describe('booleans', () => {
  it('take --flag, --no-flag, --flag=VALUE and --flag VALUE', () => {
    expect(load(['--log-queries']).logQueries).toBe(true);
    expect(load(['--no-chaos']).chaos).toBe(false);
    expect(load(['--chaos=false']).chaos).toBe(false);
    expect(load(['--chaos', 'false', '--log-queries', 'true']).logQueries).toBe(true);
    expect(load(['--chaos', 'false']).chaos).toBe(false);
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['TRUE', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('env %s is %s', (text, value) => {
    expect(load([], { ETCDNS_LOG_QUERIES: text }).logQueries).toBe(value);
  });

  it('refuse anything else', () => {
    const usage = 'must be true or false (or 1/0, yes/no)';
    expect(failure([], { ETCDNS_LOG_QUERIES: 'on' })).toBe(`ETCDNS_LOG_QUERIES="on": ${usage}`);
    expect(failure([], { ETCDNS_CHAOS: '' })).toBe(`ETCDNS_CHAOS="": ${usage}`);
    expect(failure(['--chaos=maybe'])).toBe(`--chaos "maybe": ${usage}`);
  });
});

describe('enums', () => {
  it('accept the choices, in any case', () => {
    expect(load(['--log-level', 'debug']).logLevel).toBe('debug');
    expect(load([], { ETCDNS_LOG_LEVEL: 'WARN' }).logLevel).toBe('warn');
    expect(load(['--log-format', 'json']).logFormat).toBe('json');
  });

  it('list the choices when refusing', () => {
    expect(failure(['--log-level', 'verbose'])).toBe(
      '--log-level "verbose": must be one of fatal, error, warn, info, debug, trace, silent',
    );
    expect(failure([], { ETCDNS_LOG_FORMAT: 'text' })).toBe('ETCDNS_LOG_FORMAT="text": must be one of auto, json, pretty');
  });
});

describe('strings and paths', () => {
  it('resolve the zones directory against cwd', () => {
    expect(load(['--zones', 'data/zones']).zones).toBe('/srv/etcdns/data/zones');
    expect(load(['--zones', '/var/lib/zones']).zones).toBe('/var/lib/zones');
  });

  it('refuse an empty value', () => {
    expect(failure(['--zones', ''])).toBe('--zones "": must not be empty');
    expect(failure([], { ETCDNS_ZONES: '' })).toBe('ETCDNS_ZONES="": must not be empty');
  });
});

describe('etcd endpoints (--etcd)', () => {
  const zone = ['--etcd-zone', 'example.com'];

  it('parses http and https URLs with a port, repeated or comma-separated, into scheme://host:port', () => {
    expect(load(['--etcd', 'http://127.0.0.1:2379', ...zone]).etcd).toEqual(['http://127.0.0.1:2379']);
    expect(load(['--etcd', 'http://a:2379,http://B.example:22379/', '--etcd', 'http://[::1]:2379', ...zone]).etcd).toEqual([
      'http://a:2379',
      'http://b.example:22379',
      'http://[::1]:2379',
    ]);
    expect(load([], { ETCDNS_ETCD: ' https://etcd-0:2379 , https://etcd-1:2379 ', ETCDNS_ETCD_ZONE: 'example.com' }).etcd).toEqual([
      'https://etcd-0:2379',
      'https://etcd-1:2379',
    ]);
    // The scheme's default port, written out, is kept (URL alone would drop it).
    expect(load(['--etcd', 'http://etcd:80', ...zone]).etcd).toEqual(['http://etcd:80']);
    expect(load(['--etcd', 'https://etcd:443', ...zone]).etcd).toEqual(['https://etcd:443']);
  });

  it('is empty by default and when set to an empty string (no etcd)', () => {
    expect(load().etcd).toEqual([]);
    expect(load([], { ETCDNS_ETCD: '' }).etcd).toEqual([]);
  });

  it('names the flag and the bad URL', () => {
    expect(failure(['--etcd', 'etcd:2379', ...zone])).toBe('--etcd "etcd:2379": must start with http:// or https:// (e.g. http://127.0.0.1:2379)');
    expect(failure(['--etcd', '127.0.0.1:2379', ...zone])).toBe('--etcd "127.0.0.1:2379": not a URL (e.g. http://127.0.0.1:2379)');
    expect(failure(['--etcd', 'unix:///run/etcd.sock', ...zone])).toMatch(/^--etcd "unix:\/\/\/run\/etcd.sock": must start with http:\/\/ or https:\/\//);
    expect(failure(['--etcd', 'http://etcd', ...zone])).toBe('--etcd "http://etcd": missing port (etcd clients usually connect to 2379, e.g. http://127.0.0.1:2379)');
    expect(failure(['--etcd', 'http://etcd/', ...zone])).toMatch(/^--etcd "http:\/\/etcd\/": missing port/);
    expect(failure(['--etcd', 'http://etcd:99999', ...zone])).toBe('--etcd "http://etcd:99999": not a URL (e.g. http://127.0.0.1:2379)');
    expect(failure(['--etcd', 'http://etcd:2379/v3', ...zone])).toBe('--etcd "http://etcd:2379/v3": must not have a path, query or fragment (only scheme, host and port)');
    expect(failure(['--etcd', 'http://etcd:2379?x=1', ...zone])).toMatch(/must not have a path, query or fragment/);
    expect(failure(['--etcd', 'http://root:secret@etcd:2379', ...zone])).toBe(
      '--etcd "http://root:secret@etcd:2379": must not contain a user or password (use --etcd-username and --etcd-password)',
    );
    expect(failure(['--etcd', 'http://a:2379,http://A:2379', ...zone])).toBe('--etcd "http://A:2379": listed twice');
    expect(failure(['--etcd', 'http://a:2379,,http://b:2379', ...zone])).toBe('--etcd "http://a:2379,,http://b:2379": empty item in list');
  });

  it('refuses a mix of http and https (the etcd client cannot mix them)', () => {
    expect(failure(['--etcd', 'http://a:2379,https://b:2379', ...zone])).toBe('--etcd: endpoints mix http:// and https://; use one scheme for all of them');
  });
});

describe('etcd prefix and zones', () => {
  const etcd = ['--etcd', 'http://127.0.0.1:2379'];

  it('takes a prefix that starts with "/" and does not end with one', () => {
    expect(load(['--etcd-prefix', '/dns/skydns']).etcdPrefix).toBe('/dns/skydns');
    expect(load([], { ETCDNS_ETCD_PREFIX: '/coredns' }).etcdPrefix).toBe('/coredns');
    expect(failure(['--etcd-prefix', 'skydns'])).toBe('--etcd-prefix "skydns": must start with "/" (e.g. /skydns)');
    expect(failure(['--etcd-prefix', '/skydns/'])).toBe('--etcd-prefix "/skydns/": must not end with "/" (e.g. /skydns)');
    expect(failure(['--etcd-prefix', '/'])).toBe('--etcd-prefix "/": must not end with "/" (e.g. /skydns)');
    expect(failure(['--etcd-prefix', '/a//b'])).toBe('--etcd-prefix "/a//b": must not contain an empty segment ("//")');
    expect(failure(['--etcd-prefix', ''])).toBe('--etcd-prefix "": must not be empty');
  });

  it('stores zones canonical: lower case, no trailing dot', () => {
    expect(load([...etcd, '--etcd-zone', 'Example.COM.', '--etcd-zone', '2.0.192.in-addr.arpa,svc.cluster.local']).etcdZone).toEqual([
      'example.com',
      '2.0.192.in-addr.arpa',
      'svc.cluster.local',
    ]);
    file('zones.yaml', 'etcd: [http://127.0.0.1:2379]\netcd-zone:\n  - a.test\n  - b.test.\n');
    expect(load(['--config', 'zones.yaml'], {}, dir).etcdZone).toEqual(['a.test', 'b.test']);
  });

  it('names the flag and the bad zone', () => {
    expect(failure([...etcd, '--etcd-zone', 'a..b'])).toBe('--etcd-zone "a..b": empty label in "a..b"');
    expect(failure([...etcd, '--etcd-zone', 'ok.test,bad..test'])).toBe('--etcd-zone "bad..test": empty label in "bad..test"');
    expect(failure([...etcd, '--etcd-zone', `${'a'.repeat(64)}.test`])).toMatch(/^--etcd-zone "a{64}\.test": /);
    expect(failure([...etcd, '--etcd-zone', '.'])).toBe('--etcd-zone ".": the root zone cannot be served from etcd');
    expect(failure([...etcd, '--etcd-zone', 'example.com,EXAMPLE.com.'])).toBe('--etcd-zone "EXAMPLE.com.": listed twice');
  });

  it('are required with --etcd, and need it', () => {
    expect(failure(etcd)).toBe('--etcd needs --etcd-zone: name the zones to answer from etcd (e.g. --etcd-zone example.com)');
    expect(failure([], { ETCDNS_ETCD: 'http://127.0.0.1:2379' })).toMatch(/^--etcd needs --etcd-zone/);
    expect(failure(['--etcd-zone', 'example.com'])).toBe(
      '--etcd-zone needs --etcd: the etcd endpoints to read the zones from (e.g. --etcd http://127.0.0.1:2379)',
    );
    // An empty --etcd is "no etcd", so zones from elsewhere are then an error too.
    expect(failure([], { ETCDNS_ETCD: '', ETCDNS_ETCD_ZONE: 'example.com' })).toMatch(/^--etcd-zone needs --etcd/);
  });
});

describe('etcd TLS and authentication', () => {
  const https = ['--etcd', 'https://127.0.0.1:2379', '--etcd-zone', 'example.com'];
  const ca = file('ca.pem', 'not really a certificate\n');
  const cert = file('client.pem', 'cert\n');
  const key = file('client-key.pem', 'key\n');

  it('resolves the files against cwd and checks they are readable', () => {
    const config = load([...https, '--etcd-ca', 'ca.pem', '--etcd-cert', cert, '--etcd-key', 'client-key.pem'], {}, dir);
    expect(config.etcdCa).toBe(ca);
    expect(config.etcdCert).toBe(cert);
    expect(config.etcdKey).toBe(key);
    expect(load([...https], { ETCDNS_ETCD_CA: ca }).etcdCa).toBe(ca);
  });

  it('names the option of a file that is missing or not a file', () => {
    expect(failure([...https, '--etcd-ca', 'nope.pem'], {}, dir)).toBe('--etcd-ca "nope.pem": file not found');
    expect(failure([...https], { ETCDNS_ETCD_KEY: 'nope/key.pem', ETCDNS_ETCD_CERT: cert }, dir)).toBe('ETCDNS_ETCD_KEY="nope/key.pem": file not found');
    expect(failure([...https, '--etcd-cert', dir, '--etcd-key', key])).toBe(`--etcd-cert ${JSON.stringify(dir)}: not a regular file`);
    expect(failure([...https, '--etcd-ca', ''])).toBe('--etcd-ca "": must not be empty');
    file('tls.yaml', 'etcd-ca: missing.pem\n');
    expect(failure(['--config', 'tls.yaml', ...https], {}, dir)).toBe('config file tls.yaml: etcd-ca "missing.pem": file not found');
  });

  // root reads every file whatever its mode, so the check cannot fail there.
  it.skipIf(process.getuid?.() === 0)('names the option of a file that cannot be read', () => {
    const locked = file('locked.pem', 'x');
    chmodSync(locked, 0o000);
    expect(failure([...https, '--etcd-ca', locked])).toBe(`--etcd-ca ${JSON.stringify(locked)}: file not readable (permission denied)`);
  });

  it('wants a certificate and its key together', () => {
    expect(failure([...https, '--etcd-cert', cert])).toBe('--etcd-cert needs --etcd-key');
    expect(failure([...https, '--etcd-key', key])).toBe('--etcd-key needs --etcd-cert');
  });

  it('refuses TLS files with http:// endpoints (the client would speak TLS anyway)', () => {
    const http = ['--etcd', 'http://127.0.0.1:2379', '--etcd-zone', 'example.com'];
    expect(failure([...http, '--etcd-ca', ca])).toBe('--etcd-ca is for TLS, but the --etcd endpoints are http://; use https://');
    expect(failure([...http, '--etcd-cert', cert, '--etcd-key', key])).toBe('--etcd-cert is for TLS, but the --etcd endpoints are http://; use https://');
  });

  it('wants a user and password together', () => {
    const config = load([...https, '--etcd-username', 'dns'], { ETCDNS_ETCD_PASSWORD: 's3cret' });
    expect(config.etcdUsername).toBe('dns');
    expect(config.etcdPassword).toBe('s3cret');
    expect(failure([...https, '--etcd-username', 'dns'])).toBe('--etcd-username needs --etcd-password');
    expect(failure([...https], { ETCDNS_ETCD_PASSWORD: 's3cret' })).toBe('--etcd-password needs --etcd-username');
    expect(failure([...https, '--etcd-username', ''])).toBe('--etcd-username "": must not be empty');
  });

  it('never shows the password, in errors or in the redacted config', () => {
    file('secret.json', '{"etcd-password": 123456}');
    expect(failure(['--config', 'secret.json'], {}, dir)).toBe('config file secret.json: etcd-password [redacted]: must be a string');
    const config = load([...https, '--etcd-username', 'dns'], { ETCDNS_ETCD_PASSWORD: 's3cret' });
    const shown = redactConfig(config);
    expect(shown.etcdPassword).toBe('[redacted]');
    expect(shown.etcdUsername).toBe('dns');
    expect(shown.explicit).toEqual(expect.arrayContaining(['etcd-password']));
    expect(JSON.stringify(shown)).not.toContain('s3cret');
    expect(redactConfig(load()).etcdPassword).toBeUndefined();
  });
});

describe('etcd durations', () => {
  it('takes a default TTL in whole seconds, 1s to 24h', () => {
    expect(load(['--etcd-default-ttl', '30']).etcdDefaultTtlMs).toBe(30_000);
    expect(load(['--etcd-default-ttl', '1h']).etcdDefaultTtlMs).toBe(3_600_000);
    expect(load(['--etcd-default-ttl', '24h']).etcdDefaultTtlMs).toBe(86_400_000);
    expect(failure(['--etcd-default-ttl', '1500ms'])).toBe('--etcd-default-ttl "1500ms": must be a whole number of seconds');
    expect(failure(['--etcd-default-ttl', '0'])).toBe('--etcd-default-ttl "0": must be 1s-24h');
    expect(failure(['--etcd-default-ttl', '500ms'])).toBe('--etcd-default-ttl "500ms": must be 1s-24h');
    expect(failure(['--etcd-default-ttl', '25h'])).toBe('--etcd-default-ttl "25h": must be 1s-24h');
  });

  it('takes max-stale as any duration, 0 for forever', () => {
    expect(load().maxStaleMs).toBe(0);
    expect(load(['--max-stale', '5m']).maxStaleMs).toBe(300_000);
    expect(load([], { ETCDNS_MAX_STALE: '90s' }).maxStaleMs).toBe(90_000);
    expect(failure(['--max-stale', 'forever'])).toMatch(/^--max-stale "forever": not a duration/);
  });
});

describe('health, ready and metrics listeners', () => {
  it('take HOST:PORT like --listen, port 0 included', () => {
    const config = load(['--health-listen', '0.0.0.0:8080', '--ready-listen', '[::]:0'], { ETCDNS_METRICS_LISTEN: ' 10.0.0.1:9153 ' });
    expect(config.healthListen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.readyListen).toEqual({ host: '::', port: 0 });
    expect(config.metricsListen).toEqual({ host: '10.0.0.1', port: 9153 });
  });

  it('may share an address', () => {
    const config = load(['--health-listen', '127.0.0.1:8080', '--ready-listen', '127.0.0.1:8080']);
    expect(config.readyListen).toEqual(config.healthListen);
  });

  it('are disabled with off, in any case', () => {
    const config = load(['--health-listen', 'off', '--metrics-listen', 'OFF'], { ETCDNS_READY_LISTEN: 'Off' });
    expect(config.healthListen).toBeUndefined();
    expect(config.readyListen).toBeUndefined();
    expect(config.metricsListen).toBeUndefined();
    file('ops.yaml', 'metrics-listen: "off"\n');
    expect(load(['--config', 'ops.yaml'], {}, dir).metricsListen).toBeUndefined();
  });

  it('name the option and the problem', () => {
    expect(failure(['--health-listen', 'localhost:8080'])).toMatch(/^--health-listen "localhost:8080": host must be an IP address/);
    expect(failure(['--ready-listen', '8181'])).toMatch(/^--ready-listen "8181": missing ":PORT"/);
    expect(failure([], { ETCDNS_METRICS_LISTEN: '127.0.0.1:99999' })).toBe('ETCDNS_METRICS_LISTEN="127.0.0.1:99999": port must be 0-65535');
    expect(failure(['--metrics-listen', 'false'])).toMatch(/^--metrics-listen "false": missing ":PORT"/);
    // YAML's unquoted `off` is the boolean false (YAML 1.1 habits): not silently taken as "off".
    file('ops-bool.json', '{"healthListen": false}');
    expect(failure(['--config', 'ops-bool.json'], {}, dir)).toBe('config file ops-bool.json: healthListen false: must be a string');
  });
});

describe('lameduck', () => {
  it('is 5s by default, as in CoreDNS, and takes any duration up to 10m, 0 for none', () => {
    expect(load().lameduckMs).toBe(5000);
    expect(load(['--lameduck', '0']).lameduckMs).toBe(0);
    expect(load(['--lameduck', '1500ms']).lameduckMs).toBe(1500);
    expect(load([], { ETCDNS_LAMEDUCK: '20s' }).lameduckMs).toBe(20_000);
    expect(load(['--lameduck', '10m']).lameduckMs).toBe(600_000);
    file('lameduck.yaml', 'lameduck: 7s\n');
    expect(load(['--config', 'lameduck.yaml'], {}, dir).lameduckMs).toBe(7000);
    // A bare number in JSON is seconds, like every duration.
    file('lameduck.json', '{"lameduck": 3}');
    expect(load(['--config', 'lameduck.json'], {}, dir).lameduckMs).toBe(3000);
  });

  it('names the option and the problem', () => {
    expect(failure(['--lameduck', '5h'])).toBe('--lameduck "5h": must be 0ms-10m');
    expect(failure([], { ETCDNS_LAMEDUCK: 'soon' })).toMatch(/^ETCDNS_LAMEDUCK="soon": not a duration/);
    expect(failure(['--lameduck', '-1s'])).toMatch(/^--lameduck "-1s": not a duration/);
  });
});

describe('flags', () => {
  it('accept what yargs produces (kebab and camelCase keys, repeated values)', () => {
    const config = load({
      _: ['serve'],
      $0: 'etcdns',
      'edns-udp-size': '1400',
      ednsUdpSize: '1400',
      listen: ['127.0.0.1:53', '[::1]:53'],
      chaos: false,
      logQueries: true, // only camelCase given
      zones: ['a', 'b'], // a scalar repeated: the last wins
    });
    expect(config.ednsUdpSize).toBe(1400);
    expect(config.listen).toHaveLength(2);
    expect(config.chaos).toBe(false);
    expect(config.logQueries).toBe(true);
    expect(config.zones).toBe('/srv/etcdns/b');
    expect([...config.explicit].sort()).toEqual(['chaos', 'edns-udp-size', 'listen', 'log-queries', 'zones']);
  });

  it('refuse unknown options, naming them', () => {
    expect(failure({ _: ['serve'], lisen: 'x' })).toBe('unknown option --lisen (did you mean --listen?)');
    expect(failure(['--lisen', '127.0.0.1:53'])).toBe('unknown option --lisen (did you mean --listen?)');
    expect(failure(['--frobnicate'])).toBe('unknown option --frobnicate');
    expect(failure(['--no-listen'])).toBe('unknown option --no-listen');
    expect(failure(['serve'])).toBe('unexpected argument "serve"');
    expect(failure(['--zones'])).toBe('--zones needs a value');
    expect(failure(['--zones', '--chaos'])).toBe('--zones needs a value');
  });
});

describe('environment', () => {
  it('refuses an ETCDNS_ variable that is not an option', () => {
    expect(failure([], { ETCDNS_LISTN: '127.0.0.1:53' })).toBe('unknown environment variable ETCDNS_LISTN (did you mean ETCDNS_LISTEN?)');
    expect(failure([], { ETCDNS_FOO: '1' })).toBe('unknown environment variable ETCDNS_FOO');
  });
});

describe('config file', () => {
  it('reads YAML, with kebab-case and camelCase keys', () => {
    const path = file(
      'etcdns.yaml',
      ['listen:', '  - 127.0.0.1:53', '  - "[::1]:53"', 'zones: /var/zones', 'ednsUdpSize: 1400', 'tcp-idle-timeout: 2m', 'log-queries: yes', 'chaos: false', ''].join('\n'),
    );
    const config = load(['--config', path]);
    expect(config.listen).toEqual([
      { host: '127.0.0.1', port: 53 },
      { host: '::1', port: 53 },
    ]);
    expect(config.zones).toBe('/var/zones');
    expect(config.ednsUdpSize).toBe(1400);
    expect(config.tcpIdleTimeoutMs).toBe(120_000);
    expect(config.logQueries).toBe(true);
    expect(config.chaos).toBe(false);
    expect(config.configFile).toBe(path);
    expect([...config.explicit].sort()).toEqual(['chaos', 'config', 'edns-udp-size', 'listen', 'log-queries', 'tcp-idle-timeout', 'zones']);
  });

  it('reads JSON (.json or any other name), with numbers as seconds for durations', () => {
    file('etcdns.json', JSON.stringify({ 'tcp-idle-timeout': 3, listen: '127.0.0.1:53,127.0.0.2:53', 'log-level': 'debug' }));
    const config = load([], { ETCDNS_CONFIG: 'etcdns.json' }, dir);
    expect(config.tcpIdleTimeoutMs).toBe(3000);
    expect(config.listen).toHaveLength(2);
    expect(config.logLevel).toBe('debug');
    file('etcdns.conf', '{"chaos": false}');
    expect(load(['--config', 'etcdns.conf'], {}, dir).chaos).toBe(false);
    file('etcdns.yml', 'chaos: false\n');
    expect(load(['--config', 'etcdns.yml'], {}, dir).chaos).toBe(false);
  });

  it('treats an empty YAML file as setting nothing', () => {
    const path = file('empty.yaml', '# nothing yet\n');
    expect(load(['--config', path]).ednsUdpSize).toBe(1232);
  });

  it('names the file and the key in errors', () => {
    file('typo.yaml', 'lisen: 127.0.0.1:53\n');
    expect(failure(['--config', 'typo.yaml'], {}, dir)).toBe('config file typo.yaml: unknown key "lisen" (did you mean listen?)');
    file('size.yaml', 'edns-udp-size: 99999\n');
    expect(failure(['--config', 'size.yaml'], {}, dir)).toBe('config file size.yaml: edns-udp-size 99999: must be 512-4096');
    file('camel.json', '{"ednsUdpSize": "big"}');
    expect(failure(['--config', 'camel.json'], {}, dir)).toBe('config file camel.json: ednsUdpSize "big": not a number');
    file('item.json', '{"listen": ["127.0.0.1:53", 53]}');
    expect(failure(['--config', 'item.json'], {}, dir)).toBe('config file item.json: listen 53: must be a string');
    file('nested.yaml', 'zones:\n  dir: x\n');
    expect(failure(['--config', 'nested.yaml'], {}, dir)).toBe('config file nested.yaml: zones {"dir":"x"}: must be a string');
    file('bool.yaml', 'chaos: maybe\n');
    expect(failure(['--config', 'bool.yaml'], {}, dir)).toBe('config file bool.yaml: chaos "maybe": must be true or false (or 1/0, yes/no)');
  });

  it('refuses broken files, non-mappings, duplicate and forbidden keys', () => {
    expect(failure(['--config', 'missing.yaml'], {}, dir)).toBe('config file missing.yaml: not found');
    file('bad.json', '{"listen": ');
    expect(failure(['--config', 'bad.json'], {}, dir)).toMatch(/^config file bad\.json: invalid JSON: /);
    file('bad.yaml', 'listen: [1\n');
    expect(failure(['--config', 'bad.yaml'], {}, dir)).toMatch(/^config file bad\.yaml: invalid YAML: /);
    file('dup.yaml', 'zones: a\nzones: b\n');
    expect(failure(['--config', 'dup.yaml'], {}, dir)).toMatch(/^config file dup\.yaml: invalid YAML: /);
    file('list.yaml', '- listen\n');
    expect(failure(['--config', 'list.yaml'], {}, dir)).toBe('config file list.yaml: must be a mapping of option names to values');
    file('both.json', '{"edns-udp-size": 1400, "ednsUdpSize": 1400}');
    expect(failure(['--config', 'both.json'], {}, dir)).toBe('config file both.json: "edns-udp-size" and "ednsUdpSize" are the same option');
    file('self.yaml', 'config: other.yaml\n');
    expect(failure(['--config', 'self.yaml'], {}, dir)).toBe('config file self.yaml: key "config" cannot be set in a config file');
    expect(failure(['--config', ''], {}, dir)).toBe('--config "": must not be empty');
  });

  it('accepts camelCase for every option', () => {
    const keys = (SERVE_OPTIONS as readonly OptionSpec[]).filter((o) => o.inConfigFile).map((o) => camelName(o.name));
    expect(keys).toContain('tcpMaxConnectionsPerClient');
    file('camel-all.json', JSON.stringify({ tcpMaxConnectionsPerClient: 3, logFormat: 'json' }));
    const config = load(['--config', 'camel-all.json'], {}, dir);
    expect(config.tcpMaxConnectionsPerClient).toBe(3);
    expect(config.logFormat).toBe('json');
  });
});

describe('precedence: flag > env > config file > default', () => {
  const path = file('precedence.yaml', 'edns-udp-size: 1400\nlisten: [10.0.0.1:53, 10.0.0.2:53]\nzones: from-file\n');

  it('takes each option from the highest source that sets it', () => {
    const env = { ETCDNS_CONFIG: path, ETCDNS_EDNS_UDP_SIZE: '1300', ETCDNS_ZONES: 'from-env' };
    const all = load(['--edns-udp-size', '1200'], env);
    expect(all.ednsUdpSize).toBe(1200);
    expect(all.zones).toBe('/srv/etcdns/from-env');
    expect(all.listen.map((a) => a.host)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(load([], env).ednsUdpSize).toBe(1300);
    expect(load([], { ETCDNS_CONFIG: path }).ednsUdpSize).toBe(1400);
    expect(load([], { ETCDNS_CONFIG: path }).zones).toBe('/srv/etcdns/from-file');
    expect(load().ednsUdpSize).toBe(1232);
  });

  it('replaces lists rather than merging them', () => {
    expect(load(['--listen', '127.0.0.1:53', '--config', path]).listen).toEqual([{ host: '127.0.0.1', port: 53 }]);
  });

  it('prefers --config over ETCDNS_CONFIG', () => {
    const other = file('other.yaml', 'edns-udp-size: 2000\n');
    expect(load(['--config', other], { ETCDNS_CONFIG: path }).ednsUdpSize).toBe(2000);
  });

  it('still checks values that a higher source overrides', () => {
    expect(failure(['--edns-udp-size', '1200'], { ETCDNS_EDNS_UDP_SIZE: 'abc' })).toBe('ETCDNS_EDNS_UDP_SIZE="abc": not a number');
  });

  it('records what was set explicitly, whatever the source', () => {
    const config = load(['--chaos'], { ETCDNS_CONFIG: path, ETCDNS_LOG_LEVEL: 'warn' });
    expect([...config.explicit].sort()).toEqual(['chaos', 'config', 'edns-udp-size', 'listen', 'log-level', 'zones']);
    // Setting a value equal to the default still counts as asked for.
    expect(load(['--zones', 'zones']).explicit.has('zones')).toBe(true);
    expect(load().explicit.has('zones')).toBe(false);
  });
});

describe('upstream (list of ADDR[:PORT])', () => {
  it('parses IPv4 and IPv6 with and without a port (53 by default), repeated or comma-separated', () => {
    expect(load(['--upstream', '10.0.0.1', '--upstream', '10.0.0.2:5353,[2001:db8::1]:5300', '--upstream', '[2001:db8::2]']).upstream).toEqual([
      { host: '10.0.0.1', port: 53 },
      { host: '10.0.0.2', port: 5353 },
      { host: '2001:db8::1', port: 5300 },
      { host: '2001:db8::2', port: 53 },
    ]);
    expect(load([], { ETCDNS_UPSTREAM: ' 1.1.1.1 , 2606:4700:4700::1111 ' }).upstream).toEqual([
      { host: '1.1.1.1', port: 53 },
      { host: '2606:4700:4700::1111', port: 53 },
    ]);
  });

  it('keeps IPv6 canonical (RFC 5952) and takes IPv4-mapped IPv6 as IPv4', () => {
    expect(load(['--upstream', '2001:DB8:0:0::53']).upstream).toEqual([{ host: '2001:db8::53', port: 53 }]);
    // A bare IPv6 address takes no port: the last group is part of the address.
    expect(load(['--upstream', '2001:db8::1:53']).upstream).toEqual([{ host: '2001:db8::1:53', port: 53 }]);
    expect(load(['--upstream', '[::ffff:192.0.2.1]:5353']).upstream).toEqual([{ host: '192.0.2.1', port: 5353 }]);
  });

  it('is empty by default (the nameservers of /etc/resolv.conf are used then)', () => {
    expect(load().upstream).toEqual([]);
    expect(load([], { ETCDNS_UPSTREAM: '' }).upstream).toEqual([]);
  });

  it('is read from a config file as a list or a comma-separated string', () => {
    file('upstream.yaml', 'upstream:\n  - 10.0.0.1\n  - "[2001:db8::1]:5353"\n');
    expect(load(['--config', 'upstream.yaml'], {}, dir).upstream).toEqual([
      { host: '10.0.0.1', port: 53 },
      { host: '2001:db8::1', port: 5353 },
    ]);
    file('upstream.json', '{"upstream": "10.0.0.1,10.0.0.2:54"}');
    expect(load(['--config', 'upstream.json'], {}, dir).upstream).toHaveLength(2);
  });

  it('names the flag and the bad item', () => {
    expect(failure(['--upstream', 'dns.google'])).toBe('--upstream "dns.google": must be an IP address (e.g. 10.0.0.1, 10.0.0.1:5353, [2001:db8::1]:53)');
    expect(failure(['--upstream', '10.0.0.1:0'])).toBe('--upstream "10.0.0.1:0": port must be 1-65535');
    expect(failure(['--upstream', '10.0.0.1:65536'])).toBe('--upstream "10.0.0.1:65536": port must be 1-65535');
    expect(failure(['--upstream', '10.0.0.1:dns'])).toBe('--upstream "10.0.0.1:dns": port must be 1-65535');
    expect(failure(['--upstream', '10.0.0.1:'])).toBe('--upstream "10.0.0.1:": missing port after ":"');
    expect(failure(['--upstream', '10.0.0.256'])).toMatch(/^--upstream "10.0.0.256": must be an IP address/);
    expect(failure(['--upstream', '[2001:db8::1'])).toBe('--upstream "[2001:db8::1": missing "]" after the IPv6 address');
    expect(failure(['--upstream', '[2001:db8::1]53'])).toBe('--upstream "[2001:db8::1]53": expected ":PORT" after "]"');
    expect(failure(['--upstream', '[10.0.0.1]:53'])).toBe('--upstream "[10.0.0.1]:53": not an IPv6 address inside [...]');
    expect(failure(['--upstream', '2001:db8::zz'])).toBe('--upstream "2001:db8::zz": not an IPv6 address (with a port, write [IPv6]:PORT)');
    expect(failure(['--upstream', 'fe80::1%eth0'])).toBe('--upstream "fe80::1%eth0": a zone id (%...) is not supported; use a global or ULA address');
    expect(failure(['--upstream', '[fe80::1%eth0]:53'])).toMatch(/a zone id/);
    expect(failure(['--upstream', '0.0.0.0'])).toBe('--upstream "0.0.0.0": the unspecified address is not a server to send to');
    expect(failure(['--upstream', '[::]:53'])).toBe('--upstream "[::]:53": the unspecified address is not a server to send to');
    expect(failure([], { ETCDNS_UPSTREAM: '10.0.0.1,,10.0.0.2' })).toBe('ETCDNS_UPSTREAM="10.0.0.1,,10.0.0.2": empty item in list');
  });

  it('refuses an upstream listed twice (53 written or not) and more than 15', () => {
    expect(failure(['--upstream', '10.0.0.1,10.0.0.1:53'])).toBe('--upstream "10.0.0.1:53": listed twice');
    expect(failure(['--upstream', '[2001:db8::1],2001:DB8::1'])).toBe('--upstream "2001:DB8::1": listed twice');
    const sixteen = Array.from({ length: 16 }, (_, i) => `10.0.0.${i + 1}`).join(',');
    expect(load(['--upstream', sixteen.split(',').slice(0, 15).join(',')]).upstream).toHaveLength(15);
    expect(failure(['--upstream', sixteen])).toMatch(/^--upstream "10\.0\.0\.1,10\.0\.0\.2,.*: takes at most 15 items$/);
  });
});

describe('forward (DOMAIN=ADDR[:PORT], grouped by domain)', () => {
  it('groups repeated flags by domain, in the order given', () => {
    expect(
      load(['--forward', 'corp.example=10.1.2.3', '--forward', 'lab.test=[2001:db8::53]:5353', '--forward', 'Corp.Example.=10.1.2.4:5353']).forward,
    ).toEqual([
      {
        zone: 'corp.example',
        upstreams: [
          { host: '10.1.2.3', port: 53 },
          { host: '10.1.2.4', port: 5353 },
        ],
      },
      { zone: 'lab.test', upstreams: [{ host: '2001:db8::53', port: 5353 }] },
    ]);
  });

  it('reads a comma-separated env variable and a config-file list the same way', () => {
    const expected = [{ zone: 'corp.example', upstreams: [{ host: '10.1.2.3', port: 53 }, { host: '10.1.2.4', port: 53 }] }];
    expect(load([], { ETCDNS_FORWARD: 'corp.example=10.1.2.3,corp.example=10.1.2.4' }).forward).toEqual(expected);
    file('forward.yaml', 'forward:\n  - corp.example=10.1.2.3\n  - corp.example=10.1.2.4\n');
    expect(load(['--config', 'forward.yaml'], {}, dir).forward).toEqual(expected);
    expect(load(['--forward=corp.example = 10.1.2.3', '--forward', 'corp.example=10.1.2.4']).forward).toEqual(expected);
  });

  it('is empty by default', () => {
    expect(load().forward).toEqual([]);
  });

  it('names the flag and the bad item', () => {
    expect(failure(['--forward', 'corp.example'])).toBe(
      '--forward "corp.example": write DOMAIN=ADDR[:PORT], e.g. corp.example=10.1.2.3 (repeat for more upstreams)',
    );
    expect(failure(['--forward', '=10.1.2.3'])).toBe('--forward "=10.1.2.3": missing DOMAIN before "="');
    expect(failure(['--forward', 'corp.example='])).toBe('--forward "corp.example=": missing ADDR[:PORT] after "="');
    expect(failure(['--forward', 'a..b=10.1.2.3'])).toBe('--forward "a..b=10.1.2.3": empty label in "a..b"');
    expect(failure(['--forward', '.=10.1.2.3'])).toBe('--forward ".=10.1.2.3": the root zone is what --upstream is for');
    expect(failure(['--forward', 'corp.example=dc1.corp.example'])).toMatch(/^--forward "corp.example=dc1.corp.example": must be an IP address/);
    expect(failure(['--forward', 'corp.example=10.1.2.3:0'])).toBe('--forward "corp.example=10.1.2.3:0": port must be 1-65535');
    expect(failure([], { ETCDNS_FORWARD: 'corp.example=10.1.2.3,corp.example=10.1.2.3:53' })).toBe(
      'ETCDNS_FORWARD="corp.example=10.1.2.3:53": listed twice',
    );
  });

  it('takes at most 15 upstreams for one domain', () => {
    const items = Array.from({ length: 16 }, (_, i) => `corp.example=10.1.2.${i + 1}`);
    expect(load([], { ETCDNS_FORWARD: items.slice(0, 15).join(',') }).forward[0]!.upstreams).toHaveLength(15);
    expect(failure([], { ETCDNS_FORWARD: items.join(',') })).toBe('ETCDNS_FORWARD="corp.example=10.1.2.16:53": more than 15 upstreams for one domain');
  });
});

describe('forwarding behaviour (policy, timeout, failures, health checks)', () => {
  it('parses each option', () => {
    const config = load(['--forward-policy', 'Sequential', '--forward-timeout', '1500ms', '--forward-max-fails', '5', '--forward-health-check', '2s']);
    expect(config.forwardPolicy).toBe('sequential');
    expect(config.forwardTimeoutMs).toBe(1500);
    expect(config.forwardMaxFails).toBe(5);
    expect(config.forwardHealthCheckMs).toBe(2000);
  });

  it('names the option and the problem', () => {
    expect(failure(['--forward-policy', 'round_robin'])).toBe('--forward-policy "round_robin": must be one of random, sequential');
    expect(failure(['--forward-timeout', '0'])).toBe('--forward-timeout "0": must be 1ms-1m');
    expect(failure(['--forward-timeout', '2m'])).toBe('--forward-timeout "2m": must be 1ms-1m');
    expect(failure(['--forward-max-fails', '0'])).toBe('--forward-max-fails "0": must be at least 1');
    expect(failure(['--forward-health-check', '50ms'])).toBe('--forward-health-check "50ms": must be 100ms-1h');
    expect(failure([], { ETCDNS_FORWARD_HEALTH_CHECK: 'often' })).toMatch(/^ETCDNS_FORWARD_HEALTH_CHECK="often": not a duration/);
  });
});

describe('abuse limits (rate-limit, rate-limit-slip, forward-max-concurrent)', () => {
  it('parse from flags, env and config files', () => {
    const config = load(['--rate-limit', '50', '--rate-limit-slip', '0', '--forward-max-concurrent', '20']);
    expect([config.rateLimit, config.rateLimitSlip, config.forwardMaxConcurrent]).toEqual([50, 0, 20]);
    expect(load([], { ETCDNS_RATE_LIMIT: '10', ETCDNS_RATE_LIMIT_SLIP: '10' })).toMatchObject({ rateLimit: 10, rateLimitSlip: 10 });
    file('limits.yaml', 'rate-limit: 100\nrateLimitSlip: 3\nforward-max-concurrent: 5000\n');
    expect(load(['--config', 'limits.yaml'], {}, dir)).toMatchObject({ rateLimit: 100, rateLimitSlip: 3, forwardMaxConcurrent: 5000 });
  });

  it('name the option and the problem, in one line', () => {
    expect(failure(['--rate-limit', '-1'])).toBe('--rate-limit "-1": must be 0-1000000');
    expect(failure(['--rate-limit', '1000001'])).toBe('--rate-limit "1000001": must be 0-1000000');
    expect(failure(['--rate-limit', '2.5'])).toBe('--rate-limit "2.5": must be a whole number');
    expect(failure([], { ETCDNS_RATE_LIMIT: 'lots' })).toBe('ETCDNS_RATE_LIMIT="lots": not a number');
    expect(failure(['--rate-limit-slip', '11'])).toBe('--rate-limit-slip "11": must be 0-10');
    expect(failure(['--forward-max-concurrent', '0'])).toBe('--forward-max-concurrent "0": must be at least 1');
    expect(failure(['--forward-max-concurrent', '1e3'])).toBe('--forward-max-concurrent "1e3": must be a whole number');
    expect(failure(['--rate-limit-slip', '3'])).toBe('--rate-limit-slip has no effect without --rate-limit (response-rate limiting is off)');
    expect(failure(['--no-forwarding', '--forward-max-concurrent', '10'])).toBe(
      '--forward-max-concurrent has no effect with --no-forwarding (names outside our zones are refused)',
    );
    file('bad-limits.json', '{"forward-max-concurrent": "many"}');
    expect(failure(['--config', 'bad-limits.json'], {}, dir)).toBe('config file bad-limits.json: forward-max-concurrent "many": not a number');
  });
});

describe('allow-recursion (list of CIDR)', () => {
  it('defaults to loopback, private, CGNAT, ULA and link-local networks', () => {
    expect(load().allowRecursion).toEqual(['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7', 'fe80::/10']);
  });

  it('keeps networks canonical; a bare address is one host; IPv4-mapped networks become IPv4', () => {
    expect(load(['--allow-recursion', '10.42.0.0/16,2001:DB8:0::/32', '--allow-recursion', '192.0.2.7', '--allow-recursion', '2001:db8::7']).allowRecursion).toEqual([
      '10.42.0.0/16',
      '2001:db8::/32',
      '192.0.2.7/32',
      '2001:db8::7/128',
    ]);
    expect(load(['--allow-recursion', '::ffff:10.0.0.0/104']).allowRecursion).toEqual(['10.0.0.0/8']);
    expect(load(['--allow-recursion', '0.0.0.0/0,::/0']).allowRecursion).toEqual(['0.0.0.0/0', '::/0']);
  });

  it('names the bad entry', () => {
    expect(failure(['--allow-recursion', '10.0.0.0/8,10.0.0.0/33'])).toBe('--allow-recursion "10.0.0.0/33": prefix length must be 0-32');
    expect(failure(['--allow-recursion', 'fc00::/129'])).toBe('--allow-recursion "fc00::/129": prefix length must be 0-128');
    expect(failure(['--allow-recursion', '10.0.0.0/'])).toBe('--allow-recursion "10.0.0.0/": prefix length must be 0-32');
    expect(failure(['--allow-recursion', '10.0.0.0/-1'])).toBe('--allow-recursion "10.0.0.0/-1": prefix length must be 0-32');
    expect(failure(['--allow-recursion', '10.0.0.0/8.0'])).toBe('--allow-recursion "10.0.0.0/8.0": prefix length must be 0-32');
    expect(failure(['--allow-recursion', '10.1.2.3/8'])).toBe(
      '--allow-recursion "10.1.2.3/8": host bits are set (the network is 10.0.0.0/8; for one host use /32)',
    );
    expect(failure(['--allow-recursion', 'fd00::1/8'])).toBe('--allow-recursion "fd00::1/8": host bits are set (the network is fd00::/8; for one host use /128)');
    expect(failure(['--allow-recursion', 'corp/8'])).toBe('--allow-recursion "corp/8": not an IPv4 or IPv6 network (write e.g. 10.0.0.0/8 or fc00::/7)');
    expect(failure(['--allow-recursion', '10.0.0/8'])).toMatch(/^--allow-recursion "10.0.0\/8": not an IPv4 or IPv6 network/);
    expect(failure(['--allow-recursion', 'fe80::%eth0/10'])).toBe('--allow-recursion "fe80::%eth0/10": a zone id (%...) has no place in a network');
    expect(failure([], { ETCDNS_ALLOW_RECURSION: '10.0.0.0/8,10.0.0.0/8' })).toBe('ETCDNS_ALLOW_RECURSION="10.0.0.0/8": listed twice');
  });
});

describe('cache options', () => {
  it('parse entries, bytes with k/m/g, and durations', () => {
    const config = load(['--cache-entries', '500', '--cache-bytes', '8m', '--cache-max-ttl', '5m', '--cache-max-negative-ttl', '0', '--serve-stale', '0']);
    expect(config.cacheEntries).toBe(500);
    expect(config.cacheBytes).toBe(8 * 1024 * 1024);
    expect(config.cacheMaxTtlMs).toBe(300_000);
    expect(config.cacheMaxNegativeTtlMs).toBe(0);
    expect(config.serveStaleMs).toBe(0);
    expect(load(['--cache-entries', '0']).cacheEntries).toBe(0);
    expect(load(['--serve-stale', '72h']).serveStaleMs).toBe(72 * 3_600_000);
  });

  it.each([
    ['65536', 65_536],
    ['64k', 65_536],
    ['64K', 65_536],
    ['64m', 67_108_864],
    ['1g', 1_073_741_824],
    [' 2G ', 2_147_483_648],
  ])('cache-bytes %j is %d bytes', (text, bytes) => {
    expect(load(['--cache-bytes', text]).cacheBytes).toBe(bytes);
  });

  it('takes cache-bytes as a number in a config file', () => {
    file('cache.json', '{"cacheBytes": 1048576, "cache-max-ttl": 600}');
    const config = load(['--config', 'cache.json'], {}, dir);
    expect(config.cacheBytes).toBe(1_048_576);
    expect(config.cacheMaxTtlMs).toBe(600_000);
  });

  it('names the option and the problem', () => {
    const size = 'not a size (write bytes, or a whole number with k, m or g, e.g. 64m; 1k is 1024)';
    expect(failure(['--cache-entries', '-1'])).toBe('--cache-entries "-1": must be at least 0');
    expect(failure(['--cache-bytes', '64'])).toBe('--cache-bytes "64": must be at least 64k');
    expect(failure(['--cache-bytes', '1.5m'])).toBe(`--cache-bytes "1.5m": ${size}`);
    expect(failure(['--cache-bytes', '64mb'])).toBe(`--cache-bytes "64mb": ${size}`);
    expect(failure(['--cache-bytes', '64 m'])).toBe(`--cache-bytes "64 m": ${size}`);
    expect(failure([], { ETCDNS_CACHE_BYTES: '' })).toBe(`ETCDNS_CACHE_BYTES="": ${size}`);
    file('cache-bad.json', '{"cache-bytes": 1.5}');
    expect(failure(['--config', 'cache-bad.json'], {}, dir)).toBe(`config file cache-bad.json: cache-bytes 1.5: ${size}`);
    expect(failure(['--cache-max-ttl', '0'])).toBe('--cache-max-ttl "0": must be 1s-168h');
    expect(failure(['--cache-max-ttl', '169h'])).toBe('--cache-max-ttl "169h": must be 1s-168h');
    expect(failure(['--cache-max-ttl', '1500ms'])).toBe('--cache-max-ttl "1500ms": must be a whole number of seconds');
    expect(failure(['--cache-max-negative-ttl', '25h'])).toBe('--cache-max-negative-ttl "25h": must be 0ms-24h');
    expect(failure(['--serve-stale', 'forever'])).toMatch(/^--serve-stale "forever": not a duration/);
    expect(failure(['--serve-stale', '1500ms'])).toBe('--serve-stale "1500ms": must be a whole number of seconds');
  });
});

describe('forwarding: rules between options', () => {
  it('--no-forwarding alone is fine, and turns every forwarding option into a mistake', () => {
    expect(load(['--no-forwarding']).forwarding).toBe(false);
    expect(load([], { ETCDNS_FORWARDING: 'false' }).forwarding).toBe(false);
    expect(failure(['--no-forwarding', '--upstream', '10.0.0.1'])).toBe('--upstream has no effect with --no-forwarding (names outside our zones are refused)');
    expect(failure(['--no-forwarding', '--forward', 'corp.example=10.1.2.3'])).toBe(
      '--forward has no effect with --no-forwarding (names outside our zones are refused)',
    );
    expect(failure(['--no-forwarding'], { ETCDNS_CACHE_ENTRIES: '100' })).toBe(
      '--cache-entries has no effect with --no-forwarding (names outside our zones are refused)',
    );
    file('no-forwarding.yaml', 'forwarding: false\nallow-recursion: [10.0.0.0/8]\n');
    expect(failure(['--config', 'no-forwarding.yaml'], {}, dir)).toBe(
      '--allow-recursion has no effect with --no-forwarding (names outside our zones are refused)',
    );
  });

  it('refuses an empty --allow-recursion while forwarding', () => {
    expect(failure([], { ETCDNS_ALLOW_RECURSION: '' })).toBe(
      '--allow-recursion is empty, so no client could use forwarding: list the client networks, or use --no-forwarding',
    );
  });

  it('refuses cache settings with the cache off', () => {
    expect(load(['--cache-entries', '0']).cacheEntries).toBe(0);
    expect(failure(['--cache-entries', '0', '--cache-bytes', '1m'])).toBe('--cache-bytes has no effect with --cache-entries 0 (the cache is off)');
    expect(failure(['--cache-entries', '0', '--serve-stale', '24h'])).toBe('--serve-stale has no effect with --cache-entries 0 (the cache is off)');
  });

  it('refuses an upstream that is etcdns itself (a forwarding loop)', () => {
    // The default --listen is 127.0.0.1:5353.
    expect(failure(['--upstream', '127.0.0.1:5353'])).toBe(
      '--upstream "127.0.0.1:5353": this is etcdns itself (--listen 127.0.0.1:5353); forwarding there would loop',
    );
    expect(failure(['--listen', '[::]:53', '--upstream', '127.0.0.53'])).toBe(
      '--upstream "127.0.0.53:53": a loopback address reaches etcdns itself on --listen [::]:53 (all local addresses); forwarding there would loop',
    );
    expect(failure(['--listen', '0.0.0.0:53', '--forward', 'corp.example=10.1.2.3,corp.example=127.0.0.1'])).toBe(
      '--forward "corp.example=127.0.0.1:53": a loopback address reaches etcdns itself on --listen 0.0.0.0:53 (all local addresses); forwarding there would loop',
    );
    // Another port, or another loopback address than the one we are bound to, is someone else.
    expect(load(['--upstream', '127.0.0.1:53']).upstream).toEqual([{ host: '127.0.0.1', port: 53 }]);
    expect(load(['--listen', '127.0.0.1:53', '--upstream', '127.0.0.53']).upstream).toEqual([{ host: '127.0.0.53', port: 53 }]);
    expect(load(['--listen', '0.0.0.0:53', '--upstream', '[::1]:53']).upstream).toEqual([{ host: '::1', port: 53 }]);
  });

  it('refuses a --forward domain inside an --etcd-zone (never forwarded: we answer it)', () => {
    const etcd = ['--etcd', 'http://127.0.0.1:2379', '--etcd-zone', 'example.com'];
    expect(failure([...etcd, '--forward', 'svc.example.com=10.1.2.3'])).toBe(
      '--forward "svc.example.com": inside --etcd-zone example.com, which etcdns answers itself, so it would never be forwarded',
    );
    expect(failure([...etcd, '--forward', 'EXAMPLE.com.=10.1.2.3'])).toMatch(/^--forward "example.com": inside --etcd-zone example.com/);
    expect(load([...etcd, '--forward', 'corp.example=10.1.2.3']).forward).toHaveLength(1);
  });
});

describe('the result', () => {
  it('is deeply frozen', () => {
    const config = load(['--listen', '127.0.0.1:53', '--zones', 'z']);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.listen)).toBe(true);
    expect(Object.isFrozen(config.listen[0])).toBe(true);
    expect(() => {
      (config as { zones: string }).zones = 'other';
    }).toThrow(TypeError);
    expect(() => {
      (config.listen as { host: string; port: number }[]).push({ host: '::', port: 1 });
    }).toThrow(TypeError);
    expect(() => {
      (config.listen[0] as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => (config.explicit as Set<string>).add('chaos')).toThrow(TypeError);
    expect(() => (config.explicit as Set<string>).delete('zones')).toThrow(TypeError);
    expect(config.explicit.has('zones')).toBe(true);
  });

  it('freezes nested values (the upstreams of a --forward domain)', () => {
    const config = load(['--forward', 'corp.example=10.1.2.3']);
    expect(Object.isFrozen(config.forward[0])).toBe(true);
    expect(Object.isFrozen(config.forward[0]!.upstreams)).toBe(true);
    expect(Object.isFrozen(config.forward[0]!.upstreams[0])).toBe(true);
  });
});
