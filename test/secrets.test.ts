/**
 * No secret in any log line at any level, nor in any error (issue 24): the built server at
 * --log-level debug with known secrets (two TSIG keys, from a flag and from a key file; an etcd
 * password, which a real etcd without authentication turns into authentication errors), then
 * a signed and a badly signed request; every line it writes is searched for each secret in
 * every form it could take (base64, hex, the bytes as JSON). And the errors for a URL that
 * carries a password.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../src/wire/tsig.js';
import { tcpExchange } from './support/client.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { buildQuery } from './support/packets.js';
import { runCli, startServer } from './support/server.js';
import { tempZones } from './support/zones.js';

const ZONE = `$ORIGIN example.test.\n$TTL 60\n@ SOA ns1 hostmaster 7 7200 1800 86400 30\n@ NS ns1\nns1 A 192.0.2.53\n`;
const FLAG_KEY = { name: 'flag-key', algorithm: 'hmac-sha256' as const, secret: randomBytes(32) };
const FILE_KEY = { name: 'file-key', algorithm: 'hmac-sha512' as const, secret: randomBytes(64) };
const PASSWORD = `pw-${randomBytes(9).toString('base64url')}`;

/** Every form a secret could be printed in. */
function forms(secret: Buffer | string): string[] {
  if (typeof secret === 'string') return [secret, Buffer.from(secret).toString('base64')];
  return [secret.toString('base64'), secret.toString('hex'), secret.subarray(0, 8).join(','), secret.toString('base64').slice(0, 16)];
}

describe('secrets never printed', () => {
  let etcd: EtcdCluster;
  const zones = tempZones({ 'example.test.zone': ZONE });

  beforeAll(async () => {
    etcd = await startEtcd();
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
    zones.remove();
  });

  it('a debug run with known secrets prints none of them', async () => {
    const keyFile = join(zones.dir, '..', `keys-${process.pid}.conf`);
    writeFileSync(keyFile, `key "${FILE_KEY.name}" { algorithm ${FILE_KEY.algorithm}; secret "${FILE_KEY.secret.toString('base64')}"; };\n`);
    const server = await startServer(
      [
        '--zones', zones.dir, '--log-level', 'debug', '--log-queries',
        '--tsig-key', `${FLAG_KEY.name}:${FLAG_KEY.algorithm}:${FLAG_KEY.secret.toString('base64')}`, '--tsig-key-file', keyFile,
        '--etcd', etcd.endpoints[0]!, '--etcd-zone', 'etcd.test', '--etcd-username', 'dns',
      ],
      { env: { ETCDNS_ETCD_PASSWORD: PASSWORD } },
    );
    try {
      // The configuration line is there (so the test looks at what it must), keys named.
      const config = server.logs.find((l) => l.msg === 'configuration');
      expect(JSON.stringify(config)).toContain('"name":"flag-key"');
      // etcd has no authentication: the client's attempt to authenticate fails and is logged.
      await server.waitForLog((l) => /etcd/.test(String(l.msg)) && l.level !== undefined && Number(l.level) >= 20 && /auth/i.test(JSON.stringify(l)), 15_000).catch(() => undefined);
      const now = Math.floor(Date.now() / 1000);
      await tcpExchange(server.port, [signRequest(buildQuery({ name: 'example.test', type: 'SOA' }), FLAG_KEY, now).message]);
      await tcpExchange(server.port, [signRequest(buildQuery({ name: 'example.test', type: 252 }), { ...FILE_KEY, secret: randomBytes(64) }, now).message]);
      await server.waitForLog((l) => l.msg === 'zone transfer not served: bad TSIG');
    } finally {
      await server.stop();
      rmSync(keyFile, { force: true });
    }
    const text = server.logs.map((l) => JSON.stringify(l)).join('\n');
    expect(server.logs.length).toBeGreaterThan(10);
    for (const secret of [FLAG_KEY.secret, FILE_KEY.secret, PASSWORD]) {
      for (const form of forms(secret)) expect(text.includes(form), `${form} found in the log`).toBe(false);
    }
  }, 60_000);

  it('errors about a URL with a password do not repeat the password', async () => {
    for (const args of [
      ['--etcd', `http://root:${PASSWORD}@127.0.0.1:2379`, '--etcd-zone', 'etcd.test'],
      ['--etcd', `http://root:${PASSWORD}@127.0.0.1`, '--etcd-zone', 'etcd.test'],
    ]) {
      const r = await runCli(['serve', '--listen', '127.0.0.1:0', '--zones', zones.dir, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--etcd "http:\/\/\[redacted\]@127\.0\.0\.1/);
      expect(r.stderr + r.stdout).not.toContain(PASSWORD);
    }
  });
});
