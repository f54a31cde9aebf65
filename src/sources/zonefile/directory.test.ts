import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock, Timer } from '../../clock.js';
import { RRType } from '../../dns/constants.js';
import type { Name } from '../../dns/name.js';
import type { ZoneView } from '../../table/zone.js';
import { checkZoneFile, originFromFileName, ZoneDirectory, ZoneDirectoryError, ZoneDirectoryStartedError } from './directory.js';

/** A clock the test moves by hand: the poll and the debounce run only when told to. */
class ManualClock implements Clock {
  #now = 0;
  #next = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void; every?: number }>();
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): Timer {
    this.#timers.set(this.#next, { at: this.#now + ms, fn });
    return this.#next++;
  }
  setInterval(fn: () => void, ms: number): Timer {
    this.#timers.set(this.#next, { at: this.#now + ms, fn, every: ms });
    return this.#next++;
  }
  clearTimeout(t: Timer): void {
    if (typeof t === 'number') this.#timers.delete(t);
  }
  clearInterval(t: Timer): void {
    this.clearTimeout(t);
  }
  setImmediate(fn: () => void): Timer {
    return this.setTimeout(fn, 0);
  }
  clearImmediate(t: Timer): void {
    this.clearTimeout(t);
  }
  get pending(): number {
    return this.#timers.size;
  }
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void; every?: number }] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= until && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      const [id, timer] = due;
      this.#now = timer.at;
      if (timer.every) timer.at += timer.every;
      else this.#timers.delete(id);
      timer.fn();
    }
    this.#now = until;
  }
}

interface LogLine {
  level: number;
  msg: string;
  file?: string;
  line?: number;
}

function capturingLogger() {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines, errors: () => lines.filter((l) => l.level >= 50) };
}

const zone = (origin: string, address: string, extra = '') =>
  `$ORIGIN ${origin}.\n$TTL 60\n@ SOA ns1 hostmaster 1 7200 1800 86400 30\n@ NS ns1\nns1 A 192.0.2.53\nwww A ${address}\n${extra}`;

function address(zones: ReadonlyMap<Name, ZoneView>, name: string): string | undefined {
  const origin = name.split('.').slice(-2).join('.');
  const data = zones.get(origin)?.node(name)?.get(RRType.A)?.records[0];
  return data && 'address' in data ? data.address : undefined;
}

let dir: string;
let zd: ZoneDirectory | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdns-zones-'));
});

afterEach(() => {
  zd?.stop();
  zd = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function setup(options: { clock?: Clock; pollIntervalMs?: number } = {}) {
  const clock = new ManualClock();
  const log = capturingLogger();
  const changes: ReadonlyMap<Name, ZoneView>[] = [];
  const failedLoads: string[] = [];
  zd = new ZoneDirectory({
    dir,
    logger: log.logger,
    clock: options.clock ?? clock,
    pollIntervalMs: options.pollIntervalMs ?? 500,
    onChange: (z) => changes.push(z),
    onLoadFailed: (file) => failedLoads.push(file),
  });
  return { zd, clock, log, changes, failedLoads };
}

const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);

describe('ZoneDirectory', () => {
  it('loads every zone file, skipping dotfiles, editor files and directories', async () => {
    write('example.test.zone', zone('example.test', '192.0.2.10').replace(/^\$ORIGIN.*\n/, '')); // origin from the name
    write('db.other.test', zone('other.test', '192.0.2.20').replace(/^\$ORIGIN.*\n/, ''));
    write('renamed.zone', zone('third.test', '192.0.2.30')); // $ORIGIN wins over the name
    write('.hidden.test.zone', 'not a zone');
    write('example.test.zone~', 'not a zone');
    write('.example.test.zone.swp', 'not a zone');
    write('x.swp', 'not a zone');
    fs.mkdirSync(path.join(dir, 'sub.test'));
    const { zd, changes, log } = setup();
    const report = await zd.start();
    expect(report.failed).toEqual([]);
    expect(report.loaded).toEqual([
      { file: path.join(dir, 'db.other.test'), origin: 'other.test', records: 4 },
      { file: path.join(dir, 'example.test.zone'), origin: 'example.test', records: 4 },
      { file: path.join(dir, 'renamed.zone'), origin: 'third.test', records: 4 },
    ]);
    expect(changes).toHaveLength(1);
    expect([...changes[0]!.keys()].sort()).toEqual(['example.test', 'other.test', 'third.test']);
    expect(zd.zones).toBe(changes[0]);
    expect(address(zd.zones, 'www.example.test')).toBe('192.0.2.10');
    expect(log.errors()).toEqual([]);
  });

  it('picks up an edit on the next poll and re-parses only the changed file', async () => {
    write('example.test.zone', zone('example.test', '192.0.2.10'));
    write('other.test.zone', zone('other.test', '192.0.2.20'));
    const { zd, clock, changes } = setup();
    await zd.start();
    const before = zd.zones;
    write('example.test.zone', zone('example.test', '192.0.2.111'));
    clock.advance(500);
    await vi.waitFor(() => expect(changes).toHaveLength(2), { timeout: 5000 });
    expect(address(zd.zones, 'www.example.test')).toBe('192.0.2.111');
    expect(zd.zones).not.toBe(before);
    expect(zd.zones.get('other.test')).toBe(before.get('other.test')); // untouched file, same object
  });

  it('keeps serving the last good version of a file that breaks, and logs file and line', async () => {
    write('example.test.zone', zone('example.test', '192.0.2.10'));
    const { zd, clock, changes, log } = setup();
    await zd.start();
    const good = zd.zones.get('example.test');
    write('example.test.zone', zone('example.test', '10.0.0.256', 'api AAA 1\n'));
    clock.advance(500);
    await vi.waitFor(() => expect(log.errors().length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    const file = path.join(dir, 'example.test.zone');
    expect(log.errors().map(({ file, line, msg }) => ({ file, line, msg }))).toEqual([
      { file, line: 6, msg: 'bad IPv4 address "10.0.0.256"' },
      { file, line: 7, msg: 'unknown type "AAA"' },
    ]);
    expect(zd.zones.get('example.test')).toBe(good);
    expect(changes).toHaveLength(1);
    const report = await zd.load();
    expect(report.loaded).toEqual([{ file, origin: 'example.test', records: 4 }]);
    expect(report.failed.map((e) => e.line)).toEqual([6, 7]);
    // Fixing the file serves the fix.
    write('example.test.zone', zone('example.test', '192.0.2.12'));
    clock.advance(500);
    await vi.waitFor(() => expect(changes).toHaveLength(2), { timeout: 5000 });
    expect(address(zd.zones, 'www.example.test')).toBe('192.0.2.12');
    expect((await zd.load()).failed).toEqual([]);
  });

  it('does not serve a file that never parsed, and reports it', async () => {
    write('good.test.zone', zone('good.test', '192.0.2.1'));
    write('bad.test.zone', '$TTL 60\nwww A 192.0.2.1\n');
    const { zd, changes } = setup();
    const report = await zd.start();
    expect(report.failed).toEqual([{ file: path.join(dir, 'bad.test.zone'), line: 0, message: 'no SOA record at the zone apex "bad.test."' }]);
    expect([...changes[0]!.keys()]).toEqual(['good.test']);
  });

  it('tells fileStatus and onLoadFailed about a file never loaded, then one that broke after loading', async () => {
    const bad = path.join(dir, 'bad.test.zone');
    write('good.test.zone', zone('good.test', '192.0.2.1'));
    write('bad.test.zone', '$TTL 60\nwww A 192.0.2.1\n');
    const { zd, clock, failedLoads } = setup();
    await zd.start();
    expect(failedLoads).toEqual([bad]);
    expect(zd.fileStatus().map((f) => [f.file, f.zone, f.everLoaded, f.errors.length])).toEqual([
      [bad, 'bad.test', false, 1],
      [path.join(dir, 'good.test.zone'), 'good.test', true, 0],
    ]);
    write('bad.test.zone', zone('bad.test', '192.0.2.2'));
    clock.advance(500);
    await zd.load();
    expect(zd.fileStatus()[0]).toMatchObject({ file: bad, everLoaded: true, errors: [] });
    write('bad.test.zone', zone('bad.test', 'not-an-address'));
    clock.advance(500);
    await zd.load();
    expect(failedLoads).toEqual([bad, bad]);
    expect(zd.fileStatus()[0]).toMatchObject({ file: bad, everLoaded: true, errors: [expect.objectContaining({ file: bad })] });
  });

  it('removes the zone of a deleted file, and adds the zone of a new one', async () => {
    write('example.test.zone', zone('example.test', '192.0.2.10'));
    write('other.test.zone', zone('other.test', '192.0.2.20'));
    const { zd, clock, changes } = setup();
    await zd.start();
    fs.unlinkSync(path.join(dir, 'other.test.zone'));
    clock.advance(500);
    await vi.waitFor(() => expect(changes).toHaveLength(2), { timeout: 5000 });
    expect([...zd.zones.keys()]).toEqual(['example.test']);
    write('new.test.zone', zone('new.test', '192.0.2.30'));
    clock.advance(500);
    await vi.waitFor(() => expect(changes).toHaveLength(3), { timeout: 5000 });
    expect([...zd.zones.keys()].sort()).toEqual(['example.test', 'new.test']);
  });

  it('lets the file sorting first own a duplicated origin and reports the other', async () => {
    write('b.zone', zone('dup.test', '192.0.2.2'));
    write('a.zone', zone('dup.test', '192.0.2.1'));
    const { zd, clock, changes, log } = setup();
    const report = await zd.start();
    expect(address(zd.zones, 'www.dup.test')).toBe('192.0.2.1');
    const message = `zone dup.test is already defined by ${path.join(dir, 'a.zone')}; this file is ignored`;
    expect(report.failed).toEqual([{ file: path.join(dir, 'b.zone'), line: 0, message }]);
    expect(report.loaded.map((l) => l.file)).toEqual([path.join(dir, 'a.zone')]);
    expect(log.errors().map((l) => l.msg)).toEqual([message]);
    // The winner goes away: the other file takes over.
    fs.unlinkSync(path.join(dir, 'a.zone'));
    clock.advance(500);
    await vi.waitFor(() => expect(changes).toHaveLength(2), { timeout: 5000 });
    expect(address(zd.zones, 'www.dup.test')).toBe('192.0.2.2');
    expect((await zd.load()).failed).toEqual([]);
  });

  it('does not call onChange when nothing changed (touch, same content rewritten)', async () => {
    write('example.test.zone', zone('example.test', '192.0.2.10'));
    const { zd, clock, changes, log } = setup();
    await zd.start();
    const file = path.join(dir, 'example.test.zone');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    fs.writeFileSync(`${file}.tmp`, fs.readFileSync(file));
    fs.renameSync(`${file}.tmp`, file); // new inode, same bytes
    clock.advance(500);
    await zd.load(); // queued behind the poll's scan: when it resolves, the poll is done
    expect(changes).toHaveLength(1);
    expect(log.lines.filter((l) => l.msg === 'zone file loaded')).toHaveLength(1);
  });

  it('follows a Kubernetes ConfigMap volume: symlinks into ..data, swapped atomically', async () => {
    const version = (n: number, addr: string) => {
      const d = path.join(dir, `..v${n}`);
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'example.test.zone'), zone('example.test', addr));
      return `..v${n}`;
    };
    fs.symlinkSync(version(1, '192.0.2.1'), path.join(dir, '..data'));
    fs.symlinkSync('..data/example.test.zone', path.join(dir, 'example.test.zone'));
    const { zd, clock, changes } = setup();
    const report = await zd.start();
    expect(report.loaded.map((l) => l.origin)).toEqual(['example.test']);
    expect(address(zd.zones, 'www.example.test')).toBe('192.0.2.1');
    // Kubelet's swap: a new directory, a temporary link to it, renamed over ..data.
    fs.symlinkSync(version(2, '192.0.2.2'), path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    clock.advance(500);
    await vi.waitFor(() => expect(changes).toHaveLength(2), { timeout: 5000 });
    expect(address(zd.zones, 'www.example.test')).toBe('192.0.2.2');
  });

  it('notices changes through fs.watch without waiting for the poll', async () => {
    write('example.test.zone', zone('example.test', '192.0.2.10'));
    let resolveChange: (zones: ReadonlyMap<Name, ZoneView>) => void = () => {};
    const changed = new Promise<ReadonlyMap<Name, ZoneView>>((resolve) => (resolveChange = resolve));
    const log = capturingLogger();
    let calls = 0;
    zd = new ZoneDirectory({
      dir,
      logger: log.logger,
      pollIntervalMs: 3_600_000, // the real clock, and a poll that will not come
      onChange: (zones) => {
        if (++calls === 2) resolveChange(zones);
      },
    });
    await zd.start();
    write('other.test.zone', zone('other.test', '192.0.2.20'));
    const zones = await Promise.race([changed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no change seen within 5 s')), 5000))]);
    expect([...zones.keys()].sort()).toEqual(['example.test', 'other.test']);
  });

  it('rejects start() when the directory does not exist, naming it', async () => {
    const missing = path.join(dir, 'nope');
    zd = new ZoneDirectory({ dir: missing, logger: capturingLogger().logger, clock: new ManualClock(), onChange: () => {} });
    const error = await zd.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZoneDirectoryError);
    expect(error).toMatchObject({ code: 'ETCDNS_ERR_ZONE_DIRECTORY', message: `zone directory "${missing}" does not exist` });
  });

  it('refuses a second start()', async () => {
    const { zd } = setup();
    await zd.start();
    const error = await zd.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZoneDirectoryStartedError);
    expect(error).toMatchObject({ code: 'ETCDNS_ERR_ZONE_DIRECTORY_STARTED', message: `zone directory "${dir}" is already started` });
  });

  it('keeps its zones when the directory vanishes later, and logs it once', async () => {
    write('example.test.zone', zone('example.test', '192.0.2.10'));
    const { zd, clock, changes, log } = setup();
    await zd.start();
    fs.rmSync(dir, { recursive: true });
    clock.advance(500);
    await zd.load();
    clock.advance(500);
    await zd.load();
    expect(changes).toHaveLength(1);
    expect([...zd.zones.keys()]).toEqual(['example.test']);
    expect(log.errors().map((l) => l.msg)).toEqual([`zone directory "${dir}" does not exist; keeping the zones already loaded`]);
  });

  it('stops: timers cleared, no more onChange', async () => {
    write('example.test.zone', zone('example.test', '192.0.2.10'));
    const { zd, clock, changes } = setup();
    await zd.start();
    expect(clock.pending).toBeGreaterThan(0);
    zd.stop();
    expect(clock.pending).toBe(0);
    write('example.test.zone', zone('example.test', '192.0.2.99'));
    clock.advance(5000);
    expect(clock.pending).toBe(0);
    expect(changes).toHaveLength(1);
  });
});

describe('ZoneDirectory with $INCLUDE', () => {
  const include = (name: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    write(name, text);
  };

  it('reloads a zone when a file it includes changes, appears or goes; included files are not zones of their own', async () => {
    write('example.test.zone', zone('example.test', '192.0.2.10', '$INCLUDE inc/hosts\n$INCLUDE inc/later\n'));
    include('inc/hosts', 'mail A 192.0.2.25\n');
    const { zd, clock, changes, log } = setup();
    const report = await zd.start();
    expect(report.failed).toEqual([{ file: path.join(dir, 'example.test.zone'), line: 8, message: '$INCLUDE "inc/later": no such file' }]);
    expect(zd.zones.size).toBe(0);

    include('inc/later', 'later A 192.0.2.26\n');
    clock.advance(500);
    await vi.waitFor(() => expect(changes).toHaveLength(2), { timeout: 5000 });
    expect(address(zd.zones, 'mail.example.test')).toBe('192.0.2.25');
    expect(address(zd.zones, 'later.example.test')).toBe('192.0.2.26');
    expect((await zd.load()).loaded.map((l) => l.file)).toEqual([path.join(dir, 'example.test.zone')]);

    include('inc/hosts', 'mail A 192.0.2.99\n');
    clock.advance(500);
    await vi.waitFor(() => expect(changes).toHaveLength(3), { timeout: 5000 });
    expect(address(zd.zones, 'mail.example.test')).toBe('192.0.2.99');

    // A touch, or the same bytes under a new inode, is not a change.
    const hosts = path.join(dir, 'inc/hosts');
    fs.writeFileSync(`${hosts}.tmp`, 'mail A 192.0.2.99\n');
    fs.renameSync(`${hosts}.tmp`, hosts);
    clock.advance(500);
    await zd.load();
    expect(changes).toHaveLength(3);

    // Broken: the last good version keeps serving; the error names the included file.
    include('inc/hosts', 'mail A 192.0.2.300\n');
    clock.advance(500);
    await vi.waitFor(() => expect(log.errors().some((l) => l.msg === 'bad IPv4 address "192.0.2.300"')).toBe(true), { timeout: 5000 });
    expect(log.errors().find((l) => l.msg === 'bad IPv4 address "192.0.2.300"')).toMatchObject({ file: path.join(dir, 'inc/hosts'), line: 1 });
    expect(address(zd.zones, 'mail.example.test')).toBe('192.0.2.99');

    fs.rmSync(hosts);
    clock.advance(500);
    await vi.waitFor(async () => expect((await zd.load()).failed.map((f) => f.message)).toEqual(['$INCLUDE "inc/hosts": no such file']), { timeout: 5000 });
    expect(changes).toHaveLength(3);
  });

  it('refuses to include a top-level file, which is a zone of its own', async () => {
    write('example.test.zone', zone('example.test', '192.0.2.10', '$INCLUDE common\n'));
    write('common', 'x A 192.0.2.1\n');
    const { zd } = setup();
    const report = await zd.start();
    expect(report.failed).toContainEqual({
      file: path.join(dir, 'example.test.zone'),
      line: 7,
      message: '$INCLUDE "common": a file at the top of the zones directory is a zone of its own; put included files in a subdirectory',
    });
  });
});

describe('checkZoneFile', () => {
  it('checks the example zone', async () => {
    const file = new URL('../../../zones/example.test.zone', import.meta.url).pathname;
    const result = await checkZoneFile(file);
    expect(result).toEqual({ ok: true, origin: 'example.test', records: 22, errors: [], warnings: [] });
  });

  it('reports errors with lines, and an unreadable file on line 0', async () => {
    const file = path.join(dir, 'broken.zone');
    fs.writeFileSync(file, zone('broken.test', '10.0.0.256'));
    expect(await checkZoneFile(file)).toEqual({ ok: false, errors: [{ file, line: 6, message: 'bad IPv4 address "10.0.0.256"' }], warnings: [] });
    const missing = await checkZoneFile(path.join(dir, 'missing.zone'));
    expect(missing.ok).toBe(false);
    expect(missing.errors[0]).toMatchObject({ line: 0, message: expect.stringMatching(/^cannot read the file: ENOENT/) });
  });

  it('reads the files it includes, relative to it', async () => {
    const file = path.join(dir, 'example.test.zone');
    fs.writeFileSync(file, zone('example.test', '192.0.2.1', '$INCLUDE inc/bad\n'));
    fs.mkdirSync(path.join(dir, 'inc'));
    fs.writeFileSync(path.join(dir, 'inc/bad'), 'x A 1.2.3\n');
    expect(await checkZoneFile(file)).toEqual({ ok: false, errors: [{ file: path.join(dir, 'inc/bad'), line: 1, message: 'bad IPv4 address "1.2.3"' }], warnings: [] });
  });

  it('takes the origin from the argument when given', async () => {
    const file = path.join(dir, 'whatever.txt');
    fs.writeFileSync(file, zone('example.test', '192.0.2.1').replace(/^\$ORIGIN.*\n/, ''));
    expect(await checkZoneFile(file, 'given.test')).toMatchObject({ ok: true, origin: 'given.test' });
  });
});

describe('originFromFileName', () => {
  it.each([
    ['zones/example.test.zone', 'example.test'],
    ['/etc/zones/db.example.test', 'example.test'],
    ['example.test', 'example.test'],
    ['Example.TEST.db', 'example.test'],
    ['example.test.', 'example.test'],
    ['foo.txt', 'foo.txt'],
    ['.zone', undefined],
    ['db.', undefined],
    ['a..b.zone', undefined],
    [`${'x'.repeat(64)}.zone`, undefined],
    ['has space.zone', undefined],
  ])('originFromFileName(%j) = %j', (path, origin) => {
    expect(originFromFileName(path)).toBe(origin);
  });
});
