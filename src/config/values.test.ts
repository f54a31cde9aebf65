/**
 * The value kinds every option shares (whole numbers, durations, booleans, enums, strings and
 * paths, byte sizes), through the options that use them: what each accepts, its bounds, and
 * the one-line message naming the option when a value is refused.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { configFailure, loadConfig, tempConfigDir } from '../../test/support/config.js';
import { formatDuration, parseInteger } from './values.js';

const { dir, file, remove } = tempConfigDir();
afterAll(remove);

describe('integers', () => {
  it('parse decimal digits from flags, env and files', () => {
    expect(loadConfig(['--edns-udp-size', '4096']).ednsUdpSize).toBe(4096);
    expect(loadConfig([], { ETCDNS_EDNS_UDP_SIZE: ' 512 ' }).ednsUdpSize).toBe(512);
    expect(loadConfig(['--tcp-max-queries-per-connection', '0']).tcpMaxQueriesPerConnection).toBe(0);
    expect(loadConfig(['--tcp-max-connections=5']).tcpMaxConnections).toBe(5);
  });

  it('name the key and the problem', () => {
    expect(configFailure([], { ETCDNS_EDNS_UDP_SIZE: 'abc' })).toBe('ETCDNS_EDNS_UDP_SIZE="abc": not a number');
    expect(configFailure(['--edns-udp-size', '511'])).toBe('--edns-udp-size "511": must be 512-4096');
    expect(configFailure(['--edns-udp-size', '4097'])).toBe('--edns-udp-size "4097": must be 512-4096');
    expect(configFailure(['--edns-udp-size', '1232.5'])).toBe('--edns-udp-size "1232.5": must be a whole number');
    expect(configFailure(['--edns-udp-size', '1e3'])).toBe('--edns-udp-size "1e3": must be a whole number');
    expect(configFailure(['--edns-udp-size', '0x400'])).toBe('--edns-udp-size "0x400": not a number');
    expect(configFailure(['--edns-udp-size', ''])).toBe('--edns-udp-size "": not a number');
    expect(configFailure(['--tcp-max-connections', '0'])).toBe('--tcp-max-connections "0": must be at least 1');
    expect(configFailure(['--tcp-max-connections-per-client', '-1'])).toBe('--tcp-max-connections-per-client "-1": must be at least 1');
    expect(configFailure(['--tcp-max-queries-per-connection', '-1'])).toBe('--tcp-max-queries-per-connection "-1": must be at least 0');
    expect(configFailure(['--tcp-max-connections', '99999999999999999999'])).toBe('--tcp-max-connections "99999999999999999999": must be at most 9007199254740991');
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
    expect(loadConfig(['--tcp-idle-timeout', text]).tcpIdleTimeoutMs).toBe(ms);
  });

  it('name the key and the problem', () => {
    const usage = 'not a duration (write e.g. 500ms, 10s, 2m, 1h, or a number of seconds)';
    expect(configFailure(['--tcp-idle-timeout', 'abc'])).toBe(`--tcp-idle-timeout "abc": ${usage}`);
    expect(configFailure([], { ETCDNS_TCP_IDLE_TIMEOUT: '10x' })).toBe(`ETCDNS_TCP_IDLE_TIMEOUT="10x": ${usage}`);
    expect(configFailure(['--tcp-idle-timeout', '-1s'])).toBe(`--tcp-idle-timeout "-1s": ${usage}`);
    expect(configFailure(['--tcp-idle-timeout', '0'])).toBe('--tcp-idle-timeout "0": must be 1ms-2147483647ms');
    // Node timers cannot wait longer than 2^31-1 ms; a longer timeout would fire at once.
    expect(configFailure(['--tcp-idle-timeout', '25d'])).toMatch(/not a duration/);
    expect(configFailure(['--tcp-idle-timeout', '600h'])).toBe('--tcp-idle-timeout "600h": must be 1ms-2147483647ms');
  });

  it('format back in the largest exact unit', () => {
    expect([500, 10_000, 120_000, 3_600_000, 1500].map(formatDuration)).toEqual(['500ms', '10s', '2m', '1h', '1500ms']);
  });
});

describe('booleans', () => {
  it('take --flag, --no-flag, --flag=VALUE and --flag VALUE', () => {
    expect(loadConfig(['--log-queries']).logQueries).toBe(true);
    expect(loadConfig(['--no-chaos']).chaos).toBe(false);
    expect(loadConfig(['--chaos=false']).chaos).toBe(false);
    expect(loadConfig(['--chaos', 'false', '--log-queries', 'true']).logQueries).toBe(true);
    expect(loadConfig(['--chaos', 'false']).chaos).toBe(false);
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
    expect(loadConfig([], { ETCDNS_LOG_QUERIES: text }).logQueries).toBe(value);
  });

  it('refuse anything else', () => {
    const usage = 'must be true or false (or 1/0, yes/no)';
    expect(configFailure([], { ETCDNS_LOG_QUERIES: 'on' })).toBe(`ETCDNS_LOG_QUERIES="on": ${usage}`);
    expect(configFailure([], { ETCDNS_CHAOS: '' })).toBe(`ETCDNS_CHAOS="": ${usage}`);
    expect(configFailure(['--chaos=maybe'])).toBe(`--chaos "maybe": ${usage}`);
  });
});

describe('enums', () => {
  it('accept the choices, in any case', () => {
    expect(loadConfig(['--log-level', 'debug']).logLevel).toBe('debug');
    expect(loadConfig([], { ETCDNS_LOG_LEVEL: 'WARN' }).logLevel).toBe('warn');
    expect(loadConfig(['--log-format', 'json']).logFormat).toBe('json');
  });

  it('list the choices when refusing', () => {
    expect(configFailure(['--log-level', 'verbose'])).toBe(
      '--log-level "verbose": must be one of fatal, error, warn, info, debug, trace, silent',
    );
    expect(configFailure([], { ETCDNS_LOG_FORMAT: 'text' })).toBe('ETCDNS_LOG_FORMAT="text": must be one of auto, json, pretty');
  });
});

describe('strings and paths', () => {
  it('resolve the zones directory against cwd', () => {
    expect(loadConfig(['--zones', 'data/zones']).zones).toBe('/srv/etcdns/data/zones');
    expect(loadConfig(['--zones', '/var/lib/zones']).zones).toBe('/var/lib/zones');
  });

  it('refuse an empty value', () => {
    expect(configFailure(['--zones', ''])).toBe('--zones "": must not be empty');
    expect(configFailure([], { ETCDNS_ZONES: '' })).toBe('ETCDNS_ZONES="": must not be empty');
  });
});

describe('etcd durations', () => {
  it('takes a default TTL in whole seconds, 1s to 24h', () => {
    expect(loadConfig(['--etcd-default-ttl', '30']).etcdDefaultTtlMs).toBe(30_000);
    expect(loadConfig(['--etcd-default-ttl', '1h']).etcdDefaultTtlMs).toBe(3_600_000);
    expect(loadConfig(['--etcd-default-ttl', '24h']).etcdDefaultTtlMs).toBe(86_400_000);
    expect(configFailure(['--etcd-default-ttl', '1500ms'])).toBe('--etcd-default-ttl "1500ms": must be a whole number of seconds');
    expect(configFailure(['--etcd-default-ttl', '0'])).toBe('--etcd-default-ttl "0": must be 1s-24h');
    expect(configFailure(['--etcd-default-ttl', '500ms'])).toBe('--etcd-default-ttl "500ms": must be 1s-24h');
    expect(configFailure(['--etcd-default-ttl', '25h'])).toBe('--etcd-default-ttl "25h": must be 1s-24h');
  });

  it('takes max-stale as any duration, 0 for forever', () => {
    expect(loadConfig().maxStaleMs).toBe(0);
    expect(loadConfig(['--max-stale', '5m']).maxStaleMs).toBe(300_000);
    expect(loadConfig([], { ETCDNS_MAX_STALE: '90s' }).maxStaleMs).toBe(90_000);
    expect(configFailure(['--max-stale', 'forever'])).toMatch(/^--max-stale "forever": not a duration/);
  });
});

describe('lameduck', () => {
  it('is 5s by default, as in CoreDNS, and takes any duration up to 10m, 0 for none', () => {
    expect(loadConfig().lameduckMs).toBe(5000);
    expect(loadConfig(['--lameduck', '0']).lameduckMs).toBe(0);
    expect(loadConfig(['--lameduck', '1500ms']).lameduckMs).toBe(1500);
    expect(loadConfig([], { ETCDNS_LAMEDUCK: '20s' }).lameduckMs).toBe(20_000);
    expect(loadConfig(['--lameduck', '10m']).lameduckMs).toBe(600_000);
    file('lameduck.yaml', 'lameduck: 7s\n');
    expect(loadConfig(['--config', 'lameduck.yaml'], {}, dir).lameduckMs).toBe(7000);
    // A bare number in JSON is seconds, like every duration.
    file('lameduck.json', '{"lameduck": 3}');
    expect(loadConfig(['--config', 'lameduck.json'], {}, dir).lameduckMs).toBe(3000);
  });

  it('names the option and the problem', () => {
    expect(configFailure(['--lameduck', '5h'])).toBe('--lameduck "5h": must be 0ms-10m');
    expect(configFailure([], { ETCDNS_LAMEDUCK: 'soon' })).toMatch(/^ETCDNS_LAMEDUCK="soon": not a duration/);
    expect(configFailure(['--lameduck', '-1s'])).toMatch(/^--lameduck "-1s": not a duration/);
  });
});

describe('forwarding behaviour (policy, timeout, failures, health checks)', () => {
  it('parses each option', () => {
    const config = loadConfig(['--forward-policy', 'Sequential', '--forward-timeout', '1500ms', '--forward-max-fails', '5', '--forward-health-check', '2s']);
    expect(config.forwardPolicy).toBe('sequential');
    expect(config.forwardTimeoutMs).toBe(1500);
    expect(config.forwardMaxFails).toBe(5);
    expect(config.forwardHealthCheckMs).toBe(2000);
  });

  it('names the option and the problem', () => {
    expect(configFailure(['--forward-policy', 'round_robin'])).toBe('--forward-policy "round_robin": must be one of random, sequential');
    expect(configFailure(['--forward-timeout', '0'])).toBe('--forward-timeout "0": must be 1ms-1m');
    expect(configFailure(['--forward-timeout', '2m'])).toBe('--forward-timeout "2m": must be 1ms-1m');
    expect(configFailure(['--forward-max-fails', '0'])).toBe('--forward-max-fails "0": must be at least 1');
    expect(configFailure(['--forward-health-check', '50ms'])).toBe('--forward-health-check "50ms": must be 100ms-1h');
    expect(configFailure([], { ETCDNS_FORWARD_HEALTH_CHECK: 'often' })).toMatch(/^ETCDNS_FORWARD_HEALTH_CHECK="often": not a duration/);
  });
});

describe('abuse limits (rate-limit, rate-limit-slip, forward-max-concurrent)', () => {
  it('parse from flags, env and config files', () => {
    const config = loadConfig(['--rate-limit', '50', '--rate-limit-slip', '0', '--forward-max-concurrent', '20']);
    expect([config.rateLimit, config.rateLimitSlip, config.forwardMaxConcurrent]).toEqual([50, 0, 20]);
    expect(loadConfig([], { ETCDNS_RATE_LIMIT: '10', ETCDNS_RATE_LIMIT_SLIP: '10' })).toMatchObject({ rateLimit: 10, rateLimitSlip: 10 });
    file('limits.yaml', 'rate-limit: 100\nrateLimitSlip: 3\nforward-max-concurrent: 5000\n');
    expect(loadConfig(['--config', 'limits.yaml'], {}, dir)).toMatchObject({ rateLimit: 100, rateLimitSlip: 3, forwardMaxConcurrent: 5000 });
  });

  it('name the option and the problem, in one line', () => {
    expect(configFailure(['--rate-limit', '-1'])).toBe('--rate-limit "-1": must be 0-1000000');
    expect(configFailure(['--rate-limit', '1000001'])).toBe('--rate-limit "1000001": must be 0-1000000');
    expect(configFailure(['--rate-limit', '2.5'])).toBe('--rate-limit "2.5": must be a whole number');
    expect(configFailure([], { ETCDNS_RATE_LIMIT: 'lots' })).toBe('ETCDNS_RATE_LIMIT="lots": not a number');
    expect(configFailure(['--rate-limit-slip', '11'])).toBe('--rate-limit-slip "11": must be 0-10');
    expect(configFailure(['--forward-max-concurrent', '0'])).toBe('--forward-max-concurrent "0": must be at least 1');
    expect(configFailure(['--forward-max-concurrent', '1e3'])).toBe('--forward-max-concurrent "1e3": must be a whole number');
    file('bad-limits.json', '{"forward-max-concurrent": "many"}');
    expect(configFailure(['--config', 'bad-limits.json'], {}, dir)).toBe('config file bad-limits.json: forward-max-concurrent "many": not a number');
  });
});

describe('cache options', () => {
  it('parse entries, bytes with k/m/g, and durations', () => {
    const config = loadConfig(['--cache-entries', '500', '--cache-bytes', '8m', '--cache-max-ttl', '5m', '--cache-max-negative-ttl', '0', '--serve-stale', '0']);
    expect(config.cacheEntries).toBe(500);
    expect(config.cacheBytes).toBe(8 * 1024 * 1024);
    expect(config.cacheMaxTtlMs).toBe(300_000);
    expect(config.cacheMaxNegativeTtlMs).toBe(0);
    expect(config.serveStaleMs).toBe(0);
    expect(loadConfig(['--cache-entries', '0']).cacheEntries).toBe(0);
    expect(loadConfig(['--serve-stale', '72h']).serveStaleMs).toBe(72 * 3_600_000);
  });

  it.each([
    ['65536', 65_536],
    ['64k', 65_536],
    ['64K', 65_536],
    ['64m', 67_108_864],
    ['1g', 1_073_741_824],
    [' 2G ', 2_147_483_648],
  ])('cache-bytes %j is %d bytes', (text, bytes) => {
    expect(loadConfig(['--cache-bytes', text]).cacheBytes).toBe(bytes);
  });

  it('takes cache-bytes as a number in a config file', () => {
    file('cache.json', '{"cacheBytes": 1048576, "cache-max-ttl": 600}');
    const config = loadConfig(['--config', 'cache.json'], {}, dir);
    expect(config.cacheBytes).toBe(1_048_576);
    expect(config.cacheMaxTtlMs).toBe(600_000);
  });

  it('names the option and the problem', () => {
    const size = 'not a size (write bytes, or a whole number with k, m or g, e.g. 64m; 1k is 1024)';
    expect(configFailure(['--cache-entries', '-1'])).toBe('--cache-entries "-1": must be at least 0');
    expect(configFailure(['--cache-bytes', '64'])).toBe('--cache-bytes "64": must be at least 64k');
    expect(configFailure(['--cache-bytes', '1.5m'])).toBe(`--cache-bytes "1.5m": ${size}`);
    expect(configFailure(['--cache-bytes', '64mb'])).toBe(`--cache-bytes "64mb": ${size}`);
    expect(configFailure(['--cache-bytes', '64 m'])).toBe(`--cache-bytes "64 m": ${size}`);
    expect(configFailure([], { ETCDNS_CACHE_BYTES: '' })).toBe(`ETCDNS_CACHE_BYTES="": ${size}`);
    file('cache-bad.json', '{"cache-bytes": 1.5}');
    expect(configFailure(['--config', 'cache-bad.json'], {}, dir)).toBe(`config file cache-bad.json: cache-bytes 1.5: ${size}`);
    expect(configFailure(['--cache-max-ttl', '0'])).toBe('--cache-max-ttl "0": must be 1s-168h');
    expect(configFailure(['--cache-max-ttl', '169h'])).toBe('--cache-max-ttl "169h": must be 1s-168h');
    expect(configFailure(['--cache-max-ttl', '1500ms'])).toBe('--cache-max-ttl "1500ms": must be a whole number of seconds');
    expect(configFailure(['--cache-max-negative-ttl', '25h'])).toBe('--cache-max-negative-ttl "25h": must be 0ms-24h');
    expect(configFailure(['--serve-stale', 'forever'])).toMatch(/^--serve-stale "forever": not a duration/);
    expect(configFailure(['--serve-stale', '1500ms'])).toBe('--serve-stale "1500ms": must be a whole number of seconds');
  });
});

describe('ValueError', () => {
  it('has a stable code, and the problem alone as its message (the loader adds where)', () => {
    let caught: unknown;
    try {
      parseInteger('x');
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ name: 'ValueError', code: 'ETCDNS_ERR_CONFIG_VALUE', message: 'not a number' });
  });
});
