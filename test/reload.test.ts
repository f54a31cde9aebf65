/** Zone files are hot reloaded: edits show up without a restart; a broken edit changes nothing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, digUntil } from './support/dig.js';
import { startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

const zone = (address: string, extra = '') => `$TTL 5\n@ SOA ns h 1 2 3 4 5\nwww A ${address}\n${extra}`;


let server: ServerProcess;
const zones = tempZones({ 'hot.test.zone': zone('192.0.2.1') });

beforeAll(async () => {
  server = await startServer(['--zones', zones.dir]);
});
afterAll(async () => {
  await server.stop();
  zones.remove();
});

describe('zone hot reload', () => {
  // The promise is "within a second"; the bound here leaves room for a loaded CI machine.
  it('serves an edit without a restart', async () => {
    zones.write('hot.test.zone', zone('192.0.2.2'));
    await digUntil(server.port, ['www.hot.test', 'A'], (r) => r.answer[0]?.data === '192.0.2.2', 3000);
  });

  it('keeps the last good version when an edit breaks the file, and logs file and line', async () => {
    zones.write('hot.test.zone', zone('192.0.2.3', 'broken A not-an-address\n'));
    const logged = await server.waitForLog((l) => typeof l.msg === 'string' && /not-an-address/.test(String(l.msg) + JSON.stringify(l)), 3000);
    expect(JSON.stringify(logged)).toMatch(/hot\.test\.zone/);
    expect(JSON.stringify(logged)).toMatch(/"line":4|:4/);
    expect((await dig(server.port, ['www.hot.test', 'A'])).answer[0]!.data).toBe('192.0.2.2');
    zones.write('hot.test.zone', zone('192.0.2.4'));
    await digUntil(server.port, ['www.hot.test', 'A'], (r) => r.answer[0]?.data === '192.0.2.4', 3000);
  });

  it('adds and removes zones as files come and go', async () => {
    zones.write('new.test.zone', zone('198.51.100.9'));
    await digUntil(server.port, ['www.new.test', 'A'], (r) => r.answer[0]?.data === '198.51.100.9', 3000);
    const { unlinkSync } = await import('node:fs');
    unlinkSync(`${zones.dir}/new.test.zone`);
    await digUntil(server.port, ['www.new.test', 'A'], (r) => r.status === 'REFUSED', 3000);
  });
});
