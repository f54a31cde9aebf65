/** The etcd options: endpoints, key prefix, zones, and the TLS files. */
import { chmodSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { configFailure, loadConfig, tempConfigDir } from '../../test/support/config.js';

const { dir, file, remove } = tempConfigDir();
afterAll(remove);

describe('etcd endpoints (--etcd)', () => {
  const zone = ['--etcd-zone', 'example.com'];

  it('parses http and https URLs with a port, repeated or comma-separated, into scheme://host:port', () => {
    expect(loadConfig(['--etcd', 'http://127.0.0.1:2379', ...zone]).etcd).toEqual(['http://127.0.0.1:2379']);
    expect(loadConfig(['--etcd', 'http://a:2379,http://B.example:22379/', '--etcd', 'http://[::1]:2379', ...zone]).etcd).toEqual([
      'http://a:2379',
      'http://b.example:22379',
      'http://[::1]:2379',
    ]);
    expect(loadConfig([], { ETCDNS_ETCD: ' https://etcd-0:2379 , https://etcd-1:2379 ', ETCDNS_ETCD_ZONE: 'example.com' }).etcd).toEqual([
      'https://etcd-0:2379',
      'https://etcd-1:2379',
    ]);
    // The scheme's default port, written out, is kept (URL alone would drop it).
    expect(loadConfig(['--etcd', 'http://etcd:80', ...zone]).etcd).toEqual(['http://etcd:80']);
    expect(loadConfig(['--etcd', 'https://etcd:443', ...zone]).etcd).toEqual(['https://etcd:443']);
  });

  it('is empty by default and when set to an empty string (no etcd)', () => {
    expect(loadConfig().etcd).toEqual([]);
    expect(loadConfig([], { ETCDNS_ETCD: '' }).etcd).toEqual([]);
  });

  it('names the flag and the bad URL', () => {
    expect(configFailure(['--etcd', 'etcd:2379', ...zone])).toBe('--etcd "etcd:2379": must start with http:// or https:// (e.g. http://127.0.0.1:2379)');
    expect(configFailure(['--etcd', '127.0.0.1:2379', ...zone])).toBe('--etcd "127.0.0.1:2379": not a URL (e.g. http://127.0.0.1:2379)');
    expect(configFailure(['--etcd', 'unix:///run/etcd.sock', ...zone])).toMatch(/^--etcd "unix:\/\/\/run\/etcd.sock": must start with http:\/\/ or https:\/\//);
    expect(configFailure(['--etcd', 'http://etcd', ...zone])).toBe('--etcd "http://etcd": missing port (etcd clients usually connect to 2379, e.g. http://127.0.0.1:2379)');
    expect(configFailure(['--etcd', 'http://etcd/', ...zone])).toMatch(/^--etcd "http:\/\/etcd\/": missing port/);
    expect(configFailure(['--etcd', 'http://etcd:99999', ...zone])).toBe('--etcd "http://etcd:99999": not a URL (e.g. http://127.0.0.1:2379)');
    expect(configFailure(['--etcd', 'http://etcd:2379/v3', ...zone])).toBe('--etcd "http://etcd:2379/v3": must not have a path, query or fragment (only scheme, host and port)');
    expect(configFailure(['--etcd', 'http://etcd:2379?x=1', ...zone])).toMatch(/must not have a path, query or fragment/);
    expect(configFailure(['--etcd', 'http://root:secret@etcd:2379', ...zone])).toBe(
      '--etcd "http://[redacted]@etcd:2379": must not contain a user or password (use --etcd-username and --etcd-password)',
    );
    expect(configFailure(['--etcd', 'http://a:2379,http://A:2379', ...zone])).toBe('--etcd "http://A:2379": listed twice');
    expect(configFailure(['--etcd', 'http://a:2379,,http://b:2379', ...zone])).toBe('--etcd "http://a:2379,,http://b:2379": empty item in list');
  });

});

describe('etcd prefix and zones', () => {
  const etcd = ['--etcd', 'http://127.0.0.1:2379'];

  it('takes a prefix that starts with "/" and does not end with one', () => {
    expect(loadConfig(['--etcd-prefix', '/dns/skydns']).etcdPrefix).toBe('/dns/skydns');
    expect(loadConfig([], { ETCDNS_ETCD_PREFIX: '/coredns' }).etcdPrefix).toBe('/coredns');
    expect(configFailure(['--etcd-prefix', 'skydns'])).toBe('--etcd-prefix "skydns": must start with "/" (e.g. /skydns)');
    expect(configFailure(['--etcd-prefix', '/skydns/'])).toBe('--etcd-prefix "/skydns/": must not end with "/" (e.g. /skydns)');
    expect(configFailure(['--etcd-prefix', '/'])).toBe('--etcd-prefix "/": must not end with "/" (e.g. /skydns)');
    expect(configFailure(['--etcd-prefix', '/a//b'])).toBe('--etcd-prefix "/a//b": must not contain an empty segment ("//")');
    expect(configFailure(['--etcd-prefix', ''])).toBe('--etcd-prefix "": must not be empty');
  });

  it('stores zones canonical: lower case, no trailing dot', () => {
    expect(loadConfig([...etcd, '--etcd-zone', 'Example.COM.', '--etcd-zone', '2.0.192.in-addr.arpa,svc.cluster.local']).etcdZone).toEqual([
      'example.com',
      '2.0.192.in-addr.arpa',
      'svc.cluster.local',
    ]);
    file('zones.yaml', 'etcd: [http://127.0.0.1:2379]\netcd-zone:\n  - a.test\n  - b.test.\n');
    expect(loadConfig(['--config', 'zones.yaml'], {}, dir).etcdZone).toEqual(['a.test', 'b.test']);
  });

  it('names the flag and the bad zone', () => {
    expect(configFailure([...etcd, '--etcd-zone', 'a..b'])).toBe('--etcd-zone "a..b": empty label in "a..b"');
    expect(configFailure([...etcd, '--etcd-zone', 'ok.test,bad..test'])).toBe('--etcd-zone "bad..test": empty label in "bad..test"');
    expect(configFailure([...etcd, '--etcd-zone', `${'a'.repeat(64)}.test`])).toMatch(/^--etcd-zone "a{64}\.test": /);
    expect(configFailure([...etcd, '--etcd-zone', '.'])).toBe('--etcd-zone ".": the root zone cannot be served from etcd');
    expect(configFailure([...etcd, '--etcd-zone', 'example.com,EXAMPLE.com.'])).toBe('--etcd-zone "EXAMPLE.com.": listed twice');
  });

});

describe('etcd TLS and authentication', () => {
  const https = ['--etcd', 'https://127.0.0.1:2379', '--etcd-zone', 'example.com'];
  const ca = file('ca.pem', 'not really a certificate\n');
  const cert = file('client.pem', 'cert\n');
  const key = file('client-key.pem', 'key\n');

  it('resolves the files against cwd and checks they are readable', () => {
    const config = loadConfig([...https, '--etcd-ca', 'ca.pem', '--etcd-cert', cert, '--etcd-key', 'client-key.pem'], {}, dir);
    expect(config.etcdCa).toBe(ca);
    expect(config.etcdCert).toBe(cert);
    expect(config.etcdKey).toBe(key);
    expect(loadConfig([...https], { ETCDNS_ETCD_CA: ca }).etcdCa).toBe(ca);
  });

  it('names the option of a file that is missing or not a file', () => {
    expect(configFailure([...https, '--etcd-ca', 'nope.pem'], {}, dir)).toBe('--etcd-ca "nope.pem": file not found');
    expect(configFailure([...https], { ETCDNS_ETCD_KEY: 'nope/key.pem', ETCDNS_ETCD_CERT: cert }, dir)).toBe('ETCDNS_ETCD_KEY="nope/key.pem": file not found');
    expect(configFailure([...https, '--etcd-cert', dir, '--etcd-key', key])).toBe(`--etcd-cert ${JSON.stringify(dir)}: not a regular file`);
    expect(configFailure([...https, '--etcd-ca', ''])).toBe('--etcd-ca "": must not be empty');
    file('tls.yaml', 'etcd-ca: missing.pem\n');
    expect(configFailure(['--config', 'tls.yaml', ...https], {}, dir)).toBe('config file tls.yaml: etcd-ca "missing.pem": file not found');
  });

  // root reads every file whatever its mode, so the check cannot fail there.
  it.skipIf(process.getuid?.() === 0)('names the option of a file that cannot be read', () => {
    const locked = file('locked.pem', 'x');
    chmodSync(locked, 0o000);
    expect(configFailure([...https, '--etcd-ca', locked])).toBe(`--etcd-ca ${JSON.stringify(locked)}: file not readable (permission denied)`);
  });

});
