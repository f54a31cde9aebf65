/** The CLI as a process: defaults, configuration errors, startup failures, check-zone. */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dig } from './support/dig.js';
import { runCli, startServer } from './support/server.js';
import { tempZones } from './support/zones.js';

describe('etcdns serve', () => {
  it('serves the example zone from zones/ with no options but a port', async () => {
    const server = await startServer([]);
    try {
      expect((await dig(server.port, ['www.example.test', 'A'])).answer[0]!.data).toBe('192.0.2.10');
      const srv = await dig(server.port, ['_http._tcp.api.example.test', 'SRV', '+tcp']);
      expect(srv.answer).toHaveLength(2);
      // Every target's addresses (RFC 2782), from zones/example.test.zone.
      expect(srv.additional.map((r) => `${r.name} ${r.type} ${r.data}`).sort()).toEqual([
        'api1.example.test. A 192.0.2.31',
        'api1.example.test. AAAA 2001:db8::31',
        'api2.example.test. A 192.0.2.32',
        'api2.example.test. AAAA 2001:db8::32',
      ]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('takes options from ETCDNS_* variables and a config file', async () => {
    const zones = tempZones({ 'cfg.test.zone': '$TTL 5\n@ SOA ns h 1 2 3 4 5\nhost A 198.51.100.4' });
    const configFile = join(zones.dir, '..', `etcdns-${process.pid}.yaml`);
    writeFileSync(configFile, `zones: ${zones.dir}\nlog-queries: true\n`);
    const server = await startServer(['--config', configFile], { env: { ETCDNS_EDNS_UDP_SIZE: '1400' } });
    try {
      const r = await dig(server.port, ['host.cfg.test', 'A', '+bufsize=4096']);
      expect(r.answer[0]!.data).toBe('198.51.100.4');
      expect(r.edns).toMatch(/udp: 1400/);
      // --log-queries from the file: one log line per query, with name, type and rcode.
      const line = await server.waitForLog((l) => l.msg === 'query');
      expect(line).toMatchObject({ name: 'host.cfg.test.', type: 'A', rcode: 'NOERROR', transport: 'udp' });
    } finally {
      await server.stop();
      zones.remove();
    }
  });

  it('listens on IPv6 loopback too, UDP and TCP', async (ctx) => {
    const probe = createSocket('udp6');
    const v6 = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.bind(0, '::1', () => resolve(true));
    });
    probe.close();
    if (!v6) return ctx.skip();
    const server = await startServer(['--listen', '[::1]:0']);
    try {
      expect((await dig(server.port, ['www.example.test', 'AAAA'], '::1')).answer[0]!.data).toBe('2001:db8::10');
      expect((await dig(server.port, ['www.example.test', 'A', '+tcp'], '::1')).answer[0]!.data).toBe('192.0.2.10');
    } finally {
      await server.stop();
    }
  });

  it.each([
    [['serve', '--listen', '1.2.3.4:99999'], /--listen "1\.2\.3\.4:99999": port must be 0-65535/],
    [['serve', '--edns-udp-size', 'big'], /--edns-udp-size/],
    [['serve', '--lisen', '127.0.0.1:53'], /lisen/],
    [['serve', '--listen', '127.0.0.1:0', '--zones', '/nonexistent/zones'], /--zones "\/nonexistent\/zones": directory does not exist/],
  ])('fails at start with one line naming the bad option: %j', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('rejects an unknown ETCDNS_ variable by name', async () => {
    const r = await runCli(['serve', '--listen', '127.0.0.1:0'], { env: { ETCDNS_LISTNE: '127.0.0.1:53' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ETCDNS_LISTNE/);
  });

  it('exits 1 naming the address when the port is taken', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(['serve', '--listen', `127.0.0.1:${port}`, '--log-format', 'json']);
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}`));
    } finally {
      blocker.close();
    }
  });

  it('lists every option with its default in --help', async () => {
    const r = await runCli(['serve', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--listen', '--zones', '--edns-udp-size', '--tcp-idle-timeout', '--log-queries', '--config']) expect(r.stdout).toContain(flag);
    expect(r.stdout).toContain('127.0.0.1:5353');
  });
});

describe('etcdns without etcd', () => {
  it('does not load the etcd client (gRPC, protobufjs) until something talks to etcd', () => {
    // The CLI and the whole server with zone files only; then, as with --etcd, a client.
    const script = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/etcd3/'));
      await import('./dist/cli/cli.js');
      await import('./dist/app.js');
      const before = loaded();
      const { createEtcdClient } = await import('./dist/etcd/client.js');
      createEtcdClient({ endpoints: ['http://127.0.0.1:1'] }).close();
      console.log(JSON.stringify({ before, after: loaded() }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ before: false, after: true });
  });
});

describe('etcdns check-zone', () => {
  it('reports OK with the record count, and each error with file and line', async () => {
    const ok = await runCli(['check-zone', 'zones/example.test.zone']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/OK, zone example\.test\., \d+ records/);
    const zones = tempZones({ 'bad.test.zone': '$TTL 5\n@ SOA ns h 1 2 3 4 5\nwww A 10.0.0.256\nx AAA ::1\n' });
    try {
      const bad = await runCli(['check-zone', join(zones.dir, 'bad.test.zone')]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/bad\.test\.zone:3: .*10\.0\.0\.256/);
      expect(bad.stdout).toMatch(/bad\.test\.zone:4: .*AAA/);
    } finally {
      zones.remove();
    }
  });
});
