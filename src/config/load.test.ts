import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadServeConfig, type ServeConfig } from './load.js';
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
      ['zones', 'string', 'zones', 'ETCDNS_ZONES'],
      ['edns-udp-size', 'integer', '1232', 'ETCDNS_EDNS_UDP_SIZE'],
      ['tcp-idle-timeout', 'duration', '10s', 'ETCDNS_TCP_IDLE_TIMEOUT'],
      ['tcp-max-connections', 'integer', '1024', 'ETCDNS_TCP_MAX_CONNECTIONS'],
      ['tcp-max-connections-per-client', 'integer', '64', 'ETCDNS_TCP_MAX_CONNECTIONS_PER_CLIENT'],
      ['tcp-max-queries-per-connection', 'integer', '0', 'ETCDNS_TCP_MAX_QUERIES_PER_CONNECTION'],
      ['log-level', 'enum', 'info', 'ETCDNS_LOG_LEVEL'],
      ['log-format', 'enum', 'auto', 'ETCDNS_LOG_FORMAT'],
      ['log-queries', 'boolean', 'false', 'ETCDNS_LOG_QUERIES'],
      ['chaos', 'boolean', 'true', 'ETCDNS_CHAOS'],
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
      zones: '/srv/etcdns/zones',
      ednsUdpSize: 1232,
      tcpIdleTimeoutMs: 10_000,
      tcpMaxConnections: 1024,
      tcpMaxConnectionsPerClient: 64,
      tcpMaxQueriesPerConnection: 0,
      logLevel: 'info',
      logFormat: 'auto',
      logQueries: false,
      chaos: true,
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
});
