/** Rules between options, which no single value can break. */
import { afterAll, describe, expect, it } from 'vitest';
import { configFailure, loadConfig, tempConfigDir } from '../../test/support/config.js';

const { dir, file, remove } = tempConfigDir();
afterAll(remove);

describe('forwarding: rules between options', () => {
  it('--no-forwarding alone is fine, and turns every forwarding option into a mistake', () => {
    expect(loadConfig(['--no-forwarding']).forwarding).toBe(false);
    expect(loadConfig([], { ETCDNS_FORWARDING: 'false' }).forwarding).toBe(false);
    expect(configFailure(['--no-forwarding', '--upstream', '10.0.0.1'])).toBe('--upstream has no effect with --no-forwarding (names outside our zones are refused)');
    expect(configFailure(['--no-forwarding', '--forward', 'corp.example=10.1.2.3'])).toBe(
      '--forward has no effect with --no-forwarding (names outside our zones are refused)',
    );
    expect(configFailure(['--no-forwarding'], { ETCDNS_CACHE_ENTRIES: '100' })).toBe(
      '--cache-entries has no effect with --no-forwarding (names outside our zones are refused)',
    );
    file('no-forwarding.yaml', 'forwarding: false\nallow-recursion: [10.0.0.0/8]\n');
    expect(configFailure(['--config', 'no-forwarding.yaml'], {}, dir)).toBe(
      '--allow-recursion has no effect with --no-forwarding (names outside our zones are refused)',
    );
  });

  it('refuses --forward-max-concurrent with --no-forwarding', () => {
    expect(configFailure(['--no-forwarding', '--forward-max-concurrent', '10'])).toBe(
      '--forward-max-concurrent has no effect with --no-forwarding (names outside our zones are refused)',
    );
  });

  it('refuses an empty --allow-recursion while forwarding', () => {
    expect(configFailure([], { ETCDNS_ALLOW_RECURSION: '' })).toBe(
      '--allow-recursion is empty, so no client could use forwarding: list the client networks, or use --no-forwarding',
    );
  });

  it('refuses cache settings with the cache off', () => {
    expect(loadConfig(['--cache-entries', '0']).cacheEntries).toBe(0);
    expect(configFailure(['--cache-entries', '0', '--cache-bytes', '1m'])).toBe('--cache-bytes has no effect with --cache-entries 0 (the cache is off)');
    expect(configFailure(['--cache-entries', '0', '--serve-stale', '24h'])).toBe('--serve-stale has no effect with --cache-entries 0 (the cache is off)');
  });

  it('refuses an upstream that is etcdns itself (a forwarding loop)', () => {
    // The default --listen is 127.0.0.1:1053.
    expect(configFailure(['--upstream', '127.0.0.1:1053'])).toBe(
      '--upstream "127.0.0.1:1053": this is etcdns itself (--listen 127.0.0.1:1053); forwarding there would loop',
    );
    expect(configFailure(['--listen', '[::]:53', '--upstream', '127.0.0.53'])).toBe(
      '--upstream "127.0.0.53:53": a loopback address reaches etcdns itself on --listen [::]:53 (all local addresses); forwarding there would loop',
    );
    expect(configFailure(['--listen', '0.0.0.0:53', '--forward', 'corp.example=10.1.2.3,corp.example=127.0.0.1'])).toBe(
      '--forward "corp.example=127.0.0.1:53": a loopback address reaches etcdns itself on --listen 0.0.0.0:53 (all local addresses); forwarding there would loop',
    );
    // Another port, or another loopback address than the one we are bound to, is someone else.
    expect(loadConfig(['--upstream', '127.0.0.1:53']).upstream).toEqual([{ host: '127.0.0.1', port: 53 }]);
    expect(loadConfig(['--listen', '127.0.0.1:53', '--upstream', '127.0.0.53']).upstream).toEqual([{ host: '127.0.0.53', port: 53 }]);
    expect(loadConfig(['--listen', '0.0.0.0:53', '--upstream', '[::1]:53']).upstream).toEqual([{ host: '::1', port: 53 }]);
  });

  it('refuses a --forward domain inside an --etcd-zone (never forwarded: we answer it)', () => {
    const etcd = ['--etcd', 'http://127.0.0.1:2379', '--etcd-zone', 'example.com'];
    expect(configFailure([...etcd, '--forward', 'svc.example.com=10.1.2.3'])).toBe(
      '--forward "svc.example.com": inside --etcd-zone example.com, which etcdns answers itself, so it would never be forwarded',
    );
    expect(configFailure([...etcd, '--forward', 'EXAMPLE.com.=10.1.2.3'])).toMatch(/^--forward "example.com": inside --etcd-zone example.com/);
    expect(loadConfig([...etcd, '--forward', 'corp.example=10.1.2.3']).forward).toEqual([{ zone: 'corp.example', upstreams: [{ host: '10.1.2.3', port: 53 }] }]);
  });
});

describe('etcd: rules between options', () => {
  const https = ['--etcd', 'https://127.0.0.1:2379', '--etcd-zone', 'example.com'];
  const ca = file('ca.pem', 'not really a certificate\n');
  const cert = file('client.pem', 'cert\n');
  const key = file('client-key.pem', 'key\n');

  it('--etcd-zone is required with --etcd, and needs it', () => {
    expect(configFailure(['--etcd', 'http://127.0.0.1:2379'])).toBe('--etcd needs --etcd-zone: name the zones to answer from etcd (e.g. --etcd-zone example.com)');
    expect(configFailure([], { ETCDNS_ETCD: 'http://127.0.0.1:2379' })).toMatch(/^--etcd needs --etcd-zone/);
    expect(configFailure(['--etcd-zone', 'example.com'])).toBe(
      '--etcd-zone needs --etcd: the etcd endpoints to read the zones from (e.g. --etcd http://127.0.0.1:2379)',
    );
    // An empty --etcd is "no etcd", so zones from elsewhere are then an error too.
    expect(configFailure([], { ETCDNS_ETCD: '', ETCDNS_ETCD_ZONE: 'example.com' })).toMatch(/^--etcd-zone needs --etcd/);
  });

  it('refuses a mix of http and https (the etcd client cannot mix them)', () => {
    expect(configFailure(['--etcd', 'http://a:2379,https://b:2379', '--etcd-zone', 'example.com'])).toBe('--etcd: endpoints mix http:// and https://; use one scheme for all of them');
  });

  it('wants a certificate and its key together', () => {
    expect(configFailure([...https, '--etcd-cert', cert])).toBe('--etcd-cert needs --etcd-key');
    expect(configFailure([...https, '--etcd-key', key])).toBe('--etcd-key needs --etcd-cert');
  });

  it('refuses TLS files with http:// endpoints (the client would speak TLS anyway)', () => {
    const http = ['--etcd', 'http://127.0.0.1:2379', '--etcd-zone', 'example.com'];
    expect(configFailure([...http, '--etcd-ca', ca])).toBe('--etcd-ca is for TLS, but the --etcd endpoints are http://; use https://');
    expect(configFailure([...http, '--etcd-cert', cert, '--etcd-key', key])).toBe('--etcd-cert is for TLS, but the --etcd endpoints are http://; use https://');
  });

  it('wants a user and password together', () => {
    const config = loadConfig([...https, '--etcd-username', 'dns'], { ETCDNS_ETCD_PASSWORD: 's3cret' });
    expect(config.etcdUsername).toBe('dns');
    expect(config.etcdPassword).toBe('s3cret');
    expect(configFailure([...https, '--etcd-username', 'dns'])).toBe('--etcd-username needs --etcd-password');
    expect(configFailure([...https], { ETCDNS_ETCD_PASSWORD: 's3cret' })).toBe('--etcd-password needs --etcd-username');
    expect(configFailure([...https, '--etcd-username', ''])).toBe('--etcd-username "": must not be empty');
  });
});

describe('rate limiting: rules between options', () => {
  it('refuses --rate-limit-slip without --rate-limit', () => {
    expect(configFailure(['--rate-limit-slip', '3'])).toBe('--rate-limit-slip has no effect without --rate-limit (response-rate limiting is off)');
    expect(loadConfig(['--rate-limit', '5', '--rate-limit-slip', '3']).rateLimitSlip).toBe(3);
  });
});
