/** The loader as a whole: precedence between sources, the frozen result, the redacted view. */
import { afterAll, describe, expect, it } from 'vitest';
import { configFailure, loadConfig, tempConfigDir } from '../../test/support/config.js';
import { redactConfig } from './load.js';

const { dir, file, remove } = tempConfigDir();
afterAll(remove);

describe('precedence: flag > env > config file > default', () => {
  const path = file('precedence.yaml', 'edns-udp-size: 1400\nlisten: [10.0.0.1:53, 10.0.0.2:53]\nzones: from-file\n');

  it('takes each option from the highest source that sets it', () => {
    const env = { ETCDNS_CONFIG: path, ETCDNS_EDNS_UDP_SIZE: '1300', ETCDNS_ZONES: 'from-env' };
    const all = loadConfig(['--edns-udp-size', '1200'], env);
    expect(all.ednsUdpSize).toBe(1200);
    expect(all.zones).toBe('/srv/etcdns/from-env');
    expect(all.listen.map((a) => a.host)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(loadConfig([], env).ednsUdpSize).toBe(1300);
    expect(loadConfig([], { ETCDNS_CONFIG: path }).ednsUdpSize).toBe(1400);
    expect(loadConfig([], { ETCDNS_CONFIG: path }).zones).toBe('/srv/etcdns/from-file');
    expect(loadConfig().ednsUdpSize).toBe(1232);
  });

  it('replaces lists rather than merging them', () => {
    expect(loadConfig(['--listen', '127.0.0.1:53', '--config', path]).listen).toEqual([{ host: '127.0.0.1', port: 53 }]);
  });

  it('prefers --config over ETCDNS_CONFIG', () => {
    const other = file('other.yaml', 'edns-udp-size: 2000\n');
    expect(loadConfig(['--config', other], { ETCDNS_CONFIG: path }).ednsUdpSize).toBe(2000);
  });

  it('still checks values that a higher source overrides', () => {
    expect(configFailure(['--edns-udp-size', '1200'], { ETCDNS_EDNS_UDP_SIZE: 'abc' })).toBe('ETCDNS_EDNS_UDP_SIZE="abc": not a number');
  });

  it('records what was set explicitly, whatever the source', () => {
    const config = loadConfig(['--chaos'], { ETCDNS_CONFIG: path, ETCDNS_LOG_LEVEL: 'warn' });
    expect([...config.explicit].sort()).toEqual(['chaos', 'config', 'edns-udp-size', 'listen', 'log-level', 'zones']);
    // Setting a value equal to the default still counts as asked for.
    expect(loadConfig(['--zones', 'zones']).explicit.has('zones')).toBe(true);
    expect(loadConfig().explicit.has('zones')).toBe(false);
  });
});

describe('the result', () => {
  it('is deeply frozen', () => {
    const config = loadConfig(['--listen', '127.0.0.1:53', '--zones', 'z']);
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
    const config = loadConfig(['--forward', 'corp.example=10.1.2.3']);
    expect(Object.isFrozen(config.forward[0])).toBe(true);
    expect(Object.isFrozen(config.forward[0]!.upstreams)).toBe(true);
    expect(Object.isFrozen(config.forward[0]!.upstreams[0])).toBe(true);
  });
});

describe('redaction', () => {
  const https = ['--etcd', 'https://127.0.0.1:2379', '--etcd-zone', 'example.com'];

  it('never shows the password, in errors or in the redacted config', () => {
    file('secret.json', '{"etcd-password": 123456}');
    expect(configFailure(['--config', 'secret.json'], {}, dir)).toBe('config file secret.json: etcd-password [redacted]: must be a string');
    const config = loadConfig([...https, '--etcd-username', 'dns'], { ETCDNS_ETCD_PASSWORD: 's3cret' });
    const shown = redactConfig(config);
    expect(shown.etcdPassword).toBe('[redacted]');
    expect(shown.etcdUsername).toBe('dns');
    expect(shown.explicit).toEqual(expect.arrayContaining(['etcd-password']));
    expect(JSON.stringify(shown)).not.toContain('s3cret');
    expect(redactConfig(loadConfig()).etcdPassword).toBeUndefined();
  });

  it('shows TSIG keys by name and algorithm, never their secret, in any form', () => {
    const secret = Buffer.alloc(32, 0xab);
    const config = loadConfig(['--tsig-key', `xfr:hmac-sha256:${secret.toString('base64')}`]);
    const text = JSON.stringify(redactConfig(config));
    expect(text).toContain('"name":"xfr"');
    expect(text).toContain('"algorithm":"hmac-sha256"');
    for (const form of [secret.toString('base64'), secret.toString('hex'), [...secret].join(','), '"type":"Buffer"']) expect(text).not.toContain(form);
  });

  it('never shows the password of a URL in an error', () => {
    const message = configFailure(['--etcd', 'http://root:Pa55word@127.0.0.1:2379'], {});
    expect(message).toBe('--etcd "http://[redacted]@127.0.0.1:2379": must not contain a user or password (use --etcd-username and --etcd-password)');
    expect(configFailure([], { ETCDNS_ETCD: 'https://u:Pa55word@[::1]:2379/x' })).not.toContain('Pa55word');
  });
});
