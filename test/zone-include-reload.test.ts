/** A zone's $INCLUDEd files are hot reloaded with it: an edit to one shows up without a restart. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, digUntil } from './support/dig.js';
import { startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

const ZONE = '$TTL 5\n@ SOA ns h 1 2 3 4 5\n$INCLUDE hot.test/hosts\n$INCLUDE hot.test/v6 v6\n';

let server: ServerProcess;
const zones = tempZones({ 'hot.test.zone': ZONE });
const include = (path: string, text: string) => {
  mkdirSync(join(zones.dir, 'hot.test'), { recursive: true });
  writeFileSync(join(zones.dir, path), text);
};
include('hot.test/hosts', 'www A 192.0.2.1\n$GENERATE 1-3 host$ A 198.51.100.$\n');
include('hot.test/v6', 'www AAAA 2001:db8::1\n');

beforeAll(async () => {
  server = await startServer(['--zones', zones.dir]);
});
afterAll(async () => {
  await server.stop();
  zones.remove();
});

describe('zone hot reload with $INCLUDE', () => {
  it('serves the included records, the included file not being a zone of its own', async () => {
    expect((await dig(server.port, ['www.hot.test', 'A'])).answer.map((r) => r.data)).toEqual(['192.0.2.1']);
    expect((await dig(server.port, ['host3.hot.test', 'A'])).answer.map((r) => r.data)).toEqual(['198.51.100.3']);
    expect((await dig(server.port, ['www.v6.hot.test', 'AAAA'])).answer.map((r) => r.data)).toEqual(['2001:db8::1']);
  });

  // The promise is "within a second"; the bound leaves room for a loaded machine.
  it('serves an edit of an included file without a restart', async () => {
    include('hot.test/hosts', 'www A 192.0.2.2\n$GENERATE 1-4 host$ A 198.51.100.$\n');
    await digUntil(server.port, ['www.hot.test', 'A'], (r) => r.answer[0]?.data === '192.0.2.2', 3000);
    expect((await dig(server.port, ['host4.hot.test', 'A'])).answer.map((r) => r.data)).toEqual(['198.51.100.4']);
  });

  it('keeps the last good version when an included file breaks, logging that file and its line', async () => {
    include('hot.test/v6', '\nwww AAAA 2001:db8::zz\n');
    const logged = await server.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('2001:db8::zz'), 3000);
    expect(logged).toMatchObject({ file: join(zones.dir, 'hot.test/v6'), line: 2 });
    expect((await dig(server.port, ['www.v6.hot.test', 'AAAA'])).answer.map((r) => r.data)).toEqual(['2001:db8::1']);
    include('hot.test/v6', 'www AAAA 2001:db8::2\n');
    await digUntil(server.port, ['www.v6.hot.test', 'AAAA'], (r) => r.answer[0]?.data === '2001:db8::2', 3000);
  });
});
