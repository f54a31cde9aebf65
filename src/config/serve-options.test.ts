/** The option table itself: names, kinds, defaults, and a value in ServeConfig for each. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../test/support/config.js';
import { defaultText, type OptionSpec } from './option-spec.js';
import { SERVE_OPTIONS } from './serve-options.js';

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
      ['compat', 'enum', 'rfc', 'ETCDNS_COMPAT'],
      ['max-stale', 'duration', '0', 'ETCDNS_MAX_STALE'],
      ['etcd-max-lag', 'duration', '30s', 'ETCDNS_ETCD_MAX_LAG'],
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
      ['rotate', 'enum', 'on', 'ETCDNS_ROTATE'],
      ['nsid', 'string', 'auto', 'ETCDNS_NSID'],
      ['transfer-allow', 'list', 'none', 'ETCDNS_TRANSFER_ALLOW'],
      ['tsig-key', 'list', 'none', 'ETCDNS_TSIG_KEY'],
      ['tsig-key-file', 'string', 'none', 'ETCDNS_TSIG_KEY_FILE'],
      ['notify', 'list', 'none', 'ETCDNS_NOTIFY'],
      ['notify-key', 'string', 'none', 'ETCDNS_NOTIFY_KEY'],
      ['notify-delay', 'duration', '1s', 'ETCDNS_NOTIFY_DELAY'],
      ['ixfr-journal', 'integer', '1000', 'ETCDNS_IXFR_JOURNAL'],
      ['ixfr-journal-bytes', 'size', '64m', 'ETCDNS_IXFR_JOURNAL_BYTES'],
      ['update-policy', 'list', 'none', 'ETCDNS_UPDATE_POLICY'],
      ['update-allow', 'list', 'none', 'ETCDNS_UPDATE_ALLOW'],
      ['update-lease-min', 'duration', '5s', 'ETCDNS_UPDATE_LEASE_MIN'],
      ['update-lease-max', 'duration', '24h', 'ETCDNS_UPDATE_LEASE_MAX'],
      ['health-listen', 'string', '127.0.0.1:8080', 'ETCDNS_HEALTH_LISTEN'],
      ['ready-listen', 'string', '127.0.0.1:8181', 'ETCDNS_READY_LISTEN'],
      ['metrics-listen', 'string', '127.0.0.1:9153', 'ETCDNS_METRICS_LISTEN'],
      ['lameduck', 'duration', '5s', 'ETCDNS_LAMEDUCK'],
      ['config', 'string', 'none', 'ETCDNS_CONFIG'],
    ]);
  });

  it('gives every option a value in ServeConfig', () => {
    const config = loadConfig();
    for (const o of options) expect(config, o.name).toHaveProperty(o.key);
    expect(Object.keys(config).sort()).toEqual([...options.map((o) => o.key), 'explicit'].sort());
  });
});

describe('defaults', () => {
  it('are used when nothing is set', () => {
    const config = loadConfig();
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
      compat: 'rfc',
      maxStaleMs: 0,
      etcdMaxLagMs: 30_000,
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
      rotate: 'on',
      nsid: 'auto',
      transferAllow: [],
      tsigKey: [],
      tsigKeyFile: undefined,
      notify: [],
      notifyKey: undefined,
      notifyDelayMs: 1000,
      ixfrJournal: 1000,
      ixfrJournalBytes: 64 * 1024 * 1024,
      updatePolicy: [],
      updateAllow: [],
      updateLeaseMinMs: 5000,
      updateLeaseMaxMs: 86_400_000,
      healthListen: { host: '127.0.0.1', port: 8080 },
      readyListen: { host: '127.0.0.1', port: 8181 },
      metricsListen: { host: '127.0.0.1', port: 9153 },
      lameduckMs: 5000,
      configFile: undefined,
      explicit: [],
    });
  });

  it('take --rotate off and an --nsid text, and refuse an NSID over 128 octets naming the option', () => {
    const config = loadConfig(['--rotate', 'off', '--nsid', 'replica-7']);
    expect([config.rotate, config.nsid]).toEqual(['off', 'replica-7']);
    expect(() => loadConfig(['--rotate', 'sometimes'])).toThrow(/--rotate.*must be one of on, off/);
    expect(() => loadConfig(['--nsid', 'x'.repeat(129)])).toThrow(/--nsid.*at most 128 octets/);
  });

  it('ignore environment variables without the ETCDNS_ prefix', () => {
    expect(loadConfig([], { PATH: '/bin', etcdns_listen: 'x', ETCDNSLISTEN: 'y' }).listen).toEqual([{ host: '127.0.0.1', port: 5353 }]);
  });
});
