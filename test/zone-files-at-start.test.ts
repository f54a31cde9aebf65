/**
 * A zone file that is broken when the server starts: the other zones are served, /ready says
 * 503 naming the file, the per-file gauge and the failure counter show it, a log line says
 * which zone is not served and why; fixing the file makes the server ready on the next poll.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig } from './support/dig.js';
import { startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

const zone = (address: string, extra = '') => `$TTL 5\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.53\nwww A ${address}\n${extra}`;

const run = promisify(execFile);

let server: ServerProcess;
const zones = tempZones({ 'good.test.zone': zone('192.0.2.1'), 'broken.test.zone': zone('192.0.2.2', 'bad A not-an-address\n') });
const brokenFile = `${zones.dir}/broken.test.zone`;

const url = (endpoint: 'ready' | 'metrics') => `${server.logs.find((l) => l.msg === 'listening')![endpoint] as string}/${endpoint}`;

async function metricLines(name: string): Promise<string[]> {
  const text = await (await fetch(url('metrics'))).text();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

/** Polls until `check` passes; the zone directory is polled every 500 ms, so 5 s is a wide margin on a loaded machine. */
async function until(what: string, check: () => Promise<boolean>, withinMs = 5000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > withinMs) throw new Error(`${what}: not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  server = await startServer(['--zones', zones.dir]);
});
afterAll(async () => {
  await server.stop();
  zones.remove();
});

describe('a zone file broken at start', () => {
  it('serves the other zones', async () => {
    const r = await dig(server.port, ['www.good.test', 'A', '+norecurse']);
    expect(r.status).toBe('NOERROR');
    expect(r.answer.map((a) => a.data)).toEqual(['192.0.2.1']);
  });

  it("answers the broken zone's names SERVFAIL with the reason (RFC 8914), never from upstream", async () => {
    // RD set, as a stub resolver sends it: the name is ours, so it must not be forwarded.
    const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(server.port), '+recurse', '+time=2', '+tries=1', '+nocookie', 'www.broken.test', 'A'], { timeout: 15_000 });
    expect(/status: (\w+)/.exec(stdout)?.[1]).toBe('SERVFAIL');
    expect(stdout).toMatch(/EDE: 0 \(Other\): \(zone broken\.test\. not loaded: .*broken\.test\.zone: line \d+/);
    // A name outside every zone, with or without a zone file behind it, is not ours: not SERVFAIL.
    expect((await dig(server.port, ['www.elsewhere.invalid', 'A', '+norecurse'])).status).not.toBe('SERVFAIL');
  });

  it('says at start which zone is not served and why, with file and line', () => {
    const line = server.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('zones not served'));
    expect(line, JSON.stringify(server.logs)).toBeDefined();
    expect(line!.msg).toContain('broken.test');
    expect(line!.msg).toContain(brokenFile);
    expect(line!.msg).toContain('line 6');
    expect(line!.notServed).toEqual([{ zone: 'broken.test.', file: brokenFile, reason: expect.stringContaining('not-an-address') }]);
    // It comes before "listening", so that it is the last thing read before the server starts answering.
    expect(server.logs.indexOf(line!)).toBeLessThan(server.logs.findIndex((l) => l.msg === 'listening'));
  });

  it('is not ready: /ready answers 503 naming the broken file (and only it)', async () => {
    const res = await fetch(url('ready'));
    expect(res.status).toBe(503);
    const body = await res.text();
    expect(body).toContain(brokenFile);
    expect(body).not.toContain('good.test.zone');
  });

  it('exports the per-file error gauge and counts the failed load', async () => {
    expect(await metricLines('etcdns_zone_file_errors')).toEqual(
      expect.arrayContaining([`etcdns_zone_file_errors{file="${brokenFile}"} 1`, `etcdns_zone_file_errors{file="${zones.dir}/good.test.zone"} 0`]),
    );
    expect(await metricLines('etcdns_zone_reload_failures_total')).toEqual(['etcdns_zone_reload_failures_total 1']);
  });

  it('becomes ready once the file is fixed, and serves its zone', async () => {
    zones.write('broken.test.zone', zone('192.0.2.3'));
    await until('/ready 200', async () => (await fetch(url('ready'))).status === 200);
    // One line per zone that starts being served (the good one at start, this one now).
    expect(server.logs.filter((l) => l.msg === 'zone served').map((l) => l.zone)).toEqual(['good.test.', 'broken.test.']);
    expect((await dig(server.port, ['www.broken.test', 'A', '+norecurse'])).answer.map((a) => a.data)).toEqual(['192.0.2.3']);
    expect(await metricLines('etcdns_zone_file_errors')).toContain(`etcdns_zone_file_errors{file="${brokenFile}"} 0`);
  });

  it('stays ready when a file that loaded once breaks: its last good version keeps serving', async () => {
    zones.write('broken.test.zone', zone('192.0.2.4', 'bad A still-not-an-address\n'));
    await until('the failure counted', async () => (await metricLines('etcdns_zone_reload_failures_total'))[0] === 'etcdns_zone_reload_failures_total 2');
    expect(await metricLines('etcdns_zone_file_errors')).toContain(`etcdns_zone_file_errors{file="${brokenFile}"} 1`);
    expect((await fetch(url('ready'))).status).toBe(200);
    expect((await dig(server.port, ['www.broken.test', 'A', '+norecurse'])).answer.map((a) => a.data)).toEqual(['192.0.2.3']);
  });

  it('says when a zone stops being served (its file removed)', async () => {
    const { unlinkSync } = await import('node:fs');
    unlinkSync(brokenFile);
    await server.waitForLog((l) => l.msg === 'zone no longer served' && l.zone === 'broken.test.', 5000);
  });
});
