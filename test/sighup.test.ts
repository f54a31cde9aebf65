/**
 * SIGHUP reloads the zone files (issue 24): it used to end the process (exit 129, no drain).
 * The built server keeps answering through it (queries sent all along are all answered) and
 * serves the edited zone.
 */
import { createSocket } from 'node:dgram';
import { afterAll, describe, expect, it } from 'vitest';
import { dig } from './support/dig.js';
import { buildQuery } from './support/packets.js';
import { startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

const zone = (serial: number, extra = '') => `$ORIGIN example.test.\n$TTL 60\n@ SOA ns1 hostmaster ${serial} 7200 1800 86400 30\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.10\n${extra}`;

describe('SIGHUP', () => {
  const zones = tempZones({ 'example.test.zone': zone(1) });
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    zones.remove();
  });

  it('reloads the zone files without dropping a query, and the process stays up', async () => {
    server = await startServer(['--zones', zones.dir]);
    const s = server;
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const pending = new Set<number>();
    socket.on('message', (m) => pending.delete(m.readUInt16BE(0)));
    let id = 0;
    const send = () => {
      pending.add(id);
      socket.send(buildQuery({ name: 'www.example.test', type: 'A', id: id++ }), s.port, '127.0.0.1');
    };
    // Queries every 5 ms from before the signal to well after it.
    const timer = setInterval(send, 5);
    await new Promise((r) => setTimeout(r, 300));
    zones.write('example.test.zone', zone(2, 'new A 192.0.2.99\n'));
    process.kill(s.pid, 'SIGHUP');
    const line = await s.waitForLog((l) => l.msg === 'SIGHUP: reloading zone files', 5000);
    expect(line).toMatchObject({ zoneFiles: true });
    await new Promise((r) => setTimeout(r, 500));
    clearInterval(timer);
    await new Promise((r) => setTimeout(r, 1000));
    socket.close();
    expect(id).toBeGreaterThan(50);
    expect(pending.size).toBe(0);
    expect(s.child.exitCode).toBeNull();
    expect((await dig(s.port, ['new.example.test', 'A'])).answer.map((a) => a.data)).toEqual(['192.0.2.99']);
    // A second one is fine too.
    process.kill(s.pid, 'SIGHUP');
    for (let i = 0; i < 50 && s.logs.filter((l) => l.msg === 'SIGHUP: reloading zone files').length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect(s.logs.filter((l) => l.msg === 'SIGHUP: reloading zone files')).toHaveLength(2);
    expect(s.child.exitCode).toBeNull();
  });
});
