/** Reading flags (yargs' argv or raw arguments), ETCDNS_* variables and config files. */
import { afterAll, describe, expect, it } from 'vitest';
import { configFailure, loadConfig, tempConfigDir } from '../../test/support/config.js';
import { camelName, type OptionSpec } from './option-spec.js';
import { SERVE_OPTIONS } from './serve-options.js';

const { dir, file, remove } = tempConfigDir();
afterAll(remove);

describe('flags', () => {
  it('accept what yargs produces (kebab and camelCase keys, repeated values)', () => {
    const config = loadConfig({
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
    expect(config.listen).toEqual([
      { host: '127.0.0.1', port: 53 },
      { host: '::1', port: 53 },
    ]);
    expect(config.chaos).toBe(false);
    expect(config.logQueries).toBe(true);
    expect(config.zones).toBe('/srv/etcdns/b');
    expect([...config.explicit].sort()).toEqual(['chaos', 'edns-udp-size', 'listen', 'log-queries', 'zones']);
  });

  it('refuse unknown options, naming them', () => {
    expect(configFailure({ _: ['serve'], lisen: 'x' })).toBe('unknown option --lisen (did you mean --listen?)');
    expect(configFailure(['--lisen', '127.0.0.1:53'])).toBe('unknown option --lisen (did you mean --listen?)');
    expect(configFailure(['--frobnicate'])).toBe('unknown option --frobnicate');
    expect(configFailure(['--no-listen'])).toBe('unknown option --no-listen');
    expect(configFailure(['serve'])).toBe('unexpected argument "serve"');
    expect(configFailure(['--zones'])).toBe('--zones needs a value');
    expect(configFailure(['--zones', '--chaos'])).toBe('--zones needs a value');
  });
});

describe('environment', () => {
  it('refuses an ETCDNS_ variable that is not an option', () => {
    expect(configFailure([], { ETCDNS_LISTN: '127.0.0.1:53' })).toBe('unknown environment variable ETCDNS_LISTN (did you mean ETCDNS_LISTEN?)');
    expect(configFailure([], { ETCDNS_FOO: '1' })).toBe('unknown environment variable ETCDNS_FOO');
  });
});

describe('config file', () => {
  it('reads YAML, with kebab-case and camelCase keys', () => {
    const path = file(
      'etcdns.yaml',
      ['listen:', '  - 127.0.0.1:53', '  - "[::1]:53"', 'zones: /var/zones', 'ednsUdpSize: 1400', 'tcp-idle-timeout: 2m', 'log-queries: yes', 'chaos: false', ''].join('\n'),
    );
    const config = loadConfig(['--config', path]);
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
    const config = loadConfig([], { ETCDNS_CONFIG: 'etcdns.json' }, dir);
    expect(config.tcpIdleTimeoutMs).toBe(3000);
    expect(config.listen).toEqual([
      { host: '127.0.0.1', port: 53 },
      { host: '127.0.0.2', port: 53 },
    ]);
    expect(config.logLevel).toBe('debug');
    file('etcdns.conf', '{"chaos": false}');
    expect(loadConfig(['--config', 'etcdns.conf'], {}, dir).chaos).toBe(false);
    file('etcdns.yml', 'chaos: false\n');
    expect(loadConfig(['--config', 'etcdns.yml'], {}, dir).chaos).toBe(false);
  });

  it('treats an empty YAML file as setting nothing', () => {
    const path = file('empty.yaml', '# nothing yet\n');
    expect(loadConfig(['--config', path]).ednsUdpSize).toBe(1232);
  });

  it('names the file and the key in errors', () => {
    file('typo.yaml', 'lisen: 127.0.0.1:53\n');
    expect(configFailure(['--config', 'typo.yaml'], {}, dir)).toBe('config file typo.yaml: unknown key "lisen" (did you mean listen?)');
    file('size.yaml', 'edns-udp-size: 99999\n');
    expect(configFailure(['--config', 'size.yaml'], {}, dir)).toBe('config file size.yaml: edns-udp-size 99999: must be 512-4096');
    file('camel.json', '{"ednsUdpSize": "big"}');
    expect(configFailure(['--config', 'camel.json'], {}, dir)).toBe('config file camel.json: ednsUdpSize "big": not a number');
    file('item.json', '{"listen": ["127.0.0.1:53", 53]}');
    expect(configFailure(['--config', 'item.json'], {}, dir)).toBe('config file item.json: listen 53: must be a string');
    file('nested.yaml', 'zones:\n  dir: x\n');
    expect(configFailure(['--config', 'nested.yaml'], {}, dir)).toBe('config file nested.yaml: zones {"dir":"x"}: must be a string');
    file('bool.yaml', 'chaos: maybe\n');
    expect(configFailure(['--config', 'bool.yaml'], {}, dir)).toBe('config file bool.yaml: chaos "maybe": must be true or false (or 1/0, yes/no)');
  });

  it('refuses broken files, non-mappings, duplicate and forbidden keys', () => {
    expect(configFailure(['--config', 'missing.yaml'], {}, dir)).toBe('config file missing.yaml: not found');
    file('bad.json', '{"listen": ');
    expect(configFailure(['--config', 'bad.json'], {}, dir)).toMatch(/^config file bad\.json: invalid JSON: /);
    file('bad.yaml', 'listen: [1\n');
    expect(configFailure(['--config', 'bad.yaml'], {}, dir)).toMatch(/^config file bad\.yaml: invalid YAML: /);
    file('dup.yaml', 'zones: a\nzones: b\n');
    expect(configFailure(['--config', 'dup.yaml'], {}, dir)).toMatch(/^config file dup\.yaml: invalid YAML: /);
    file('list.yaml', '- listen\n');
    expect(configFailure(['--config', 'list.yaml'], {}, dir)).toBe('config file list.yaml: must be a mapping of option names to values');
    file('both.json', '{"edns-udp-size": 1400, "ednsUdpSize": 1400}');
    expect(configFailure(['--config', 'both.json'], {}, dir)).toBe('config file both.json: "edns-udp-size" and "ednsUdpSize" are the same option');
    file('self.yaml', 'config: other.yaml\n');
    expect(configFailure(['--config', 'self.yaml'], {}, dir)).toBe('config file self.yaml: key "config" cannot be set in a config file');
    expect(configFailure(['--config', ''], {}, dir)).toBe('--config "": must not be empty');
  });

  it('accepts camelCase for every option', () => {
    file('camel-two.json', JSON.stringify({ tcpMaxConnectionsPerClient: 3, logFormat: 'json' }));
    const two = loadConfig(['--config', 'camel-two.json'], {}, dir);
    expect(two.tcpMaxConnectionsPerClient).toBe(3);
    expect(two.logFormat).toBe('json');

    // Every option that has a default, set to it under its camelCase key: each key is taken
    // (it counts as set) and means what the kebab-case one does (the values are the defaults).
    const settable = (SERVE_OPTIONS as readonly OptionSpec[]).filter((o) => o.inConfigFile && o.default !== undefined);
    const body: Record<string, unknown> = Object.fromEntries(settable.map((o) => [camelName(o.name), o.default]));
    expect(body).toHaveProperty('tcpMaxConnectionsPerClient', 64);
    body.rateLimit = 10; // --rate-limit-slip means nothing without it
    const path = file('camel-all.json', JSON.stringify(body));
    const config = loadConfig(['--config', 'camel-all.json'], {}, dir);
    expect([...config.explicit].sort()).toEqual([...settable.map((o) => o.name), 'config'].sort());
    const defaults = loadConfig([], {}, dir);
    expect({ ...config, explicit: undefined }).toEqual({ ...defaults, explicit: undefined, rateLimit: 10, configFile: path });
  });
});
